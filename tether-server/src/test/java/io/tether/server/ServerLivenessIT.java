package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Deadlines on real sockets. */
class ServerLivenessIT {
    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    @Test
    void silentDevice_closedWithHeartbeatTimeout_withinTimeoutPlusDrainPlus250ms() throws Exception {
        fixture.start(b -> b.heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1)).drain(Duration.ofMillis(500)));
        try (RawDevice device = new RawDevice(fixture.port())) {
            long helloSent = System.nanoTime();
            Frame.Welcome w = device.hello("silent-1", 400);
            assertThat(w.timeoutMillis()).isEqualTo(600);
            // The device now says nothing and never closes: the server must end it alone.
            await().atMost(5, TimeUnit.SECONDS).until(() -> !fixture.closes.isEmpty());
            ServerFixture.Timed<SessionClosed> close = fixture.closes.get(0);
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(close.nanos() - helloSent);
            assertThat(close.event().reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);
            System.out.printf("silent device: closed %d ms after HELLO (timeout 600 + drain 500 + 250 = 1350 allowed), lateMs %.2f%n",
                    elapsedMillis, close.event().lateMillis());
            assertThat(elapsedMillis).isGreaterThanOrEqualTo(600).isLessThanOrEqualTo(600 + 500 + 250);
            // What the device saw: BYE, then the end of the stream.
            Frame bye = device.read();
            assertThat(bye).isInstanceOf(Frame.Bye.class);
            assertThat(((Frame.Bye) bye).reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);
            assertThat(device.awaitEnd()).isTrue();
            assertThat(fixture.server.registry().size()).isZero();
        }
    }

    @Test
    void connectAndSayNothing_closedWithHandshakeTimeout() throws Exception {
        fixture.start(b -> b.handshakeTimeout(Duration.ofMillis(300)).drain(Duration.ofMillis(200)));
        try (RawDevice device = new RawDevice(fixture.port())) {
            Frame bye = device.read();
            assertThat(bye).isEqualTo(new Frame.Bye(Reason.HANDSHAKE_TIMEOUT, 0, "no HELLO within 300 ms"));
            assertThat(device.awaitEnd()).isTrue();
        }
        await().atMost(2, TimeUnit.SECONDS).until(() -> fixture.closes.size() == 1);
        assertThat(fixture.closes.get(0).event().reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
        assertThat(fixture.closes.get(0).event().durationMillis()).isBetween(300L, 300L + 200 + 250);
    }

    @Test
    void heartbeatingDevice_isNotClosed() throws Exception {
        fixture.start(b -> b.heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1)));
        try (RawDevice device = new RawDevice(fixture.port())) {
            device.hello("alive-1", 200);
            for (int i = 0; i < 10; i++) {
                Thread.sleep(200);
                device.send(Frame.Ping.INSTANCE);
                assertThat(device.read()).isEqualTo(Frame.Pong.INSTANCE);
            }
            assertThat(fixture.closes).isEmpty();
            assertThat(fixture.server.registry().lookup("alive-1")).isNotNull();
        }
    }

    @Test
    void peerFin_closedAtOnceWithPeerClosed() throws Exception {
        fixture.start(b -> b);
        try (RawDevice device = new RawDevice(fixture.port())) {
            device.hello("fin-1", 0);
            device.close();
        }
        await().atMost(2, TimeUnit.SECONDS).until(() -> fixture.closes.size() == 1);
        assertThat(fixture.closes.get(0).event().reason()).isEqualTo(Reason.PEER_CLOSED);
        assertThat(fixture.closes.get(0).event().errnoName()).isNull();
    }

    @Test
    void peerRst_closedWithPeerResetAndErrno() throws Exception {
        fixture.start(b -> b);
        RawDevice device = new RawDevice(fixture.port());
        device.hello("rst-1", 0);
        device.reset();
        await().atMost(2, TimeUnit.SECONDS).until(() -> fixture.closes.size() == 1);
        SessionClosed c = fixture.closes.get(0).event();
        assertThat(c.reason()).isEqualTo(Reason.PEER_RESET);
        assertThat(c.errnoName()).isEqualTo("ECONNRESET");
        assertThat(c.errnoNumber()).isEqualTo(104);
    }
}
