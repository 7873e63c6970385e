package io.tether.client;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollChannelOption;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class LivenessIntegrationTest {
    /** Slack on top of the bound: timer wake-up, thread scheduling and GC on a 2-core test machine. */
    private static final long SLACK_MILLIS = 500;

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

    private FakeServer.Conn connect(int heartbeatMillis, int timeoutMillis, int flags) {
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(21, heartbeatMillis, timeoutMillis, 0, flags);
        take(listener.connected);
        return conn;
    }

    @Test
    void silentServer_isDetectedWithinTimeout_andTheClientReconnects() {
        client = TestClients.builder(server, listener).build();
        client.connect();
        FakeServer.Conn first = server.accept();
        first.hello();
        long welcomeSent = System.nanoTime();
        first.welcome(21, 200, 300, 0, 0);

        RecordingListener.Disconnect d = take(listener.disconnects);
        long detectedMillis = TimeUnit.NANOSECONDS.toMillis(d.nanos() - welcomeSent);
        assertThat(d.reason()).isEqualTo(Reason.HEARTBEAT_TIMEOUT);
        // Bound: timeout_ms after the last frame received (the WELCOME itself here).
        assertThat(detectedMillis).isBetween(300L, 300L + SLACK_MILLIS);
        // The client pinged at ~200 ms, and the server never answered.
        assertThat(first.pings.get()).isGreaterThanOrEqualTo(1);
        await().untilAsserted(() -> assertThat(first.isOpen()).isFalse());

        FakeServer.Conn second = server.accept();
        assertThat(second.hello().resumeSession()).isEqualTo(21);
        assertThat(client.stats().disconnects(Reason.HEARTBEAT_TIMEOUT)).isEqualTo(1);
    }

    @Test
    void answeredPings_keepTheSessionUp() throws InterruptedException {
        client = TestClients.builder(server, listener).build();
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.autoPong = true;
        conn.hello();
        conn.welcome(21, 100, 250, 0, 0);
        take(listener.connected);

        Thread.sleep(1_000);
        assertThat(client.isConnected()).isTrue();
        assertThat(listener.disconnects).isEmpty();
        ClientStats stats = client.stats();
        assertThat(stats.pingsSent()).isBetween(5L, 11L);
        assertThat(stats.pongsReceived()).isGreaterThanOrEqualTo(stats.pingsSent() - 1);
    }

    @Test
    void pingIntervalFactor_stretchesThePingInterval() throws InterruptedException {
        client = TestClients.builder(server, listener).pingIntervalFactor(3.0).build();
        FakeServer.Conn conn = connect(100, 10_000, 0);
        Thread.sleep(700);
        // Every 300 ms instead of every 100 ms.
        assertThat(conn.pings.get()).isBetween(1L, 3L);
    }

    @Test
    void quietMode_setsUserTimeoutToTheNegotiatedTimeout_andTakesSilenceForNormal() throws InterruptedException {
        client = TestClients.builder(server, listener).build();
        FakeServer.Conn conn = connect(100, 300, Frame.Welcome.FLAG_QUIET);
        Thread.sleep(800);
        assertThat(client.isConnected()).isTrue();
        assertThat(conn.pings.get()).isGreaterThanOrEqualTo(4);
        assertThat(userTimeout(client.currentChannel())).isEqualTo(300);
    }

    @Test
    void explicitUserTimeout_overridesTheNegotiatedOne() {
        client = TestClients.builder(server, listener).userTimeout(Duration.ofMillis(1_234)).build();
        connect(100, 300, Frame.Welcome.FLAG_QUIET);
        assertThat(userTimeout(client.currentChannel())).isEqualTo(1_234);
    }

    @Test
    void zeroUserTimeout_leavesTheKernelDefault() {
        client = TestClients.builder(server, listener).userTimeout(Duration.ZERO).build();
        connect(100, 300, Frame.Welcome.FLAG_QUIET);
        assertThat(userTimeout(client.currentChannel())).isZero();
    }

    @Test
    void heartbeatOff_noPings_noSilenceTimeout() throws InterruptedException {
        client = TestClients.builder(server, listener).build();
        FakeServer.Conn conn = connect(0, 0, 0);
        Thread.sleep(500);
        assertThat(client.isConnected()).isTrue();
        assertThat(conn.pings.get()).isZero();
    }

    private static int userTimeout(Channel ch) {
        if (!(ch instanceof io.netty.channel.epoll.EpollSocketChannel)) {
            org.junit.jupiter.api.Assumptions.abort("TCP_USER_TIMEOUT needs the epoll transport");
        }
        return ch.config().getOption(EpollChannelOption.TCP_USER_TIMEOUT);
    }
}
