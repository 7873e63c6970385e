package io.tether.testkit;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy between devices and a server that injects faults per connection: an RST to both
 * sides ({@link Link#reset()}), or a black hole ({@link Link#blackhole()}): both sockets stay
 * open, nothing more passes in either direction, as when a radio drops without a word. It reads
 * each connection's HELLO to know which device it carries. An RST from one side is passed on as
 * an RST, a FIN as a FIN.
 *
 * <p>Real kernel faults (namespaces, iptables, netem) are the fault harness's job; this proxy is
 * for tests that need many precise faults per second on loopback.
 */
public final class ChaosProxy implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    private final InetSocketAddress upstream;
    private final Channel server;
    private final List<Link> links = new CopyOnWriteArrayList<>();

    private ChaosProxy(InetSocketAddress upstream) {
        this.upstream = upstream;
        this.server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Link link = new Link(ch);
                        links.add(link);
                        ch.pipeline().addLast(link.fromDevice);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    /** Starts a proxy on 127.0.0.1 (any free port) toward {@code upstream}. */
    public static ChaosProxy start(InetSocketAddress upstream) {
        return new ChaosProxy(upstream);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Open links, oldest first. */
    public List<Link> links() {
        List<Link> open = new ArrayList<>();
        for (Link l : links) {
            if (l.isOpen()) {
                open.add(l);
            }
        }
        return open;
    }

    /** The newest open link that carries {@code deviceId}, or null. */
    public Link link(String deviceId) {
        Link found = null;
        for (Link l : links) {
            if (l.isOpen() && deviceId.equals(l.deviceId)) {
                found = l;
            }
        }
        return found;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Link l : links) {
            l.reset();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One device connection and its upstream twin. Thread-safe. */
    public final class Link {
        private final Channel device;
        private volatile Channel serverSide;
        private volatile String deviceId;
        private volatile boolean blackholed;
        private ByteBuf helloSniff = Unpooled.buffer();
        final ChannelInboundHandlerAdapter fromDevice = new Forwarder(true);

        Link(Channel device) {
            this.device = device;
            device.eventLoop().execute(this::connectUpstream);
        }

        private void connectUpstream() {
            new Bootstrap().group(device.eventLoop()).channel(EpollSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new Forwarder(false))
                    .connect(upstream).addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            serverSide = f.channel();
                            device.read();
                            serverSide.read();
                        } else {
                            abort(device);
                        }
                    });
        }

        /** The device id from this link's HELLO, or null before it passed. */
        public String deviceId() {
            return deviceId;
        }

        public boolean isOpen() {
            return device.isOpen();
        }

        /** Closes both sides with RST. */
        public void reset() {
            abort(device);
            Channel s = serverSide;
            if (s != null) {
                abort(s);
            }
        }

        /** From now on nothing passes either way; both sockets stay open, as after a radio loss. */
        public void blackhole() {
            blackholed = true;
        }

        private void abort(Channel ch) {
            ch.eventLoop().execute(() -> {
                if (ch.isOpen()) {
                    ch.config().setOption(ChannelOption.SO_LINGER, 0);
                    ch.close();
                }
            });
        }

        private void sniff(ByteBuf data) {
            if (helloSniff == null) {
                return;
            }
            helloSniff.writeBytes(data, data.readerIndex(), data.readableBytes());
            if (helloSniff.readableBytes() >= 4) {
                int length = helloSniff.getInt(0);
                if (length < 0 || length > 4096) {
                    releaseSniff();
                } else if (helloSniff.readableBytes() >= 4 + length) {
                    try {
                        Frame f = FrameCodec.decode(helloSniff.slice(0, 4 + length));
                        if (f instanceof Frame.Hello h) {
                            deviceId = h.deviceId();
                        }
                    } catch (RuntimeException e) {
                        // not a HELLO: this link carries no device id
                    }
                    releaseSniff();
                }
            }
        }

        private void releaseSniff() {
            if (helloSniff != null) {
                helloSniff.release();
                helloSniff = null;
            }
        }

        private final class Forwarder extends ChannelInboundHandlerAdapter {
            private final boolean fromDeviceSide;

            Forwarder(boolean fromDeviceSide) {
                this.fromDeviceSide = fromDeviceSide;
            }

            private Channel peer() {
                return fromDeviceSide ? serverSide : device;
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf data = (ByteBuf) msg;
                if (fromDeviceSide) {
                    sniff(data);
                }
                Channel peer = peer();
                if (blackholed || peer == null || !peer.isActive()) {
                    ReferenceCountUtil.release(data);
                    ctx.read();
                    return;
                }
                peer.writeAndFlush(data).addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        ctx.read();
                    } else {
                        abort(ctx.channel());
                    }
                });
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (fromDeviceSide) {
                    releaseSniff();
                }
                Channel peer = peer();
                if (peer != null && peer.isOpen() && !blackholed) {
                    // Pass a FIN on as a FIN (after what is queued).
                    peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                Channel peer = peer();
                if (cause instanceof IOException && peer != null && !blackholed) {
                    // Most likely an RST: pass it on as one.
                    abort(peer);
                }
                ctx.close();
            }
        }
    }
}
