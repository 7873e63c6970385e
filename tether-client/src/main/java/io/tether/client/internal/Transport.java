package io.tether.client.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The socket transport: native epoll where it is available, NIO elsewhere. A channel must be of
 * the transport of the event loop it is registered on, so a caller-supplied group decides the
 * transport ({@link #of}).
 *
 * <p>What NIO cannot do: TCP_USER_TIMEOUT (not settable through the JDK), and the keepalive
 * timings only where the JDK supports {@link ExtendedSocketOptions#TCP_KEEPIDLE} (Linux, macOS).
 */
public enum Transport {
    /** Native epoll (Linux): every socket option Tether uses. */
    EPOLL {
        @Override
        public IoHandlerFactory ioHandlerFactory() {
            return EpollIoHandler.newFactory();
        }

        @Override
        public Class<? extends Channel> socketChannelClass() {
            return EpollSocketChannel.class;
        }

        @Override
        public void keepAlive(Bootstrap b, int idleSeconds, int intervalSeconds, int count) {
            b.option(ChannelOption.SO_KEEPALIVE, true)
                    .option(EpollChannelOption.TCP_KEEPIDLE, idleSeconds)
                    .option(EpollChannelOption.TCP_KEEPINTVL, intervalSeconds)
                    .option(EpollChannelOption.TCP_KEEPCNT, count);
        }

        @Override
        public void bindWithoutPort(Bootstrap b) {
            // Pick the source port at connect() rather than bind(): the kernel can then reuse a
            // port for different destinations, which matters when thousands of clients share one
            // source address in a load test.
            b.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
        }

        @Override
        public boolean setUserTimeout(Channel ch, int millis) {
            return ch.config().setOption(EpollChannelOption.TCP_USER_TIMEOUT, millis);
        }
    },

    /** JDK NIO: portable; no TCP_USER_TIMEOUT, keepalive timings where the JDK supports them. */
    NIO {
        @Override
        public IoHandlerFactory ioHandlerFactory() {
            return NioIoHandler.newFactory();
        }

        @Override
        public Class<? extends Channel> socketChannelClass() {
            return NioSocketChannel.class;
        }

        @Override
        public void keepAlive(Bootstrap b, int idleSeconds, int intervalSeconds, int count) {
            b.option(ChannelOption.SO_KEEPALIVE, true);
            if (NioKeepAlive.TUNABLE) {
                b.option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idleSeconds)
                        .option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), intervalSeconds)
                        .option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), count);
            } else if (WARNED_KEEPALIVE.compareAndSet(false, true)) {
                log.warn("NIO transport: this JDK cannot set TCP_KEEPIDLE/INTVL/CNT; the kernel's keepalive timings apply");
            }
        }

        @Override
        public void bindWithoutPort(Bootstrap b) {
            // Not available through the JDK; the kernel picks the port at bind().
        }

        @Override
        public boolean setUserTimeout(Channel ch, int millis) {
            if (WARNED_USER_TIMEOUT.compareAndSet(false, true)) {
                log.warn("NIO transport: TCP_USER_TIMEOUT cannot be set; in quiet mode a dead server is"
                        + " detected by TCP keepalive only (use the epoll transport on Linux)");
            }
            return false;
        }
    };

    private static final Logger log = LoggerFactory.getLogger(Transport.class);
    private static final AtomicBoolean WARNED_KEEPALIVE = new AtomicBoolean();
    private static final AtomicBoolean WARNED_USER_TIMEOUT = new AtomicBoolean();

    /** Epoll if the native library loads on this machine, else NIO. */
    public static Transport preferred() {
        return Epoll.isAvailable() ? EPOLL : NIO;
    }

    /**
     * The transport of an event loop group's I/O handler.
     *
     * @throws IllegalArgumentException if the group runs neither epoll nor NIO I/O handlers
     */
    public static Transport of(EventLoopGroup group) {
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

    /** The I/O handler for a group this transport creates. */
    public abstract IoHandlerFactory ioHandlerFactory();

    /** The client socket channel class. */
    public abstract Class<? extends Channel> socketChannelClass();

    /** Sets SO_KEEPALIVE and, where possible, TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT. */
    public abstract void keepAlive(Bootstrap b, int idleSeconds, int intervalSeconds, int count);

    /** Sets IP_BIND_ADDRESS_NO_PORT where the transport can. */
    public abstract void bindWithoutPort(Bootstrap b);

    /**
     * Sets TCP_USER_TIMEOUT on a connected channel.
     *
     * @return whether it was set
     */
    public abstract boolean setUserTimeout(Channel ch, int millis);

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
