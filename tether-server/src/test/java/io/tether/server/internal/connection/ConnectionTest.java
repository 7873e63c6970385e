package io.tether.server.internal.connection;

import io.tether.server.internal.core.ServerContext;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.Protocol;
import io.tether.protocol.Reason;
import io.tether.server.Authenticator;
import io.tether.server.Session;
import io.tether.server.SessionClosed;
import io.tether.server.SessionRegistry;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.tether.server.TetherServer;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import io.tether.server.StoredMessage;
import io.tether.server.internal.session.LocalSessionRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Handshake, heartbeat, drain and takeover logic on EmbeddedChannel with a frozen clock: every
 * deadline is reached by advancing the mock ticker, never by sleeping.
 */
class ConnectionTest {
    private final MockTicker ticker = Ticker.newMockTicker();
    private final LocalSessionRegistry registry = new LocalSessionRegistry(100);
    private final InMemoryMessageStore store = new InMemoryMessageStore();
    private final List<SessionOpened> opens = new ArrayList<>();
    private final List<SessionClosed> closes = new ArrayList<>();
    private final List<Long> gaps = new ArrayList<>();
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private ServerContext context = context(TetherServer.builder()
            .handshakeTimeout(Duration.ofSeconds(10))
            .heartbeat(Duration.ofSeconds(30))
            .heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(30))
            .drain(Duration.ofSeconds(2)));

    private ServerContext context(TetherServer.Builder b) {
        return new ServerContext(b.config(), registry, store, Clock.systemUTC(), List.of(new SessionListener() {
            @Override
            public void onOpen(SessionOpened event) {
                opens.add(event);
            }

            @Override
            public void onClose(SessionClosed event) {
                closes.add(event);
            }

            @Override
            public void onSequenceGap(String deviceId, long sessionId, long receivedSeq) {
                gaps.add(receivedSeq);
            }
        }), new SimpleMeterRegistry());
    }

    private EmbeddedChannel connect() {
        EmbeddedChannel ch = EmbeddedChannel.builder()
                .ticker(ticker)
                .handlers(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH), new Connection(context))
                .build();
        channels.add(ch);
        return ch;
    }

    @AfterEach
    void releaseAll() {
        for (EmbeddedChannel ch : channels) {
            ch.finishAndReleaseAll();
        }
    }

    private void advance(long millis) {
        ticker.advance(millis, TimeUnit.MILLISECONDS);
        for (EmbeddedChannel ch : channels) {
            ch.runPendingTasks();
            ch.runScheduledPendingTasks();
        }
    }

    private static void send(EmbeddedChannel ch, Frame f) {
        ByteBuf buf = Unpooled.buffer();
        FrameCodec.encode(f, buf);
        ch.writeInbound(buf);
        ch.runPendingTasks();
    }

    private static Frame received(EmbeddedChannel ch) {
        ByteBuf buf = ch.readOutbound();
        if (buf == null) {
            return null;
        }
        try {
            return FrameCodec.decode(buf);
        } finally {
            buf.release();
        }
    }

    private static Frame.Welcome hello(EmbeddedChannel ch, String device, int heartbeatMillis) {
        send(ch, new Frame.Hello(heartbeatMillis, 0, device, new byte[0]));
        Frame f = received(ch);
        assertThat(f).isInstanceOf(Frame.Welcome.class);
        return (Frame.Welcome) f;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void noHello_closedWithHandshakeTimeoutAtTheDeadline() {
        EmbeddedChannel ch = connect();
        advance(9_999);
        assertThat(received(ch)).isNull();
        assertThat(ch.isOpen()).isTrue();

        advance(1);
        assertThat(received(ch)).isEqualTo(new Frame.Bye(Reason.HANDSHAKE_TIMEOUT, 0, "no HELLO within 10000 ms"));
        // Graceful: still open for the drain, then closed.
        assertThat(ch.isOpen()).isTrue();
        advance(2_000);
        assertThat(ch.isOpen()).isFalse();
        assertThat(closes).singleElement().satisfies(c -> {
            assertThat(c.reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
            assertThat(c.deviceId()).isNull();
            assertThat(c.lateMillis()).isZero();
        });
    }

    @Test
    void helloDribbledByteByByte_doesNotExtendTheHandshakeDeadline() {
        EmbeddedChannel ch = connect();
        ByteBuf hello = Unpooled.buffer();
        FrameCodec.encode(new Frame.Hello(0, 0, "slowloris", new byte[0]), hello);
        int sent = 0;
        // One byte every 500 ms: 20 bytes arrive before the 10 s deadline, the frame is longer.
        while (hello.isReadable() && ch.isOpen() && sent < 100) {
            ch.writeInbound(hello.readRetainedSlice(1));
            sent++;
            advance(500);
        }
        hello.release();
        assertThat(closes).singleElement().extracting(SessionClosed::reason).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
        assertThat(opens).isEmpty();
    }

    @Test
    void firstFrameNotHello_closedWithProtocolError() {
        EmbeddedChannel ch = connect();
        send(ch, Frame.Ping.INSTANCE);
        Frame bye = received(ch);
        assertThat(bye).isInstanceOf(Frame.Bye.class);
        assertThat(((Frame.Bye) bye).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
        advance(2_000);
        assertThat(ch.isOpen()).isFalse();
        assertThat(closes).singleElement().extracting(SessionClosed::reason).isEqualTo(Reason.PROTOCOL_ERROR);
        assertThat(registry.size()).isZero();
    }

    @Test
    void oversizedLengthPrefix_closedWithFrameTooLargeBeforeTheBodyArrives() {
        EmbeddedChannel ch = connect();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF}));
        ch.runPendingTasks();
        assertThat(((Frame.Bye) received(ch)).reason()).isEqualTo(Reason.FRAME_TOO_LARGE);
        advance(2_000);
        assertThat(closes).singleElement().extracting(SessionClosed::reason).isEqualTo(Reason.FRAME_TOO_LARGE);
    }

    @Test
    void hello_grantsRequestedHeartbeatAndOpensSession() {
        EmbeddedChannel ch = connect();
        Frame.Welcome w = hello(ch, "d1", 1_000);
        assertThat(w.heartbeatMillis()).isEqualTo(1_000);
        assertThat(w.timeoutMillis()).isEqualTo(1_500);
        assertThat(w.lastSeq()).isZero();
        assertThat(w.sessionId()).isEqualTo(100);
        assertThat(registry.lookup("d1").epoch()).isEqualTo(100);
        assertThat(opens).singleElement().extracting(SessionOpened::deviceId).isEqualTo("d1");
    }

    @Test
    void requestedHeartbeat_isClampedToTheServerRange() {
        assertThat(hello(connect(), "low", 10).heartbeatMillis()).isEqualTo(100);
        assertThat(hello(connect(), "high", Integer.MAX_VALUE).heartbeatMillis()).isEqualTo(1_800_000);
        assertThat(hello(connect(), "default", 0).heartbeatMillis()).isEqualTo(30_000);
    }

    @Test
    void anyFrame_pushesTheHeartbeatDeadline_silenceClosesAtExactlyTheTimeout() {
        EmbeddedChannel ch = connect();
        hello(ch, "d1", 1_000);
        for (int i = 0; i < 5; i++) {
            advance(1_499);
            send(ch, Frame.Ping.INSTANCE);
            assertThat(received(ch)).isEqualTo(Frame.Pong.INSTANCE);
        }
        advance(1_000);
        send(ch, new Frame.Data(1, bytes("x")));
        assertThat(received(ch)).isEqualTo(new Frame.Ack(1));
        advance(1_499);
        assertThat(ch.isOpen()).isTrue();
        assertThat(received(ch)).isNull();

        advance(1);
        assertThat(((Frame.Bye) received(ch)).reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);
        advance(2_000);
        assertThat(ch.isOpen()).isFalse();
        assertThat(closes).singleElement().satisfies(c -> {
            assertThat(c.reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);
            assertThat(c.lateMillis()).isZero();
            assertThat(c.deviceId()).isEqualTo("d1");
        });
        assertThat(registry.lookup("d1")).isNull();
    }

    @Test
    void dataArrivingDuringTheDrain_isStoredButNotAcked_thenTheConnectionIsAborted() {
        EmbeddedChannel ch = connect();
        hello(ch, "d1", 1_000);
        advance(1_500);
        assertThat(((Frame.Bye) received(ch)).reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);

        advance(500);
        send(ch, new Frame.Data(1, bytes("late but important")));
        send(ch, Frame.Ping.INSTANCE);
        assertThat(received(ch)).as("nothing is answered while draining").isNull();
        assertThat(store.messages("d1")).extracting(StoredMessage::seq).containsExactly(1L);
        assertThat(ch.isOpen()).isTrue();

        advance(1_500);
        assertThat(ch.isOpen()).isFalse();
        assertThat(closes).singleElement().satisfies(c -> {
            assertThat(c.reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);
            assertThat(c.drainedFrames()).isEqualTo(1);
        });
    }

    @Test
    void quietServer_doesNotAnswerPing() {
        context = context(TetherServer.builder().quiet(true).heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1)));
        EmbeddedChannel ch = connect();
        Frame.Welcome w = hello(ch, "d1", 1_000);
        assertThat(w.quiet()).isTrue();
        send(ch, Frame.Ping.INSTANCE);
        assertThat(received(ch)).isNull();
        // The PING still counts as life.
        advance(1_000);
        send(ch, Frame.Ping.INSTANCE);
        advance(1_000);
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void heartbeatOff_noApplicationDeadline() {
        context = context(TetherServer.builder().heartbeat(Duration.ZERO));
        EmbeddedChannel ch = connect();
        Frame.Welcome w = hello(ch, "d1", 1_000);
        assertThat(w.heartbeatMillis()).isZero();
        assertThat(w.timeoutMillis()).isZero();
        advance(TimeUnit.HOURS.toMillis(3));
        assertThat(ch.isOpen()).isTrue();
        assertThat(closes).isEmpty();
    }

    @Test
    void duplicateData_isAckedAgainEveryTimeWithTheCumulativeAck_butStoredOnce() {
        EmbeddedChannel ch = connect();
        hello(ch, "d1", 1_000);
        send(ch, new Frame.Data(1, bytes("a")));
        send(ch, new Frame.Data(2, bytes("b")));
        send(ch, new Frame.Data(2, bytes("b")));
        send(ch, new Frame.Data(1, bytes("a")));
        List<Frame> out = new ArrayList<>();
        for (Frame f; (f = received(ch)) != null; ) {
            out.add(f);
        }
        // docs/PROTOCOL.md 6.5: each resend below the last ACK is answered with the cumulative ACK.
        assertThat(out).containsExactly(new Frame.Ack(1), new Frame.Ack(2), new Frame.Ack(2), new Frame.Ack(2));
        assertThat(store.messages("d1")).extracting(StoredMessage::seq).containsExactly(1L, 2L);
    }

    @Test
    void sequenceGap_isStoredAndReported() {
        EmbeddedChannel ch = connect();
        hello(ch, "d1", 1_000);
        send(ch, new Frame.Data(1, bytes("a")));
        send(ch, new Frame.Data(5, bytes("e")));
        assertThat(received(ch)).isEqualTo(new Frame.Ack(1));
        assertThat(received(ch)).isEqualTo(new Frame.Ack(5));
        assertThat(store.messages("d1")).extracting(StoredMessage::seq).containsExactly(1L, 5L);
        assertThat(gaps).containsExactly(5L);
    }

    @Test
    void deviceBye_closesWithNormal() {
        EmbeddedChannel ch = connect();
        hello(ch, "d1", 1_000);
        send(ch, new Frame.Bye(Reason.NORMAL));
        assertThat(ch.isOpen()).isFalse();
        assertThat(closes).singleElement().extracting(SessionClosed::reason).isEqualTo(Reason.NORMAL);
        assertThat(registry.size()).isZero();
    }

    @Test
    void helloAfterHandshake_isAProtocolError() {
        EmbeddedChannel ch = connect();
        hello(ch, "d1", 1_000);
        send(ch, new Frame.Hello(0, 0, "d2", new byte[0]));
        assertThat(((Frame.Bye) received(ch)).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    @Test
    void takeover_kicksTheOldConnectionAndCarriesTheDeviceState() {
        EmbeddedChannel old = connect();
        Frame.Welcome first = hello(old, "d1", 1_000);
        send(old, new Frame.Data(1, bytes("a")));
        send(old, new Frame.Data(2, bytes("b")));
        assertThat(received(old)).isEqualTo(new Frame.Ack(1));
        assertThat(received(old)).isEqualTo(new Frame.Ack(2));

        EmbeddedChannel fresh = connect();
        send(fresh, new Frame.Hello(1_000, first.sessionId(), "d1", new byte[0]));
        Frame.Welcome second = (Frame.Welcome) received(fresh);
        old.runPendingTasks();

        assertThat(second.lastSeq()).isEqualTo(2);
        assertThat(second.resumed()).isTrue();
        assertThat(second.sessionId()).isGreaterThan(first.sessionId());
        assertThat(((Frame.Bye) received(old)).reason()).isEqualTo(Reason.TAKEN_OVER);
        assertThat(old.isOpen()).as("takeover closes at once, no drain").isFalse();
        assertThat(fresh.isOpen()).isTrue();
        assertThat(registry.lookup("d1").epoch()).isEqualTo(second.sessionId());
        assertThat(closes).singleElement().satisfies(c -> {
            assertThat(c.reason()).isEqualTo(Reason.TAKEN_OVER);
            assertThat(c.sessionId()).isEqualTo(first.sessionId());
        });
        assertThat(opens).extracting(SessionOpened::tookOver).containsExactly(false, true);
    }

    @Test
    void lateCloseOfOldConnection_doesNotRemoveNewSession() {
        EmbeddedChannel old = connect();
        Frame.Welcome first = hello(old, "d1", 1_000);
        EmbeddedChannel fresh = connect();
        Frame.Welcome second = hello(fresh, "d1", 1_000);
        // The old connection's kick is still queued on its event loop; before it runs, the old
        // peer's FIN arrives and the old connection closes on its own: the late close.
        old.close();
        assertThat(old.isOpen()).isFalse();
        old.runPendingTasks();
        assertThat(closes).singleElement().extracting(SessionClosed::sessionId).isEqualTo(first.sessionId());
        assertThat(registry.lookup("d1")).isNotNull();
        assertThat(registry.lookup("d1").epoch()).isEqualTo(second.sessionId());
        assertThat(registry.release("d1", first.sessionId())).isFalse();
        assertThat(registry.size()).isEqualTo(1);

        // The new session still works: its heartbeat is answered and its deadline is its own.
        send(fresh, Frame.Ping.INSTANCE);
        assertThat(received(fresh)).isEqualTo(Frame.Pong.INSTANCE);
        advance(1_499);
        assertThat(fresh.isOpen()).isTrue();
    }

    @Test
    void messageResentAfterTakeover_isAckedButStoredOnce() {
        EmbeddedChannel old = connect();
        hello(old, "d1", 1_000);
        // Stored, but the device never saw the ACK: the radio dropped.
        send(old, new Frame.Data(1, bytes("a")));
        EmbeddedChannel fresh = connect();
        Frame.Welcome w = hello(fresh, "d1", 1_000);
        old.runPendingTasks();
        assertThat(w.lastSeq()).isEqualTo(1);
        send(fresh, new Frame.Data(1, bytes("a")));
        send(fresh, new Frame.Data(2, bytes("b")));
        assertThat(received(fresh)).isEqualTo(new Frame.Ack(1));
        assertThat(received(fresh)).isEqualTo(new Frame.Ack(2));
        assertThat(store.messages("d1")).extracting(StoredMessage::seq).containsExactly(1L, 2L);
    }

    // ---- asynchronous handshake ------------------------------------------------------------

    /** Claims complete only when the test says so, as a remote directory's would. */
    private final class DeferredRegistry implements SessionRegistry {
        final List<Runnable> pending = new ArrayList<>();

        @Override
        public CompletionStage<Claim> claim(String deviceId, Session session) {
            CompletableFuture<Claim> f = new CompletableFuture<>();
            pending.add(() -> registry.claim(deviceId, session).thenAccept(f::complete));
            return f;
        }

        void completeAll() {
            pending.forEach(Runnable::run);
            pending.clear();
        }

        @Override
        public boolean release(String deviceId, long epoch) {
            return registry.release(deviceId, epoch);
        }

        @Override
        public Session lookup(String deviceId) {
            return registry.lookup(deviceId);
        }

        @Override
        public int size() {
            return registry.size();
        }

        @Override
        public Iterable<Session> sessions() {
            return registry.sessions();
        }
    }

    private ServerContext contextWith(SessionRegistry r, Authenticator a) {
        return new ServerContext(TetherServer.builder().handshakeTimeout(Duration.ofSeconds(10))
                .heartbeat(Duration.ofSeconds(30)).drain(Duration.ofSeconds(2)).config(), r, store, a,
                Clock.systemUTC(), List.of(new SessionListener() {
                    @Override
                    public void onClose(SessionClosed event) {
                        closes.add(event);
                    }
                }), new SimpleMeterRegistry());
    }

    @Test
    void channelClosedWhileTheClaimIsInFlight_releasesTheClaim_noGhostStays() {
        DeferredRegistry deferred = new DeferredRegistry();
        context = contextWith(deferred, Authenticator.allowAll());
        EmbeddedChannel ch = connect();
        send(ch, new Frame.Hello(1_000, 0, "d1", new byte[0]));
        assertThat(received(ch)).isNull();
        assertThat(ch.config().isAutoRead()).as("not reading while the HELLO is answered").isFalse();

        ch.close(); // the device went away
        deferred.completeAll(); // ...and then the directory answers

        assertThat(registry.lookup("d1")).isNull();
        assertThat(registry.size()).isZero();
        assertThat(closes).singleElement().satisfies(c -> {
            assertThat(c.reason()).isEqualTo(Reason.PEER_CLOSED);
            assertThat(c.claimedDevice()).isEqualTo("d1");
        });
    }

    @Test
    void helloInFlight_theHandshakeDeadlineStillApplies_andALateVerdictClaimsNothing() {
        CompletableFuture<Authenticator.Verdict> verdict = new CompletableFuture<>();
        context = contextWith(registry, new Authenticator() {
            @Override
            public Verdict check(String deviceId, byte[] credential, long nowMillis) {
                throw new AssertionError("the blocking form must not be called");
            }

            @Override
            public CompletionStage<Verdict> authenticate(String deviceId, byte[] credential, long nowMillis) {
                return verdict;
            }
        });
        EmbeddedChannel ch = connect();
        send(ch, new Frame.Hello(1_000, 0, "d1", new byte[0]));
        advance(10_000);
        Frame.Bye bye = (Frame.Bye) received(ch);
        assertThat(bye.reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
        assertThat(ch.config().isAutoRead()).as("the drain reads").isTrue();

        verdict.complete(Authenticator.Verdict.OK);
        ch.runPendingTasks();
        assertThat(registry.size()).isZero();
        assertThat(received(ch)).as("no WELCOME after the BYE").isNull();
        advance(2_000);
        assertThat(ch.isOpen()).isFalse();
        assertThat(closes).singleElement().extracting(SessionClosed::reason).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
    }

    @Test
    void frameBeforeWelcome_isAProtocolError_andNothingIsClaimed() {
        DeferredRegistry deferred = new DeferredRegistry();
        context = contextWith(deferred, Authenticator.allowAll());
        EmbeddedChannel ch = connect();
        ByteBuf buf = Unpooled.buffer();
        FrameCodec.encode(new Frame.Hello(1_000, 0, "d1", new byte[0]), buf);
        FrameCodec.encode(new Frame.Data(1, bytes("too early")), buf);
        ch.writeInbound(buf);
        assertThat(((Frame.Bye) received(ch)).reason()).isEqualTo(Reason.PROTOCOL_ERROR);

        deferred.completeAll();
        assertThat(registry.size()).isZero();
        assertThat(store.messages("d1")).isEmpty();
    }
}
