package io.tether.client;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class CloseTest {
    private final FakeServer server = new FakeServer();
    private final RecordingListener listener = new RecordingListener();

    @AfterEach
    void tearDown() {
        server.close();
    }

    @Test
    void close_saysByeNormal_andFailsPendingSends() {
        TetherClient client = TestClients.builder(server, listener).build();
        CompletableFuture<Void> connected = client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(5, 0, 0, 0, 0);
        await(connected);
        CompletableFuture<Long> a = client.send(bytes("a"));
        CompletableFuture<Long> b = client.send(bytes("b"));
        assertThat(conn.next(Frame.Data.class).seq()).isEqualTo(1);
        assertThat(conn.next(Frame.Data.class).seq()).isEqualTo(2);

        client.close();
        client.close(); // idempotent

        Frame.Bye bye = conn.next(Frame.Bye.class);
        assertThat(bye.reason()).isEqualTo(Reason.NORMAL);
        assertThat(a).failsWithin(FakeServer.WAIT).withThrowableThat().havingCause()
                .isInstanceOf(ClientClosedException.class);
        assertThat(b).failsWithin(FakeServer.WAIT).withThrowableThat().havingCause()
                .isInstanceOf(ClientClosedException.class);
        await(client.closeFuture());
        await().untilAsserted(() -> assertThat(conn.isOpen()).isFalse());
        // BYE, then FIN: the server read to a clean EOF, no reset.
        assertThat(conn.exceptions).isEmpty();
        assertThat(conn.frames).isEmpty();
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.NORMAL);
        assertThat(client.isConnected()).isFalse();
        assertThat(client.sessionId()).isZero();
        assertThat(client.pendingCount()).isZero();
        assertThat(client.send(bytes("late"))).isCompletedExceptionally();
        assertThat(listener.reconnects).isEmpty();
        assertThat(server.poll(Duration.ofMillis(200))).isNull();
    }

    @Test
    void closeBeforeWelcome_failsTheConnectFuture() {
        TetherClient client = TestClients.builder(server, listener).build();
        CompletableFuture<Void> connected = client.connect();
        server.accept().hello();
        client.close();
        assertThat(connected).failsWithin(FakeServer.WAIT).withThrowableThat().havingCause()
                .isInstanceOf(ClientClosedException.class);
        await(client.closeFuture());
    }

    @Test
    void closeWhileWaitingToReconnect_stopsReconnecting() {
        TetherClient client = TestClients.builder(server, listener)
                .backoff(Duration.ofSeconds(5), Duration.ofSeconds(5))
                .random(bound -> bound - 1)
                .build();
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.close();
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.PEER_CLOSED);
        take(listener.reconnects);
        client.close();
        await(client.closeFuture());
        assertThat(client.stats().reconnectAttempts()).isZero();
    }

    @Test
    void reconnectDisabled_firstLossClosesTheClient() {
        TetherClient client = TestClients.builder(server, listener).reconnect(false).build();
        CompletableFuture<Void> connected = client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(5, 0, 0, 0, 0);
        await(connected);
        CompletableFuture<Long> unacked = client.send(bytes("a"));
        conn.next(Frame.Data.class);
        conn.close(); // FIN, no BYE

        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.PEER_CLOSED);
        await(client.closeFuture());
        assertThat(unacked).failsWithin(FakeServer.WAIT).withThrowableThat().havingCause()
                .isInstanceOf(ClientClosedException.class)
                .withMessageContaining("reconnect is disabled");
        assertThat(server.poll(Duration.ofMillis(200))).isNull();
        assertThat(listener.reconnects).isEmpty();
    }
}
