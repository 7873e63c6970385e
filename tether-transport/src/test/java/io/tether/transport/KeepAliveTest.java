package io.tether.transport;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeepAliveTest {

    @Test
    void tenHoursIdle_isRefused_namingTheKernelLimit() {
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofHours(10), Duration.ofSeconds(20), 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keepalive idle 10h: the kernel accepts 1s to 32767s (9h6m7s) for TCP_KEEPIDLE");
    }

    @Test
    void intervalAboveTheLimit_isRefused_namingItsOption() {
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofSeconds(60), Duration.ofSeconds(32_768), 3))
                .hasMessageContaining("keepalive interval 9h6m8s")
                .hasMessageContaining("32767s")
                .hasMessageContaining("TCP_KEEPINTVL");
    }

    @Test
    void theLimitItself_isAccepted() {
        KeepAlive k = KeepAlive.of(Duration.ofSeconds(32_767), Duration.ofSeconds(32_767), 127);

        assertThat(k.idleSeconds()).isEqualTo(32_767);
        assertThat(k.intervalSeconds()).isEqualTo(32_767);
        assertThat(k.count()).isEqualTo(127);
    }

    @Test
    void fractionalSeconds_areRefused_becauseTheKernelCountsWholeSeconds() {
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofMillis(1500), Duration.ofSeconds(20), 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keepalive idle 1s500ms: TCP_KEEPIDLE counts whole seconds (expected e.g. 1s)");
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofMillis(500), Duration.ofSeconds(20), 3))
                .hasMessageContaining("the kernel accepts 1s to 32767s");
    }

    @Test
    void count128_isRefused_namingTheKernelLimit() {
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofSeconds(60), Duration.ofSeconds(20), 128))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keepalive count 128: the kernel accepts 1 to 127 for TCP_KEEPCNT");
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofSeconds(60), Duration.ofSeconds(20), 0))
                .hasMessage("keepalive count 0: the kernel accepts 1 to 127 for TCP_KEEPCNT");
    }

    @Test
    void detectionBound_isIdlePlusIntervalTimesCount_andZeroWhenOff() {
        assertThat(KeepAlive.DEFAULT.detectionBound()).isEqualTo(Duration.ofSeconds(120));
        assertThat(KeepAlive.OFF.enabled()).isFalse();
        assertThat(KeepAlive.OFF.detectionBound()).isZero();
    }

    @Test
    void toString_isTheFlagsForm() {
        assertThat(KeepAlive.of(Duration.ofSeconds(90), Duration.ofSeconds(20), 3)).hasToString("1m30s,20s,3");
        assertThat(KeepAlive.OFF).hasToString("off");
    }
}
