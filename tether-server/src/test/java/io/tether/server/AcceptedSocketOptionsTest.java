package io.tether.server;

import io.netty.channel.Channel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.tether.transport.KeepAlive;
import io.tether.transport.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The liveness options and TCP_NOTSENT_LOWAT are set once on the listening socket, and Linux
 * copies them into each socket it accepts (issue 16: six fewer system calls per connection in a
 * storm). What counts is what a device's socket ends up with, so each value is read back from the
 * kernel (getsockopt) on the socket the server accepted.
 */
class AcceptedSocketOptionsTest {
    private TetherServer server;
    private Socket device;

    @Test
    void keepaliveUserTimeoutAndLowWatermark_reachTheAcceptedSocket() throws Exception {
        EpollSocketChannelConfig c = acceptedSocket(b -> b
                .keepAlive(new KeepAlive(Duration.ofSeconds(7), Duration.ofSeconds(3), 4))
                .userTimeout(Duration.ofMillis(9_500))
                .writeStallTimeout(Duration.ofSeconds(30)));
        assertThat(c.isKeepAlive()).as("SO_KEEPALIVE").isTrue();
        assertThat(c.getTcpKeepIdle()).as("TCP_KEEPIDLE").isEqualTo(7);
        assertThat(c.getTcpKeepIntvl()).as("TCP_KEEPINTVL").isEqualTo(3);
        assertThat(c.getTcpKeepCnt()).as("TCP_KEEPCNT").isEqualTo(4);
        assertThat(c.getTcpUserTimeout()).as("TCP_USER_TIMEOUT").isEqualTo(9_500);
        assertThat(c.getTcpNotSentLowAt()).as("TCP_NOTSENT_LOWAT").isEqualTo(16 * 1024);
        assertThat(c.isTcpNoDelay()).as("TCP_NODELAY").isTrue();
    }

    @Test
    void keepaliveOffNoDelayOffAndNoStallClose_leaveTheKernelsDefaults() throws Exception {
        EpollSocketChannelConfig c = acceptedSocket(b -> b
                .keepAlive(KeepAlive.OFF)
                .userTimeout(Duration.ZERO)
                .tcpNoDelay(false)
                .writeStallTimeout(Duration.ZERO));
        assertThat(c.isKeepAlive()).as("SO_KEEPALIVE").isFalse();
        assertThat(c.getTcpUserTimeout()).as("TCP_USER_TIMEOUT").isZero();
        assertThat(c.getTcpNotSentLowAt()).as("TCP_NOTSENT_LOWAT").isNotEqualTo(16 * 1024);
        assertThat(c.isTcpNoDelay()).as("TCP_NODELAY").isFalse();
    }

    private EpollSocketChannelConfig acceptedSocket(UnaryOperator<TetherServer.Builder> options) throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "the options are set on the listener on epoll only");
        server = options.apply(TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .transport(Transport.EPOLL)).build().start();
        device = new Socket("127.0.0.1", server.port());
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.acceptedChannels().iterator().hasNext());
        Channel accepted = server.acceptedChannels().iterator().next();
        return (EpollSocketChannelConfig) accepted.config();
    }

    @AfterEach
    void close() throws Exception {
        if (device != null) {
            device.close();
        }
        if (server != null) {
            server.close();
        }
    }
}
