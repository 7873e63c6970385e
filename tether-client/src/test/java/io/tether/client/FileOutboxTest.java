package io.tether.client;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The outbox file seen from the application: what survives a restart, and how it is resent. */
class FileOutboxTest {
    private final FakeServer server = new FakeServer();
    private final RecordingListener listener = new RecordingListener();
    private final List<TetherClient> clients = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void tearDown() {
        for (TetherClient c : clients) {
            c.close();
            await(c.closeFuture());
        }
        server.close();
    }

    private TetherClient build(Path file) {
        TetherClient c = TestClients.builder(server, listener).outboxFile(file).build();
        clients.add(c);
        return c;
    }

    private static void closeAndWait(TetherClient c) {
        c.close();
        await(c.closeFuture());
    }

    @Test
    void fileOutbox_restartOfTheDeviceApplication_resendsUnackedInOrder() {
        Path file = dir.resolve("outbox");
        TetherClient a = build(file);
        CompletableFuture<Void> connected = a.connect();
        FakeServer.Conn first = server.accept();
        first.hello();
        first.welcome(1, 0, 0, 0, 0);
        await(connected);
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            sent.add(a.send(bytes("m" + i)));
        }
        await().untilAsserted(() -> assertThat(first.dataSeqs).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L));
        first.send(new Frame.Ack(4));
        assertThat(await(sent.get(3))).isEqualTo(4);

        // The application stops. close() fails the futures of 5..10, but they stay in the file.
        closeAndWait(a);
        for (int i = 4; i < 10; i++) {
            assertThat(sent.get(i)).isCompletedExceptionally();
        }

        TetherClient b = build(file);
        assertThat(b.pendingCount()).isEqualTo(6);
        CompletableFuture<Void> bConnected = b.connect();
        FakeServer.Conn second = server.accept();
        second.hello();
        second.welcome(2, 0, 0, 4, 0);
        await(bConnected);
        for (int i = 5; i <= 10; i++) {
            assertThat(second.next(Frame.Data.class)).isEqualTo(new Frame.Data(i, bytes("m" + i)));
        }
        second.send(new Frame.Ack(10));
        await().untilAsserted(() -> assertThat(b.pendingCount()).isZero());
        assertThat(second.dataSeqs).containsExactly(5L, 6L, 7L, 8L, 9L, 10L);
        assertThat(b.stats().messagesAcked()).isEqualTo(6);
        closeAndWait(b);

        // B's file holds no unacknowledged message any more.
        TetherClient c = build(file);
        assertThat(c.pendingCount()).isZero();
    }

    @Test
    void fileOutbox_messagesQueuedBeforeTheFirstWelcome_surviveARestart_andAreNumberedFromLastSeqPlusOne() {
        Path file = dir.resolve("outbox");
        TetherClient a = build(file);
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            sent.add(a.send(bytes("early" + i)));
        }
        closeAndWait(a); // never connected: the messages have no number yet
        assertThat(sent).allMatch(CompletableFuture::isCompletedExceptionally);

        TetherClient b = build(file);
        assertThat(b.pendingCount()).isEqualTo(3);
        b.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(1, 0, 0, 41, 0); // the server holds 1..41 from an earlier life of this device
        for (int i = 1; i <= 3; i++) {
            assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(41 + i, bytes("early" + i)));
        }
        conn.send(new Frame.Ack(44));
        await().untilAsserted(() -> assertThat(b.pendingCount()).isZero());
        assertThat(conn.dataSeqs).containsExactly(42L, 43L, 44L);
    }

    @Test
    void fileOutbox_crashRightAfterSendReturned_keepsEveryMessageAndItsNumber() throws Exception {
        Path file = dir.resolve("outbox");
        TetherClient a = build(file);
        CompletableFuture<Void> connected = a.connect();
        FakeServer.Conn first = server.accept();
        first.hello();
        first.welcome(1, 0, 0, 0, 0);
        await(connected);
        a.send(bytes("m1"));
        a.send(bytes("m2"));
        await().untilAsserted(() -> assertThat(first.dataSeqs).containsExactly(1L, 2L));
        first.close(); // the link drops; A reconnects, and the server keeps it waiting for WELCOME
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.PEER_CLOSED);
        server.accept().hello();
        a.send(bytes("m3")); // no session: no number yet

        // Power cut right after send() returned: what is on disk now is all the next start gets.
        Path image = dir.resolve("after-crash");
        Files.copy(file, image);
        closeAndWait(a);

        TetherClient b = build(image);
        assertThat(b.pendingCount()).isEqualTo(3);
        b.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(2, 0, 0, 1, 0); // the server stored 1, not 2
        // m2 keeps the number it may already be stored under; m3 is numbered after it.
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(2, bytes("m2")));
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(3, bytes("m3")));
        conn.send(new Frame.Ack(3));
        await().untilAsserted(() -> assertThat(b.pendingCount()).isZero());
        assertThat(conn.dataSeqs).containsExactly(2L, 3L);
    }

    @Test
    void fileOutbox_sendReturnsOnlyOnceTheMessageIsInTheFile() throws Exception {
        Path file = dir.resolve("outbox");
        TetherClient a = build(file);
        long empty = Files.size(file);
        a.outboxFile().holdWrites(true); // a stalled disk
        CompletableFuture<CompletableFuture<Long>> sending = CompletableFuture.supplyAsync(() -> a.send(bytes("m1")));
        Thread.sleep(200);
        assertThat(sending).as("send() returned before its message was written").isNotDone();
        assertThat(Files.size(file)).isEqualTo(empty);

        a.outboxFile().holdWrites(false);
        await(sending);
        Path image = dir.resolve("after-crash"); // what a crash right now would leave
        Files.copy(file, image);
        TetherClient b = build(image);
        assertThat(b.pendingCount()).isEqualTo(1);
    }

    @Test
    void fileOutbox_manySendersWhileConnected_everyMessageStoredOnce_inConsecutiveSeqs() throws Exception {
        // Exercises the hand-off between the writer thread and the event loop: a message waits for
        // its number to be forced, and a lost wake-up would leave it (and all after it) unsent.
        server.autoRespond();
        TetherClient a = build(dir.resolve("outbox"));
        await(a.connect());
        int threads = 4;
        int perThread = 250;
        List<CompletableFuture<Long>> futures = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int t = 0; t < threads; t++) {
                pool.execute(() -> {
                    for (int i = 0; i < perThread; i++) {
                        futures.add(a.send(new byte[64]));
                    }
                });
            }
            pool.shutdown();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            pool.shutdownNow();
        }
        CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
        List<Long> expected = new ArrayList<>();
        for (long s = 1; s <= threads * perThread; s++) {
            expected.add(s);
        }
        assertThat(server.accept().dataSeqs).isEqualTo(expected);
        assertThat(a.pendingCount()).isZero();
        closeAndWait(a);
        assertThat(build(dir.resolve("outbox")).pendingCount()).isZero();
    }

    @Test
    void fileOutbox_secondClientOnTheSameFile_failsWithIllegalStateException() {
        Path file = dir.resolve("outbox");
        TetherClient a = build(file);
        assertThatThrownBy(() -> build(file))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("in use by another client");
        // The refused build left nothing behind, and the lock goes with the first client.
        closeAndWait(a);
        TetherClient b = build(file);
        assertThat(b.pendingCount()).isZero();
    }

    @Test
    void fileOutbox_ofAnotherDevice_isRefused() {
        Path file = dir.resolve("outbox");
        closeAndWait(build(file));
        assertThatThrownBy(() -> TestClients.builder(server, listener).deviceId("dev-2").outboxFile(file).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("belongs to device id \"dev-1\", not \"dev-2\"");
    }
}
