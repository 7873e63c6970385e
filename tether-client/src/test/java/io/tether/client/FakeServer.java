package io.tether.client;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.FrameEncoder;
import io.tether.protocol.Protocol;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * A server the test drives frame by frame: every accepted connection is a {@link Conn} that
 * records what the client sent and writes what the test tells it to. Optionally answers on its own
 * ({@link #autoRespond()}): WELCOME to HELLO (with the device's last stored seq), ACK to in-order
 * DATA, PONG to PING — a minimal correct server for load-shaped tests.
 */
final class FakeServer implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(5);

    private final EventLoopGroup group;
    private final Channel server;
    private final BlockingQueue<Conn> accepted = new LinkedBlockingQueue<>();
    private final Map<String, Long> stored = new ConcurrentHashMap<>();
    private final AtomicLong sessions = new AtomicLong(1000);
    private volatile boolean auto;

    FakeServer() {
        this(null);
    }

    /** A fake server speaking TLS with {@code tls} (a server context) first in each pipeline, or plaintext if null. */
    FakeServer(SslContext tls) {
        boolean epoll = Epoll.isAvailable();
        group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        server = new ServerBootstrap()
                .group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Conn c = new Conn(ch);
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH),
                                FrameEncoder.INSTANCE, c.handler);
                        accepted.add(c);
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    FakeServer autoRespond() {
        auto = true;
        return this;
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** The next accepted connection, waiting up to {@link #WAIT}. */
    Conn accept() {
        Conn c = poll(WAIT);
        if (c == null) {
            fail("no connection within " + WAIT);
        }
        return c;
    }

    /** The next accepted connection, or null if none arrives within {@code wait}. */
    Conn poll(Duration wait) {
        try {
            return accepted.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One accepted connection. */
    final class Conn {
        final Channel ch;
        final long acceptedNanos = System.nanoTime();
        final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
        final List<Long> dataSeqs = new CopyOnWriteArrayList<>();
        final AtomicLong pings = new AtomicLong();
        final List<Throwable> exceptions = new CopyOnWriteArrayList<>();
        volatile boolean autoPong;
        private String deviceId;
        final SimpleChannelInboundHandler<Frame> handler = new SimpleChannelInboundHandler<>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, Frame f) {
                if (f instanceof Frame.Data d) {
                    dataSeqs.add(d.seq());
                }
                if (f instanceof Frame.Ping) {
                    pings.incrementAndGet();
                    if (autoPong || auto) {
                        ctx.writeAndFlush(Frame.Pong.INSTANCE);
                    }
                }
                if (auto) {
                    respond(ctx, f);
                }
                frames.add(f);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                exceptions.add(cause);
                ctx.close();
            }
        };

        Conn(Channel ch) {
            this.ch = ch;
        }

        private void respond(ChannelHandlerContext ctx, Frame f) {
            if (f instanceof Frame.Hello h) {
                deviceId = h.deviceId();
                ctx.writeAndFlush(new Frame.Welcome(sessions.incrementAndGet(), 0, 0, stored.getOrDefault(deviceId, 0L),
                        Protocol.DEFAULT_MAX_FRAME_LENGTH, 0));
            } else if (f instanceof Frame.Data d) {
                long last = stored.getOrDefault(deviceId, 0L);
                if (d.seq() == last + 1) {
                    stored.put(deviceId, d.seq());
                    last = d.seq();
                }
                ctx.writeAndFlush(new Frame.Ack(last));
            }
        }

        /** The next frame of any type. */
        Frame next() {
            try {
                Frame f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                if (f == null) {
                    fail("no frame within " + WAIT);
                }
                return f;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        /** The next frame that is not a PING, which must be of {@code type}. */
        <T extends Frame> T next(Class<T> type) {
            Frame f;
            do {
                f = next();
            } while (f instanceof Frame.Ping && type != Frame.Ping.class);
            assertThat(f).isInstanceOf(type);
            return type.cast(f);
        }

        Frame.Hello hello() {
            return next(Frame.Hello.class);
        }

        Frame.Welcome welcome(long sessionId, int heartbeatMillis, int timeoutMillis, long lastSeq, int flags) {
            Frame.Welcome w = new Frame.Welcome(sessionId, heartbeatMillis, timeoutMillis, lastSeq,
                    Protocol.DEFAULT_MAX_FRAME_LENGTH, flags);
            send(w);
            return w;
        }

        void send(Frame f) {
            ch.writeAndFlush(f).syncUninterruptibly();
        }

        /** Abortive close: RST instead of FIN. */
        void reset() {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.close().syncUninterruptibly();
        }

        void close() {
            ch.close().syncUninterruptibly();
        }

        boolean isOpen() {
            return ch.isActive();
        }
    }
}
