package io.tether.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurationConverterTest {
    @Test
    void humanDurations_parse() {
        assertThat(DurationConverter.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(DurationConverter.parse("10s")).isEqualTo(Duration.ofSeconds(10));
        assertThat(DurationConverter.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(DurationConverter.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(DurationConverter.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(DurationConverter.parse("0")).isEqualTo(Duration.ZERO);
        assertThat(DurationConverter.parse("PT1.5S")).isEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void nonsense_isRejectedWithTheExpectedForm() {
        for (String bad : new String[] {"", "10", "s", "10x", "1s2", "-1s", "1.5s"}) {
            assertThatThrownBy(() -> DurationConverter.parse(bad))
                    .isInstanceOf(CommandLine.TypeConversionException.class)
                    .hasMessageContaining("expected e.g. 500ms");
        }
    }

    @Test
    void keepAliveFormat_isParsedBackToTheSameDuration() {
        for (String s : new String[] {"0", "500ms", "10s", "2m", "1s500ms", "1h2m3s"}) {
            assertThat(io.tether.transport.KeepAlive.format(DurationConverter.parse(s))).isEqualTo(s);
        }
    }
}
