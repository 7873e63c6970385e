package io.tether.server;

import io.tether.transport.KeepAlive;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The gateway refuses a keepalive the kernel would refuse, with the message of the one validator
 * that the device SDK uses too (issue 10: {@code --keepalive 10h,20s,3} used to make Netty warn on
 * every accepted socket and run without keepalive).
 */
class KeepAliveLimitTest {

    @Test
    void tenHoursIdle_isRefusedAtStart_withTheSdksMessage() {
        String expected = "keepalive idle 10h: the kernel accepts 1s to 32767s (9h6m7s) for TCP_KEEPIDLE";
        assertThatThrownBy(() -> KeepAlive.of(Duration.ofHours(10), Duration.ofSeconds(20), 3)).hasMessage(expected);

        assertThatThrownBy(() -> {
            // Refused by the builder or at start(), before any socket is accepted; never later.
            TetherServer server = TetherServer.builder()
                    .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                    .keepAlive(new KeepAlive(Duration.ofHours(10), Duration.ofSeconds(20), 3))
                    .build();
            try {
                server.start();
            } finally {
                server.close();
            }
        }).isInstanceOf(IllegalArgumentException.class).hasMessage(expected);
    }
}
