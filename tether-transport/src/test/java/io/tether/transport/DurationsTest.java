package io.tether.transport;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurationsTest {
    @Test
    void humanDurations_parse() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(Durations.parse("1d")).isEqualTo(Duration.ofDays(1));
        assertThat(Durations.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse(" 1M30S ")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("0")).isEqualTo(Duration.ZERO);
        assertThat(Durations.parse("PT1.5S")).isEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void nonsenseNegativeAndOverflow_areRejectedWithTheExpectedForm() {
        for (String bad : new String[] {"", "10", "s", "10x", "1s2", "-1s", "1.5s", "PT-1S", "P",
                "99999999999999999999s", "9223372036854775807d"}) {
            assertThatThrownBy(() -> Durations.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("'" + bad + "' is not a duration (expected e.g. 500ms, 10s, 2m, 1h, 1m30s or 0)");
        }
    }

    @Test
    void keepAliveFormat_isParsedBackToTheSameDuration() {
        for (String s : new String[] {"0", "500ms", "10s", "2m", "1s500ms", "1h2m3s"}) {
            assertThat(KeepAlive.format(Durations.parse(s))).isEqualTo(s);
        }
    }
}
