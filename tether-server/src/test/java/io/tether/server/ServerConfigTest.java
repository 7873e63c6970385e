package io.tether.server;

import io.tether.transport.KeepAlive;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The builder's setters speak the words of the flags; the value types hold the defaults. */
class ServerConfigTest {

    @Test
    void defaults_comeFromTheValueTypes() {
        ServerConfig c = TetherServer.builder().config();
        assertThat(c.heartbeats()).isEqualTo(Heartbeat.DEFAULT);
        assertThat(c.keepAlive()).isEqualTo(KeepAlive.DEFAULT);
        assertThat(c.admission()).isEqualTo(Admission.DEFAULT);
        assertThat(c.flapping()).isEqualTo(Flapping.DEFAULT);
        assertThat(c.shutdown()).isEqualTo(Shutdown.DEFAULT);
        assertThat(c.limits()).isEqualTo(Limits.DEFAULT);
        assertThat(c.userTimeout()).as("idle + interval x count").isEqualTo(Duration.ofSeconds(120));
    }

    @Test
    void flatAccessors_delegateToTheValueTypes() {
        ServerConfig c = TetherServer.builder()
                .heartbeats(Heartbeat.DEFAULT.withInterval(Duration.ofSeconds(10)).withMultiplier(2).withQuiet(true))
                .keepAlive(KeepAlive.of(Duration.ofSeconds(5), Duration.ofSeconds(2), 4))
                .flapping(Flapping.DEFAULT.withMaxConnects(3).withWindow(Duration.ofSeconds(10)).withBan(Duration.ofMinutes(2)))
                .connectRate(5, 10)
                .config();
        assertThat(c.heartbeat()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.quiet()).isTrue();
        assertThat(c.timeoutMillis(c.grantHeartbeatMillis(0))).isEqualTo(20_000);
        assertThat(c.keepAliveIdle()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.keepAliveCount()).isEqualTo(4);
        assertThat(c.userTimeout()).isEqualTo(Duration.ofSeconds(13));
        assertThat(c.flapMaxConnects()).isEqualTo(3);
        assertThat(c.flapWindow()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.flapBan()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.connectRate()).isEqualTo(5.0);
        assertThat(c.connectBurst()).isEqualTo(10);
    }

    @Test
    void keepAliveOff_leavesSoKeepaliveAndUserTimeoutOff() {
        ServerConfig c = TetherServer.builder().keepAlive(KeepAlive.OFF).config();
        assertThat(c.keepAliveEnabled()).isFalse();
        assertThat(c.userTimeout()).isEqualTo(Duration.ZERO);
    }

    @Test
    void keepAliveTheKernelRefuses_isRefusedByTheBuilder_evenIfBuiltWithoutTheValidator() {
        KeepAlive tenHours = new KeepAlive(Duration.ofHours(10), Duration.ofSeconds(20), 3);
        assertThatThrownBy(() -> TetherServer.builder().keepAlive(tenHours))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keepalive idle 10h: the kernel accepts 1s to 32767s (9h6m7s) for TCP_KEEPIDLE");
    }

    @Test
    void badMultiplier_isNamedAsTheFlag() {
        assertThatThrownBy(() -> TetherServer.builder().heartbeatMultiplier(0.5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("heartbeat-multiplier 0.5 (expected: 1.0 to 100)");
    }

    @Test
    void badDuration_isFormattedAsTyped_notIso() {
        assertThatThrownBy(() -> TetherServer.builder().handshakeTimeout(Duration.ZERO))
                .hasMessage("handshake-timeout 0 (expected: > 0, e.g. 10s)");
        assertThatThrownBy(() -> TetherServer.builder().drain(Duration.ofSeconds(-90)))
                .hasMessage("drain -1m30s (expected: >= 0)");
    }

    @Test
    void swappedHeartbeatRange_isRefusedNamingBothKeys() {
        assertThatThrownBy(() -> TetherServer.builder().heartbeatRange(Duration.ofMinutes(1), Duration.ofSeconds(10)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("min-heartbeat 1m and max-heartbeat 10s (expected: min-heartbeat <= max-heartbeat)");
    }

    @Test
    void otherLimits_nameTheirKey() {
        assertThatThrownBy(() -> TetherServer.builder().maxFrameLength(10)).hasMessageStartingWith("max-frame 10 (expected: ");
        assertThatThrownBy(() -> TetherServer.builder().writeBufferLimit(10))
                .hasMessage("write-buffer-limit 10 (expected: >= 1024)");
        assertThatThrownBy(() -> TetherServer.builder().connectRate(-1, 5))
                .hasMessage("connect-rate -1.0,5 (expected: PER_SEC >= 0 and BURST >= 1, e.g. 50,100)");
        assertThatThrownBy(() -> Flapping.DEFAULT.withBan(Duration.ZERO))
                .hasMessage("flapping BAN 0 (expected: > 0, e.g. 10s)");
    }

    @Test
    void flappingToString_isTheFormOfTheFlag() {
        assertThat(Flapping.DEFAULT).hasToString("15,1m,5m");
        assertThat(Flapping.OFF).hasToString("off");
    }
}
