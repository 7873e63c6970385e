package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Each device's last sessions: recorded from the session events, kept in the store, across restarts. */
class DeviceHistoryIT {
    @TempDir
    Path dir;

    private final List<SessionClosed> closes = new CopyOnWriteArrayList<>();
    private TetherServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private TetherServer start(MessageStore store, UnaryOperator<TetherServer.Builder> config) {
        closes.clear();
        server = config.apply(TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .store(store)
                .heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1))
                .drain(Duration.ofMillis(200))
                .shutdownTimeout(Duration.ofSeconds(2))
                .listener(new SessionListener() {
                    @Override
                    public void onClose(SessionClosed event) {
                        closes.add(event);
                    }
                })).build().start();
        return server;
    }

    interface StoreOpener {
        MessageStore open() throws java.io.IOException;
    }

    /** Closes the server (and its store), then starts another on a store opened after that. */
    private void restart(StoreOpener store, UnaryOperator<TetherServer.Builder> config) throws java.io.IOException {
        server.close();
        server = null;
        start(store.open(), config);
    }

    private void awaitCloses(int n) {
        await().atMost(5, TimeUnit.SECONDS).until(() -> closes.size() >= n);
    }

    /** Waits until the history writer has recorded {@code n} closed sessions of the device. */
    private List<SessionRecord> awaitClosedHistory(String device, int n) {
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.history(device).stream().filter(SessionRecord::closed).count() >= n);
        return server.history(device);
    }

    @Test
    void history_survivesARestart_withTheReasonOfEachSession() throws Exception {
        start(MessageStores.rocksDb(dir, true), b -> b);
        int byePort;
        int rstPort;
        try (RawDevice d = new RawDevice(server.port())) {
            d.hello("hist-1", 0);
            byePort = d.localPort();
            d.send(new Frame.Bye(Reason.NORMAL));
            assertThat(d.awaitEnd()).isTrue();
        }
        awaitCloses(1);
        RawDevice rst = new RawDevice(server.port());
        rst.hello("hist-1", 0);
        rstPort = rst.localPort();
        rst.reset();
        awaitCloses(2);
        try (RawDevice silent = new RawDevice(server.port())) {
            silent.hello("hist-1", 300);   // then nothing: closed after 450 ms
            awaitCloses(3);
        }
        RawDevice old = new RawDevice(server.port());
        old.hello("hist-1", 0);
        RawDevice rebooted = new RawDevice(server.port());
        Frame.Welcome w = rebooted.hello("hist-1", 0);   // the same device again: takes the session over
        awaitCloses(4);
        List<SessionRecord> before = awaitClosedHistory("hist-1", 4);
        assertThat(before).hasSize(5);
        assertThat(before.get(0).live()).as("the rebooted device's session is open").isTrue();
        assertThat(before.get(0).sessionId()).isEqualTo(w.sessionId());

        restart(() -> MessageStores.rocksDb(dir, true), b -> b);   // the open session ends with SERVER_SHUTDOWN
        old.close();
        rebooted.close();

        List<SessionRecord> h = server.history("hist-1");
        assertThat(h).extracting(SessionRecord::reason).containsExactly(Reason.SERVER_SHUTDOWN, Reason.TAKEN_OVER,
                Reason.HEARTBEAT_TIMEOUT, Reason.PEER_RESET, Reason.NORMAL);
        assertThat(h).extracting(SessionRecord::sessionId).isSortedAccordingTo((a, b) -> Long.compare(b, a));
        assertThat(h).allSatisfy(r -> {
            assertThat(r.closed()).isTrue();
            assertThat(r.live()).isFalse();
            assertThat(r.closedAtMillis()).isGreaterThanOrEqualTo(r.openedAtMillis());
            assertThat(r.remote()).startsWith("127.0.0.1:");
        });
        assertThat(h.get(0).tookOver()).as("the session that displaced another").isTrue();
        assertThat(h.get(2).heartbeatMillis()).isEqualTo(300);
        assertThat(h.get(2).timeoutMillis()).isEqualTo(450);
        assertThat(h.get(2).lateMillis()).as("lateness of the heartbeat timeout").isGreaterThanOrEqualTo(0);
        assertThat(h.get(3).errnoName()).isEqualTo("ECONNRESET");
        assertThat(h.get(3).remote()).isEqualTo("127.0.0.1:" + rstPort);
        assertThat(h.get(4).remote()).isEqualTo("127.0.0.1:" + byePort);
        assertThat(h.get(4).detail()).contains("BYE");
    }

    @Test
    void history_isTrimmedToTheLastN_onDisk() throws Exception {
        start(MessageStores.rocksDb(dir, true), b -> b.historySessions(3));
        for (int i = 0; i < 6; i++) {
            try (RawDevice d = new RawDevice(server.port())) {
                d.hello("trim-1", 0);
            }
            awaitCloses(i + 1);
        }
        List<Long> lastThree = closes.stream().skip(3).map(SessionClosed::sessionId).sorted((a, b) -> Long.compare(b, a)).toList();
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.history("trim-1").stream().filter(SessionRecord::closed)
                .map(SessionRecord::sessionId).toList().equals(lastThree));

        restart(() -> MessageStores.rocksDb(dir, true), b -> b.historySessions(3));
        assertThat(server.history("trim-1")).extracting(SessionRecord::sessionId).containsExactlyElementsOf(lastThree);
        // The directory itself holds no more than N: a read-only reader sees the same.
        server.close();
        server = null;
        try (StoreReader reader = StoreReader.openReadOnly(dir)) {
            assertThat(reader.history("trim-1")).extracting(SessionRecord::sessionId).containsExactlyElementsOf(lastThree);
            assertThat(reader.history("trim-1")).extracting(SessionRecord::reason).containsOnly(Reason.PEER_CLOSED);
        }
    }

    @Test
    void history_countsEachSessionsTrafficInAndOut() throws Exception {
        start(MessageStores.rocksDb(dir.resolve("traffic"), true), b -> b);
        try (RawDevice d = new RawDevice(server.port())) {
            d.hello("traffic-1", 0);
            for (int seq = 1; seq <= 5; seq++) {
                d.send(new Frame.Data(seq, new byte[100]));
                assertThat(d.read()).isInstanceOf(Frame.Ack.class);
            }
            d.send(new Frame.Data(3, new byte[100])); // a resend counts: it crossed the wire
            assertThat(d.read()).isInstanceOf(Frame.Ack.class);
            assertThat(server.send("traffic-1", new byte[7])).isTrue();
            assertThat(d.read()).isInstanceOf(Frame.Data.class);
            d.send(new Frame.Bye(Reason.NORMAL));
            assertThat(d.awaitEnd()).isTrue();
        }
        SessionRecord r = awaitClosedHistory("traffic-1", 1).get(0);
        assertThat(r.messagesIn()).isEqualTo(6);
        assertThat(r.bytesIn()).isEqualTo(600);
        assertThat(r.messagesOut()).isEqualTo(1);
        assertThat(r.bytesOut()).isEqualTo(7);
        restart(() -> MessageStores.rocksDb(dir.resolve("traffic"), true), b -> b);
        assertThat(server.history("traffic-1").get(0).messagesIn()).as("read back from the store").isEqualTo(6);
    }

    @Test
    void memoryStore_keepsHistory_untilTheProcessEnds() throws Exception {
        start(MessageStores.inMemory(), b -> b);
        try (RawDevice d = new RawDevice(server.port())) {
            d.hello("mem-1", 0);
            d.send(new Frame.Bye(Reason.NORMAL));
            assertThat(d.awaitEnd()).isTrue();
        }
        RawDevice rst = new RawDevice(server.port());
        rst.hello("mem-1", 0);
        rst.reset();
        List<SessionRecord> h = awaitClosedHistory("mem-1", 2);
        assertThat(h).extracting(SessionRecord::reason).containsExactly(Reason.PEER_RESET, Reason.NORMAL);

        restart(MessageStores::inMemory, b -> b);
        assertThat(server.history("mem-1")).as("a new memory store remembers nothing").isEmpty();
    }

    @Test
    void historyOff_recordsNothing() throws Exception {
        start(MessageStores.rocksDb(dir, true), b -> b.historySessions(0));
        try (RawDevice d = new RawDevice(server.port())) {
            d.hello("off-1", 0);
        }
        awaitCloses(1);
        assertThat(server.history("off-1")).isEmpty();
        assertThat(server.config().historySessions()).isZero();
    }

    @Test
    void failedHandshakes_areNotSessions() throws Exception {
        start(MessageStores.inMemory(), b -> b.authenticator((id, token, now) -> Authenticator.Verdict.BAD_MAC));
        try (RawDevice d = new RawDevice(server.port())) {
            d.send(new Frame.Hello(0, 0, "intruder-1", new byte[0]));
            assertThat(d.awaitEnd()).isTrue();
        }
        awaitCloses(1);
        assertThat(closes.get(0).reason()).isEqualTo(Reason.AUTH_FAILED);
        assertThat(server.history("intruder-1")).isEmpty();
    }
}
