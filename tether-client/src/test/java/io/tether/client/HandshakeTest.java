package io.tether.client;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.transport.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HandshakeTest {
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
    void connect_sendsHelloWithConfiguredIdentity_andCompletesOnWelcome() {
        client = TestClients.builder(server, listener)
                .deviceId("meter-0042")
                .credential(bytes("s3cret"))
                .heartbeat(Duration.ofSeconds(5))
                .build();
        CompletableFuture<Void> connected = client.connect();

        FakeServer.Conn conn = server.accept();
        Frame.Hello hello = conn.hello();
        assertThat(hello.deviceId()).isEqualTo("meter-0042");
        assertThat(hello.heartbeatMillis()).isEqualTo(5_000);
        assertThat(hello.resumeSession()).isZero();
        assertThat(hello.credential()).isEqualTo(bytes("s3cret"));
        assertThat(connected).isNotDone();
        assertThat(client.isConnected()).isFalse();
        assertThat(client.sessionId()).isZero();

        conn.welcome(77, 5_000, 7_500, 0, 0);
        await(connected);
        assertThat(client.isConnected()).isTrue();
        assertThat(client.sessionId()).isEqualTo(77);
        assertThat(take(listener.connected)).as("what WELCOME granted, in the SDK's own terms")
                .isEqualTo(new SessionInfo(77, false, Duration.ofMillis(5_000), Duration.ofMillis(7_500), false, 0,
                        TetherClient.MAX_PAYLOAD_LENGTH));
        assertThat(client.stats().connects()).isEqualTo(1);
    }

    @Test
    void socket_hasNoDelayAndConfiguredKeepAlive() {
        client = TestClients.builder(server, listener)
                .keepAlive(Duration.ofSeconds(5), Duration.ofSeconds(2), 4)
                .build();
        client.connect();
        server.accept().hello();
        Channel ch = client.currentChannel();
        assertThat(ch.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
        assertThat(ch.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
        org.junit.jupiter.api.Assumptions.assumeTrue(ch instanceof io.netty.channel.epoll.EpollSocketChannel,
                "keepalive timings are read back through the epoll transport");
        assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPIDLE)).isEqualTo(5);
        assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPINTVL)).isEqualTo(2);
        assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPCNT)).isEqualTo(4);
    }

    @Test
    void localAddress_isTheSourceOfTheConnection() throws Exception {
        client = TestClients.builder(server, listener)
                .localAddress(java.net.InetAddress.getByName("127.0.0.2"))
                .build();
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        assertThat(((java.net.InetSocketAddress) conn.ch.remoteAddress()).getAddress().getHostAddress())
                .isEqualTo("127.0.0.2");
    }

    @Test
    void missingWelcome_closesWithHandshakeTimeout_andReconnects() {
        client = TestClients.builder(server, listener).connectTimeout(Duration.ofMillis(200)).build();
        client.connect();
        FakeServer.Conn first = server.accept();
        first.hello();

        RecordingListener.Disconnect d = take(listener.disconnects);
        assertThat(d.reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
        // The deadline runs from the attempt's start, which precedes the accept.
        assertThat(TimeUnit.NANOSECONDS.toMillis(d.nanos() - first.acceptedNanos)).isBetween(150L, 1_000L);
        assertThat(server.accept().hello().resumeSession()).isZero();
        assertThat(client.stats().connects()).isZero();
    }

    @Test
    void frameOtherThanWelcome_isAProtocolError_clientSaysByeAndReconnects() {
        client = TestClients.builder(server, listener).build();
        client.connect();
        FakeServer.Conn first = server.accept();
        first.hello();
        first.send(Frame.Pong.INSTANCE);

        assertThat(first.next(Frame.Bye.class).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
        server.accept().hello();
        assertThat(client.stats().disconnects(Reason.PROTOCOL_ERROR)).isEqualTo(1);
    }

    @Test
    void byeWithoutHint_followsTheGrowingBackoff() {
        // Largest draw each time: the delays are exactly ceiling - 1 = base × 2^(attempt-1) - 1.
        client = TestClients.builder(server, listener)
                .backoff(Duration.ofMillis(20), Duration.ofSeconds(1))
                .random(bound -> bound - 1)
                .build();
        client.connect();
        for (int i = 0; i < 3; i++) {
            FakeServer.Conn c = server.accept();
            c.hello();
            c.send(new Frame.Bye(Reason.SERVER_BUSY, 0, "busy"));
        }
        assertThat(take(listener.byes).reason()).isEqualTo(Reason.SERVER_BUSY);
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.SERVER_BUSY);
        assertThat(take(listener.reconnects)).extracting(RecordingListener.Reconnect::attempt,
                RecordingListener.Reconnect::delay).containsExactly(1, Duration.ofMillis(19));
        assertThat(take(listener.reconnects)).extracting(RecordingListener.Reconnect::attempt,
                RecordingListener.Reconnect::delay).containsExactly(2, Duration.ofMillis(39));
        assertThat(take(listener.reconnects)).extracting(RecordingListener.Reconnect::attempt,
                RecordingListener.Reconnect::delay).containsExactly(3, Duration.ofMillis(79));
    }

    @Test
    void authFailedBye_stopsTheClient_andTellsTheApplicationWhy() throws Exception {
        client = TestClients.builder(server, listener)
                .backoff(Duration.ofMillis(20), Duration.ofMillis(40))
                .build();
        CompletableFuture<Void> connected = client.connect();
        CompletableFuture<Long> pending = client.send(new byte[] {1});
        FakeServer.Conn c = server.accept();
        c.hello();
        c.send(new Frame.Bye(Reason.AUTH_FAILED, 0, ""));

        AuthenticationFailedException failure = take(listener.authFailures);
        System.out.println("onAuthenticationFailed: " + failure.getMessage());
        assertThat(failure.getMessage()).contains("refused device '" + client.deviceId() + "'", "AUTH_FAILED",
                "no credential", "secret(...)", "groupSecret(prefix, secret)");
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.AUTH_FAILED);
        assertThatThrownBy(() -> connected.get(5, TimeUnit.SECONDS)).hasCause(failure);
        assertThatThrownBy(() -> pending.get(5, TimeUnit.SECONDS)).cause()
                .isInstanceOf(ClientClosedException.class).hasCause(failure);
        client.closeFuture().get(5, TimeUnit.SECONDS);
        // With a 20-40 ms backoff a retrying client would be back within 40 ms; give it 10 times that.
        assertThat(server.poll(Duration.ofMillis(400))).as("no reconnect after AUTH_FAILED").isNull();
        assertThat(listener.reconnects).isEmpty();
        assertThat(client.send(new byte[] {2})).isCompletedExceptionally();
    }

    @Test
    void byeWithReconnectHint_delaysTheReconnect_andResumesTheSession() {
        client = TestClients.builder(server, listener).build();
        client.connect();
        FakeServer.Conn first = server.accept();
        first.hello();
        first.welcome(501, 0, 0, 0, 0);
        take(listener.connected);

        long byeSent = System.nanoTime();
        first.send(new Frame.Bye(Reason.SERVER_SHUTDOWN, 300, "restarting"));

        assertThat(take(listener.byes).text()).isEqualTo("restarting");
        assertThat(take(listener.disconnects).reason()).isEqualTo(Reason.SERVER_SHUTDOWN);
        RecordingListener.Reconnect r = take(listener.reconnects);
        // Hint 300 ms plus jitter below the 10 ms base.
        assertThat(r.delay()).isBetween(Duration.ofMillis(300), Duration.ofMillis(309));
        FakeServer.Conn second = server.accept();
        assertThat(TimeUnit.NANOSECONDS.toMillis(second.acceptedNanos - byeSent)).isGreaterThanOrEqualTo(300);
        assertThat(second.hello().resumeSession()).isEqualTo(501);
    }

    @Test
    void nioGroup_works_andIsNotClosedByTheClient() {
        ClientGroup nio = ClientGroup.create(1, "test-nio", Transport.NIO);
        try {
            client = TestClients.builder(server, listener).group(nio).build();
            CompletableFuture<Void> connected = client.connect();
            FakeServer.Conn conn = server.accept();
            conn.hello();
            conn.welcome(9, 0, 0, 0, 0);
            await(connected);
            client.close();
            await(client.closeFuture());
            assertThat(nio.isClosed()).isFalse();
        } finally {
            nio.close();
        }
    }
}
