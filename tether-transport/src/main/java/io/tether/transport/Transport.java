package io.tether.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import jdk.net.ExtendedSocketOptions;

import java.time.Duration;
import java.util.function.BiConsumer;

/**
 * The I/O transport: Linux epoll when the native library loads, NIO otherwise. Epoll is what
 * makes per-socket TCP_USER_TIMEOUT possible and what classifies I/O errors by errno; on NIO the
 * keepalive knobs still apply (through the JDK's extended socket options) but TCP_USER_TIMEOUT is
 * not available.
 */
public enum Transport {
    EPOLL, NIO;

    /** Epoll if available, else NIO. */
    public static Transport best() {
        return Epoll.isAvailable() ? EPOLL : NIO;
    }

    public EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    public Class<? extends ServerChannel> serverChannel() {
        return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends Channel> channel() {
        return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * Applies keepalive and user-timeout options through {@code setter} (a bootstrap's option or
     * childOption method).
     *
     * @param idle        TCP_KEEPIDLE; zero disables SO_KEEPALIVE
     * @param userTimeout TCP_USER_TIMEOUT; zero leaves the kernel default (epoll only)
     */
    public void applyKeepAlive(BiConsumer<ChannelOption<?>, Object> setter, Duration idle, Duration interval,
                               int count, Duration userTimeout) {
        boolean on = !idle.isZero();
        setter.accept(ChannelOption.SO_KEEPALIVE, on);
        if (this == EPOLL) {
            if (on) {
                setter.accept(EpollChannelOption.TCP_KEEPIDLE, seconds(idle));
                setter.accept(EpollChannelOption.TCP_KEEPINTVL, seconds(interval));
                setter.accept(EpollChannelOption.TCP_KEEPCNT, count);
            }
            if (!userTimeout.isZero()) {
                setter.accept(EpollChannelOption.TCP_USER_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, userTimeout.toMillis()));
            }
        } else if (on) {
            setter.accept(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), seconds(idle));
            setter.accept(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), seconds(interval));
            setter.accept(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), count);
        }
    }

    /** Kernel keepalive takes whole seconds, at least 1. */
    private static int seconds(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (d.toMillis() + 999) / 1000));
    }
}
