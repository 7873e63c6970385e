package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The server does what docs/PROTOCOL.md says, on real sockets: one test per statement that a
 * device relies on.
 */
class ProtocolConformanceIT {
    /**
     * How long the lwIP-like device leaves the server's bytes unread after connecting: long
     * enough for a server that closes at once (with the device's HELLO unread, so the kernel
     * sends RST) to have done so. The device's own behaviour, not a wait for the server.
     */
    private static final long DEVICE_NOT_READING_MILLIS = 200;

    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static long readAck(RawDevice d) throws IOException {
        Frame f = d.read();
        assertThat(f).isInstanceOf(Frame.Ack.class);
        return ((Frame.Ack) f).seq();
    }

    /** Reads the BYE that a device which did not read for a while still finds, then a FIN (EOF), not a reset. */
    private static Frame.Bye byeThenFin(RawDevice d) throws Exception {
        Thread.sleep(DEVICE_NOT_READING_MILLIS);
        Frame f = d.read();
        assertThat(f).isInstanceOf(Frame.Bye.class);
        // A reset here (SocketException: Connection reset) is what lwIP would have turned into a
        // lost BYE: it drops unread data when the RST arrives.
        assertThat(d.read()).as("the BYE is followed by FIN (half-close), not RST").isNull();
        return (Frame.Bye) f;
    }

    // ---- (a) duplicate DATA, section 6.5 ---------------------------------------------------

    @Test
    void duplicateData_isAcknowledgedAgainEveryTime_withTheCumulativeAck() throws Exception {
        fixture.start(b -> b);
        try (RawDevice d = new RawDevice(fixture.port())) {
            d.hello("dup", 60_000);
            for (long seq = 1; seq <= 3; seq++) {
                d.send(new Frame.Data(seq, bytes("m" + seq)));
            }
            long acked = 0;
            while (acked < 3) {
                acked = Math.max(acked, readAck(d));
            }
            // Resends below the connection's last ACK: each one answered, with the cumulative ACK.
            for (long seq : new long[] {2, 2, 1, 3}) {
                d.send(new Frame.Data(seq, bytes("m" + seq)));
                assertThat(readAck(d)).isEqualTo(3);
            }
        }
        // On a new connection (the store, not the connection, knows these): the same.
        try (RawDevice d = new RawDevice(fixture.port())) {
            assertThat(d.hello("dup", 60_000).lastSeq()).isEqualTo(3);
            d.send(new Frame.Data(2, bytes("m2")));
            assertThat(readAck(d)).isEqualTo(2);
            d.send(new Frame.Data(2, bytes("m2")));
            assertThat(readAck(d)).isEqualTo(2);
        }
        assertThat(((io.tether.server.internal.delivery.InMemoryMessageStore) fixture.server.store()).messages("dup"))
                .extracting(StoredMessage::seq).containsExactly(1L, 2L, 3L);
    }

    // ---- (b) RESUMED, section 6.4 ----------------------------------------------------------

    @Test
    void resumedFlag_isSetOnlyWhenResumeSessionNamesTheLiveSessionThisHelloTakesOver() throws Exception {
        fixture.start(b -> b);
        try (RawDevice first = new RawDevice(fixture.port())) {
            Frame.Welcome w1 = first.hello("res", 60_000);
            assertThat(w1.resumed()).isFalse();
            try (RawDevice wrong = new RawDevice(fixture.port())) {
                wrong.send(new Frame.Hello(60_000, w1.sessionId() + 1, "res", new byte[0]));
                Frame.Welcome w = (Frame.Welcome) wrong.read();
                assertThat(w.resumed()).as("a resume_session that is not the live session's id").isFalse();
                try (RawDevice second = new RawDevice(fixture.port())) {
                    second.send(new Frame.Hello(60_000, w.sessionId(), "res", new byte[0]));
                    Frame.Welcome w2 = (Frame.Welcome) second.read();
                    assertThat(w2.resumed()).as("resume_session == the live session it takes over").isTrue();
                    second.send(new Frame.Bye(Reason.NORMAL, 0, ""));
                    await().atMost(5, TimeUnit.SECONDS).until(() -> fixture.server.registry().size() == 0);
                    // The session ended before this HELLO: nothing to take over, so not RESUMED,
                    // although resume_session is the device's previous session id.
                    try (RawDevice third = new RawDevice(fixture.port())) {
                        third.send(new Frame.Hello(60_000, w2.sessionId(), "res", new byte[0]));
                        Frame.Welcome w3 = (Frame.Welcome) third.read();
                        assertThat(w3.resumed()).isFalse();
                    }
                }
            }
        }
    }

    // ---- (c) statements of sections 6.2 and 6.3 --------------------------------------------

    @Test
    void quietMode_setsTheQuietFlag_andPingsAreNotAnswered() throws Exception {
        fixture.start(b -> b.quiet(true));
        try (RawDevice d = new RawDevice(fixture.port())) {
            assertThat(d.hello("q", 60_000).quiet()).isTrue();
            d.send(Frame.Ping.INSTANCE);
            d.send(new Frame.Data(1, bytes("x")));
            // The first frame back is the ACK: no PONG before it.
            assertThat(d.read()).isEqualTo(new Frame.Ack(1));
        }
    }

    @Test
    void heartbeatsOff_welcomeCarriesZeros_pingIsStillAnswered() throws Exception {
        fixture.start(b -> b.heartbeat(Duration.ZERO));
        try (RawDevice d = new RawDevice(fixture.port())) {
            Frame.Welcome w = d.hello("off", 30_000);
            assertThat(w.heartbeatMillis()).isZero();
            assertThat(w.timeoutMillis()).isZero();
            d.send(Frame.Ping.INSTANCE);
            assertThat(d.read()).isEqualTo(Frame.Pong.INSTANCE);
        }
    }

    @Test
    void timeoutMillis_isIntervalTimesMultiplier_roundedHalfUp() throws Exception {
        fixture.start(b -> b.heartbeatMultiplier(1.5).heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(30)));
        try (RawDevice d = new RawDevice(fixture.port())) {
            Frame.Welcome w = d.hello("r", 333);
            assertThat(w.heartbeatMillis()).isEqualTo(333);
            assertThat(w.timeoutMillis()).isEqualTo(500); // 499.5 rounds up
        }
    }

    @Test
    void everyServerBye_isFollowedByHalfClose_thenRstAfterTheDrain() throws Exception {
        fixture.start(b -> b.handshakeTimeout(Duration.ofMillis(200)).drain(Duration.ofMillis(500)));
        try (RawDevice d = new RawDevice(fixture.port())) {
            // No HELLO: BYE HANDSHAKE_TIMEOUT, then FIN; the device keeps its side open...
            assertThat(((Frame.Bye) d.read()).reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
            long finAt = System.nanoTime();
            assertThat(d.read()).as("FIN after the BYE").isNull();
            // ...and the server resets it when the drain ends. After a FIN a read returns EOF at
            // once, so the reset shows on a write: writes succeed while the server drains.
            await().atMost(5, TimeUnit.SECONDS).until(() -> {
                try {
                    d.sendRaw(new byte[] {0});
                    return false;
                } catch (IOException e) {
                    return true;
                }
            });
            long rstAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - finAt);
            assertThat(rstAfterMillis).as("RST only after the 500 ms drain (slack: 100 ms early for timer granularity)")
                    .isGreaterThanOrEqualTo(400);
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> !fixture.closesOf(Reason.HANDSHAKE_TIMEOUT).isEmpty());
    }

    @Test
    void defaultFlappingLimit_is15ConnectsPerMinute_the16thIsRefusedFor5Minutes() throws Exception {
        fixture.start(b -> b);
        for (int i = 1; i <= 15; i++) {
            try (RawDevice d = new RawDevice(fixture.port())) {
                d.hello("reboot-loop", 60_000);
            }
        }
        try (RawDevice d = new RawDevice(fixture.port())) {
            d.send(new Frame.Hello(60_000, 0, "reboot-loop", new byte[0]));
            Frame.Bye bye = (Frame.Bye) d.read();
            assertThat(bye.reason()).isEqualTo(Reason.FLAPPING);
            // The ban's time left: 5 min, less the (sub-second) time since it began.
            assertThat(bye.reconnectAfterMillis()).isBetween(295_000, 300_000);
        }
    }

    // ---- (d) AUTH_FAILED close event -------------------------------------------------------

    @Test
    void authFailed_closeEventCarriesTheClaimedDeviceAndTheCause() throws Exception {
        fixture.start(b -> b.authenticator((device, credential, now) ->
                device.equals("intruder") ? Authenticator.Verdict.BAD_MAC : Authenticator.Verdict.OK));
        try (RawDevice d = new RawDevice(fixture.port())) {
            d.send(new Frame.Hello(60_000, 0, "intruder", bytes("forged")));
            assertThat(((Frame.Bye) d.read()).reason()).isEqualTo(Reason.AUTH_FAILED);
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> !fixture.closesOf(Reason.AUTH_FAILED).isEmpty());
        assertThat(fixture.closesOf(Reason.AUTH_FAILED)).singleElement().satisfies(c -> {
            assertThat(c.claimedDevice()).isEqualTo("intruder");
            assertThat(c.authCause()).isEqualTo("BAD_MAC");
            assertThat(c.deviceId()).as("no session was opened").isNull();
            assertThat(c.sessionId()).isZero();
        });
    }

    // ---- (e) a BYE with a reconnect hint reaches a device that drops unread data on RST ------

    @Test
    void serverBusy_byeReachesADeviceThatReadsLate_FinBeforeRst() throws Exception {
        fixture.start(b -> b.maxConnections(1));
        try (RawDevice admitted = new RawDevice(fixture.port())) {
            admitted.hello("in", 60_000); // holds the one slot before the next device connects
            RawDevice late = new RawDevice(fixture.port());
            late.send(new Frame.Hello(60_000, 0, "out", new byte[0]));
            try (late) {
                Frame.Bye bye = byeThenFin(late);
                assertThat(bye.reason()).isEqualTo(Reason.SERVER_BUSY);
                assertThat(bye.reconnectAfterMillis()).isPositive();
            }
        }
    }

    @Test
    void flapping_byeReachesADeviceThatReadsLate_FinBeforeRst() throws Exception {
        fixture.start(b -> b.flapping(Flapping.DEFAULT.withMaxConnects(1).withWindow(Duration.ofMinutes(1)).withBan(Duration.ofMinutes(5))));
        try (RawDevice first = new RawDevice(fixture.port())) {
            first.hello("flappy", 60_000);
        }
        try (RawDevice again = new RawDevice(fixture.port())) {
            again.send(new Frame.Hello(60_000, 0, "flappy", new byte[0]));
            Frame.Bye bye = byeThenFin(again);
            assertThat(bye.reason()).isEqualTo(Reason.FLAPPING);
            assertThat(bye.reconnectAfterMillis()).isPositive();
        }
    }
}
