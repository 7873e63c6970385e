package io.tether.client;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class OutboxDeliveryTest {
    private final FakeServer server = new FakeServer();
    private final RecordingListener listener = new RecordingListener();
    private TetherClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
            await(client.closeFuture());
        }
        server.close();
    }

    @Test
    void messagesSentBeforeConnect_getSeqsAfterTheServersLastSeq_andAckCompletesThem() {
        client = TestClients.builder(server, listener).build();
        CompletableFuture<Long> a = client.send(bytes("a"));
        CompletableFuture<Long> b = client.send(bytes("b"));
        CompletableFuture<Long> c = client.send(bytes("c"));
        assertThat(client.pendingCount()).isEqualTo(3);

        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(1, 0, 0, 7, 0);
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(8, bytes("a")));
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(9, bytes("b")));
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(10, bytes("c")));

        conn.send(new Frame.Ack(9));
        assertThat(await(a)).isEqualTo(8);
        assertThat(await(b)).isEqualTo(9);
        assertThat(c).isNotDone();
        await().untilAsserted(() -> assertThat(client.pendingCount()).isEqualTo(1));

        conn.send(new Frame.Ack(10));
        assertThat(await(c)).isEqualTo(10);
        assertThat(client.pendingCount()).isZero();
        assertThat(client.stats().messagesAcked()).isEqualTo(3);
    }

    @Test
    void sendWhileConnected_continuesAfterTheServersLastSeq() {
        // A device that lost its state must not reuse numbers the server holds.
        client = TestClients.builder(server, listener).build();
        CompletableFuture<Void> connected = client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(1, 0, 0, 41, 0);
        await(connected);
        CompletableFuture<Long> f = client.send(bytes("x"));
        assertThat(conn.next(Frame.Data.class).seq()).isEqualTo(42);
        conn.send(new Frame.Ack(42));
        assertThat(await(f)).isEqualTo(42);
    }

    @Test
    void outboxFull_sendFailsFast_nothingDropped() {
        client = TestClients.builder(server, listener).outboxCapacity(3).build();
        CompletableFuture<Void> connected = client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(1, 0, 0, 0, 0);
        await(connected);
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            sent.add(client.send(bytes("m" + i)));
        }
        for (int i = 1; i <= 3; i++) {
            assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(i, bytes("m" + i)));
        }

        // The server holds its ACKs back: the outbox is full, and send() says so on this thread.
        assertThatThrownBy(() -> client.send(bytes("refused-1")))
                .isInstanceOf(OutboxFullException.class)
                .hasMessageContaining("3 unacknowledged messages pending")
                .hasMessageContaining("capacity: 3")
                .satisfies(e -> {
                    OutboxFullException full = (OutboxFullException) e;
                    assertThat(full.capacity()).isEqualTo(3);
                    assertThat(full.pending()).isEqualTo(3);
                });
        assertThat(client.pendingCount()).isEqualTo(3);
        assertThat(sent).noneMatch(CompletableFuture::isDone);

        // An ACK frees exactly the slots it acknowledges.
        conn.send(new Frame.Ack(1));
        assertThat(await(sent.get(0))).isEqualTo(1);
        await().untilAsserted(() -> assertThat(client.pendingCount()).isEqualTo(2));
        sent.add(client.send(bytes("m4")));
        assertThatThrownBy(() -> client.send(bytes("refused-2"))).isInstanceOf(OutboxFullException.class);
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(4, bytes("m4")));

        conn.send(new Frame.Ack(4));
        for (int i = 0; i < 4; i++) {
            assertThat(await(sent.get(i))).isEqualTo(i + 1);
        }
        // Room again.
        CompletableFuture<Long> next = client.send(bytes("m5"));
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(5, bytes("m5")));
        conn.send(new Frame.Ack(5));
        assertThat(await(next)).isEqualTo(5);
        // Every accepted message crossed the wire once, in order; the refused ones never did.
        assertThat(conn.dataSeqs).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(client.stats().messagesAcked()).isEqualTo(5);
        assertThat(client.stats().messagesResent()).isZero();
        assertThat(client.pendingCount()).isZero();
    }

    @Test
    void connectionReset_resendsExactlyTheUnstoredTail_inOrder() {
        client = TestClients.builder(server, listener).build();
        CompletableFuture<Void> connected = client.connect();
        FakeServer.Conn first = server.accept();
        first.hello();
        first.welcome(11, 0, 0, 0, 0);
        await(connected);

        List<CompletableFuture<Long>> sent = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            sent.add(client.send(bytes("m" + i)));
        }
        await().untilAsserted(() -> assertThat(first.dataSeqs).containsExactly(1L, 2L, 3L, 4L, 5L));
        first.send(new Frame.Ack(2));
        assertThat(await(sent.get(0))).isEqualTo(1);
        assertThat(await(sent.get(1))).isEqualTo(2);

        first.reset(); // RST: the server stored 3, but its ACK never left
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.PEER_RESET);

        FakeServer.Conn second = server.accept();
        assertThat(second.hello().resumeSession()).isEqualTo(11);
        second.welcome(12, 0, 0, 3, io.tether.protocol.Frame.Welcome.FLAG_RESUMED);
        assertThat(await(sent.get(2))).isEqualTo(3);
        assertThat(second.next(Frame.Data.class)).isEqualTo(new Frame.Data(4, bytes("m4")));
        assertThat(second.next(Frame.Data.class)).isEqualTo(new Frame.Data(5, bytes("m5")));
        second.send(new Frame.Ack(5));
        assertThat(await(sent.get(3))).isEqualTo(4);
        assertThat(await(sent.get(4))).isEqualTo(5);
        assertThat(second.dataSeqs).containsExactly(4L, 5L);
        assertThat(client.stats().messagesResent()).isEqualTo(2);
    }

    @Test
    void manyThreadsSending_deliverEveryMessageOnce_inConsecutiveSeqs() throws Exception {
        server.autoRespond();
        client = TestClients.builder(server, listener).outboxCapacity(20_000).build();
        await(client.connect());
        int threads = 4;
        int perThread = 2_500;
        byte[] payload = new byte[512];
        List<CompletableFuture<Long>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            for (int t = 0; t < threads; t++) {
                pool.execute(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        futures.add(client.send(payload));
                    }
                });
            }
            start.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        } finally {
            pool.shutdownNow();
        }
        CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
        FakeServer.Conn conn = server.accept();
        List<Long> expected = new ArrayList<>();
        for (long s = 1; s <= threads * perThread; s++) {
            expected.add(s);
        }
        assertThat(conn.dataSeqs).isEqualTo(expected);
        assertThat(futures).extracting(CompletableFuture::join).doesNotHaveDuplicates();
        assertThat(client.pendingCount()).isZero();
    }

    @Test
    void payloadAboveTheServersLimit_failsThatSendOnly() {
        client = TestClients.builder(server, listener).build();
        CompletableFuture<Long> small = client.send(bytes("ok"));
        CompletableFuture<Long> big = client.send(new byte[5_000]);
        CompletableFuture<Long> after = client.send(bytes("ok2"));
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.send(new Frame.Welcome(1, 0, 0, 0, io.tether.protocol.Protocol.MIN_MAX_FRAME_LENGTH, 0));
        assertThat(conn.next(Frame.Data.class).seq()).isEqualTo(1);
        assertThat(conn.next(Frame.Data.class)).isEqualTo(new Frame.Data(2, bytes("ok2")));
        assertThat(big).failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .havingCause().isInstanceOf(IllegalArgumentException.class);
        conn.send(new Frame.Ack(2));
        assertThat(await(small)).isEqualTo(1);
        assertThat(await(after)).isEqualTo(2);
    }
}
