package io.tether.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
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
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.util.concurrent.DefaultThreadFactory;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * The I/O transport of the gateway, the device SDK, the command line and the benchmarks: Linux
 * epoll when the native library loads, NIO otherwise. A channel must be of the transport of the
 * event loop it is registered on, so a caller-supplied group decides the transport ({@link #of}).
 *
 * <p>Epoll is what makes per-socket TCP_USER_TIMEOUT possible and what classifies I/O errors by
 * errno. On NIO the keepalive timings apply only where the JDK supports
 * {@link ExtendedSocketOptions#TCP_KEEPIDLE} (Linux, macOS), and TCP_USER_TIMEOUT cannot be set;
 * each limitation is logged once per process.
 *
 * <p>Socket option values come validated: keepalive as a {@link KeepAlive} (the one validator of
 * the kernel's limits), so no value reaches the kernel that it would refuse.
 */
public enum Transport {
    /** Native epoll (Linux): every socket option Tether uses. */
    EPOLL,
    /** JDK NIO: portable; no TCP_USER_TIMEOUT, keepalive timings where the JDK supports them. */
    NIO;

    private static final Logger log = LoggerFactory.getLogger(Transport.class);
    private static final AtomicBoolean WARNED_KEEPALIVE = new AtomicBoolean();
    private static final AtomicBoolean WARNED_USER_TIMEOUT = new AtomicBoolean();

    /** Epoll if the native library loads on this machine, else NIO. */
    public static Transport best() {
        return Epoll.isAvailable() ? EPOLL : NIO;
    }

    /**
     * The transport of an event loop group's I/O handler.
     *
     * @throws IllegalArgumentException if the group runs neither epoll nor NIO I/O handlers
     */
    public static Transport of(EventLoopGroup group) {
        Objects.requireNonNull(group, "group");
        if (group instanceof IoEventLoopGroup io) {
            if (io.isIoType(EpollIoHandler.class)) {
                return EPOLL;
            }
            if (io.isIoType(NioIoHandler.class)) {
                return NIO;
            }
        }
        throw new IllegalArgumentException("eventLoopGroup: " + group.getClass().getName()
                + " (expected: a MultiThreadIoEventLoopGroup with EpollIoHandler or NioIoHandler)");
    }

    /** The I/O handler of the event loops of this transport. */
    public IoHandlerFactory ioHandlerFactory() {
        return this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    }

    /**
     * A new event loop group of this transport with daemon threads named {@code name-N-M}.
     *
     * @param threads the number of event loops; 0 = Netty's default (2 × cores)
     */
    public EventLoopGroup newGroup(int threads, String name) {
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), ioHandlerFactory());
    }

    /** The listening socket's channel class. */
    public Class<? extends ServerChannel> serverChannel() {
        return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The connected socket's channel class. */
    public Class<? extends Channel> channel() {
        return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * Applies SO_KEEPALIVE and, where the transport can, TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT
     * through {@code setter}: a bootstrap's {@code option} or a server's
     * {@link #acceptedSocketOptions}. {@link KeepAlive#OFF} sets SO_KEEPALIVE false.
     */
    public void applyKeepAlive(BiConsumer<ChannelOption<?>, Object> setter, KeepAlive keepAlive) {
        Objects.requireNonNull(keepAlive, "keepAlive");
        setter.accept(ChannelOption.SO_KEEPALIVE, keepAlive.enabled());
        if (!keepAlive.enabled()) {
            return;
        }
        if (this == EPOLL) {
            setter.accept(EpollChannelOption.TCP_KEEPIDLE, keepAlive.idleSeconds());
            setter.accept(EpollChannelOption.TCP_KEEPINTVL, keepAlive.intervalSeconds());
            setter.accept(EpollChannelOption.TCP_KEEPCNT, keepAlive.count());
        } else if (NioKeepAlive.TUNABLE) {
            setter.accept(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), keepAlive.idleSeconds());
            setter.accept(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), keepAlive.intervalSeconds());
            setter.accept(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), keepAlive.count());
        } else if (WARNED_KEEPALIVE.compareAndSet(false, true)) {
            log.warn("NIO transport: this JDK cannot set TCP_KEEPIDLE/INTVL/CNT; the kernel's keepalive timings apply");
        }
    }

    /** {@link #applyKeepAlive(BiConsumer, KeepAlive)} on a client bootstrap's options. */
    public void applyKeepAlive(Bootstrap b, KeepAlive keepAlive) {
        applyKeepAlive((option, value) -> b.option(unchecked(option), value), keepAlive);
    }

    /**
     * Applies TCP_USER_TIMEOUT through {@code setter} (a server's {@link #acceptedSocketOptions}):
     * how long sent data may stay unacknowledged before the kernel fails the socket with ETIMEDOUT.
     *
     * @param userTimeout {@link Duration#ZERO} leaves the kernel's default; milliseconds, capped at
     *                    {@link Integer#MAX_VALUE}
     * @return whether it can be applied (false on NIO, where it is logged once)
     */
    public boolean applyUserTimeout(BiConsumer<ChannelOption<?>, Object> setter, Duration userTimeout) {
        if (userTimeout.isZero()) {
            return true;
        }
        if (this != EPOLL) {
            warnUserTimeout();
            return false;
        }
        setter.accept(EpollChannelOption.TCP_USER_TIMEOUT, millis(userTimeout));
        return true;
    }

    /**
     * Sets TCP_USER_TIMEOUT on a connected channel of this transport ({@link Duration#ZERO}:
     * the kernel's default, i.e. off).
     *
     * @return whether it was set (false on NIO, where it is logged once)
     */
    public boolean setUserTimeout(Channel channel, Duration userTimeout) {
        if (this != EPOLL) {
            warnUserTimeout();
            return false;
        }
        return channel.config().setOption(EpollChannelOption.TCP_USER_TIMEOUT, millis(userTimeout));
    }

    /**
     * A setter for the socket options of every connection {@code b} accepts: on epoll, the options
     * Linux copies from a listening socket into each socket it accepts are set once, on the
     * listener; the others, and every option on NIO, are set per accepted socket as a
     * {@code childOption}.
     *
     * <p>Why: Netty sets a child option with one setsockopt per accepted socket. The liveness
     * options (SO_KEEPALIVE, TCP_KEEPIDLE / KEEPINTVL / KEEPCNT, TCP_USER_TIMEOUT) and
     * TCP_NOTSENT_LOWAT were six system calls in the accept loop of every connection, ~14 µs of a
     * setup in a 19,000-device storm (issue 16's profile). Linux clones the accepted socket from the
     * listener (tcp_create_openreq_child) and starts the keepalive timer when SO_KEEPALIVE came
     * with it; the values a device socket ends up with are the same. The server's tests read them
     * back from accepted sockets.
     */
    public BiConsumer<ChannelOption<?>, Object> acceptedSocketOptions(ServerBootstrap b) {
        return (option, value) -> {
            IntegerUnixChannelOption inherited = this == EPOLL ? INHERITED.get(option) : null;
            if (inherited == null) {
                b.childOption(unchecked(option), value);
            } else {
                b.option(inherited, value instanceof Boolean on ? (on ? 1 : 0) : ((Number) value).intValue());
            }
        };
    }

    /**
     * The options {@link #acceptedSocketOptions} sets on the listener, as Linux's level and name
     * (the same numbers on x86-64 and arm64, the architectures Netty's epoll library is built for).
     */
    private static final Map<ChannelOption<?>, IntegerUnixChannelOption> INHERITED = Map.of(
            ChannelOption.SO_KEEPALIVE, new IntegerUnixChannelOption("SO_KEEPALIVE", 1, 9),
            EpollChannelOption.TCP_KEEPIDLE, new IntegerUnixChannelOption("TCP_KEEPIDLE", 6, 4),
            EpollChannelOption.TCP_KEEPINTVL, new IntegerUnixChannelOption("TCP_KEEPINTVL", 6, 5),
            EpollChannelOption.TCP_KEEPCNT, new IntegerUnixChannelOption("TCP_KEEPCNT", 6, 6),
            EpollChannelOption.TCP_USER_TIMEOUT, new IntegerUnixChannelOption("TCP_USER_TIMEOUT", 6, 18),
            EpollChannelOption.TCP_NOTSENT_LOWAT, new IntegerUnixChannelOption("TCP_NOTSENT_LOWAT", 6, 25));

    /**
     * Sets IP_BIND_ADDRESS_NO_PORT where the transport can (epoll): the source port is then picked
     * at connect() rather than bind(), so the kernel can reuse a port for different destinations,
     * which matters when thousands of clients share one source address in a load test. On NIO the
     * kernel picks the port at bind().
     */
    public void bindWithoutPort(Bootstrap b) {
        if (this == EPOLL) {
            b.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
        }
    }

    private static void warnUserTimeout() {
        if (WARNED_USER_TIMEOUT.compareAndSet(false, true)) {
            log.warn("NIO transport: TCP_USER_TIMEOUT cannot be set; a dead peer with unacknowledged data is"
                    + " detected by TCP keepalive and heartbeats only (use the epoll transport on Linux)");
        }
    }

    private static int millis(Duration d) {
        return (int) Math.min(Integer.MAX_VALUE, d.toMillis());
    }

    @SuppressWarnings("unchecked")
    private static <T> ChannelOption<T> unchecked(ChannelOption<?> option) {
        return (ChannelOption<T>) option;
    }

    /** Whether this JDK sets keepalive timings on NIO sockets; probed once. */
    private static final class NioKeepAlive {
        static final boolean TUNABLE = probe();

        private static boolean probe() {
            try (SocketChannel ch = SocketChannel.open()) {
                return ch.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE);
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
    }
}
