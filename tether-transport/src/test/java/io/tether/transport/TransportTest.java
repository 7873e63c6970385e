package io.tether.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TransportTest {

    @Test
    void of_namesTheTransportOfAGroup_andRefusesOthersNamingTheSetting() {
        EventLoopGroup nio = Transport.NIO.newGroup(1, "test-nio");
        EventLoopGroup plain = new DefaultEventLoopGroup(1);
        try {
            assertThat(Transport.of(nio)).isEqualTo(Transport.NIO);
            assertThatThrownBy(() -> Transport.of(plain))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("eventLoopGroup")
                    .hasMessageContaining("EpollIoHandler or NioIoHandler");
            if (Epoll.isAvailable()) {
                EventLoopGroup epoll = Transport.EPOLL.newGroup(1, "test-epoll");
                try {
                    assertThat(Transport.of(epoll)).isEqualTo(Transport.EPOLL);
                } finally {
                    epoll.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                }
            }
        } finally {
            nio.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            plain.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void keepAliveAndUserTimeout_reachTheKernelSocket_onEpoll() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
        EventLoopGroup group = Transport.EPOLL.newGroup(1, "test-epoll");
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Bootstrap b = new Bootstrap().group(group).channel(Transport.EPOLL.channel())
                    .handler(new ChannelInboundHandlerAdapter());
            Transport.EPOLL.applyKeepAlive(b, KeepAlive.of(Duration.ofSeconds(7), Duration.ofSeconds(3), 5));
            Channel ch = b.connect(new InetSocketAddress(server.getInetAddress(), server.getLocalPort()))
                    .syncUninterruptibly().channel();
            try {
                assertThat(Transport.EPOLL.setUserTimeout(ch, Duration.ofMillis(1_234))).isTrue();
                assertThat(ch.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
                assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPIDLE)).isEqualTo(7);
                assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPINTVL)).isEqualTo(3);
                assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPCNT)).isEqualTo(5);
                assertThat(ch.config().getOption(EpollChannelOption.TCP_USER_TIMEOUT)).isEqualTo(1_234);
            } finally {
                ch.close().syncUninterruptibly();
            }
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void keepAliveOff_clearsSoKeepAlive() {
        Map<ChannelOption<?>, Object> set = new HashMap<>();
        Transport.best().applyKeepAlive(set::put, KeepAlive.OFF);
        assertThat(set).containsExactly(Map.entry(ChannelOption.SO_KEEPALIVE, false));
    }
}
