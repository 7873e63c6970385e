package io.tether.cli;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.FrameEncoder;
import io.tether.protocol.Protocol;
import io.tether.protocol.Reason;
import io.tether.transport.errno.IoFailure;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A misbehaving device for {@code tether sim}, written directly on Netty so it can do what the
 * SDK never would: stop sending, vanish, reset, or reconnect without closing its old socket.
 */
final class RawSimDevice {
    private final SimCommand.Run run;
    private final String deviceId;
    private final InetSocketAddress source;

    RawSimDevice(SimCommand.Run run, String deviceId, InetSocketAddress source) {
        this.run = run;
        this.deviceId = deviceId;
        this.source = source;
    }

    /** Opens one connection; {@code onDone} runs once it has ended or been abandoned (flap). */
    void connect(Runnable onWelcome, Runnable onDone) {
        Bootstrap b = new Bootstrap().group(run.group).channel(run.transport.channel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (run.rawTls != null) {
                            ch.pipeline().addLast(run.rawTls.newHandler(ch.alloc(),
                                    run.target.getHostString(), run.target.getPort()));
                        }
                        ch.pipeline().addLast(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH), FrameEncoder.INSTANCE,
                                new Handler(onWelcome, onDone));
                    }
                });
        ChannelFuture f = source == null ? b.connect(run.target) : b.connect(run.target, source);
        f.addListener(done -> {
            if (!done.isSuccess()) {
                run.connectFailed(IoFailure.classify(done.cause()));
                onDone.run();
            }
        });
    }

    private final class Handler extends SimpleChannelInboundHandler<Frame> {
        private final Runnable onWelcome;
        private final Runnable onDone;
        private ScheduledFuture<?> pinger;
        private long lastSentNanos;
        private int timeoutMillis;
        private Reason seen;
        private long acked;
        private boolean done;
        private boolean closingOurselves;
        private boolean welcomed;

        Handler(Runnable onWelcome, Runnable onDone) {
            this.onWelcome = onWelcome;
            this.onDone = onDone;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(new Frame.Hello((int) run.heartbeat.toMillis(), 0, deviceId, run.credential(deviceId)));
            lastSentNanos = System.nanoTime();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            if (frame instanceof Frame.Welcome w) {
                timeoutMillis = w.timeoutMillis();
                // The server's first deadline runs from WELCOME; the nearest the device can see of
                // that moment is WELCOME's arrival (a late estimate, so lateness is understated
                // by at most the one-way delay).
                lastSentNanos = System.nanoTime();
                welcomed = true;
                run.handshake();
                onWelcome.run();
                afterWelcome(ctx, w);
            } else if (frame instanceof Frame.Ack a) {
                if (a.seq() > acked) {
                    run.acked(a.seq() - acked);
                    acked = a.seq();
                }
                if (acked >= run.messages) {
                    finish(ctx);
                }
            } else if (frame instanceof Frame.Bye bye) {
                seen = bye.reason();
                if (bye.reason() == Reason.HEARTBEAT_TIMEOUT && timeoutMillis > 0) {
                    long deadline = lastSentNanos + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
                    run.detected((System.nanoTime() - deadline) / 1e6);
                }
            }
        }

        private void afterWelcome(ChannelHandlerContext ctx, Frame.Welcome w) {
            long interval = w.heartbeatMillis();
            switch (run.behaviour) {
                case silent:
                    // Heartbeat until --silent-after (if any; one moment for all devices of the run),
                    // then say nothing more, ever.
                    if (run.silentAfter != null && interval > 0) {
                        long stopAt = run.silentAtNanos;
                        pinger = ctx.executor().scheduleAtFixedRate(() -> {
                            if (System.nanoTime() < stopAt) {
                                ctx.writeAndFlush(Frame.Ping.INSTANCE);
                                lastSentNanos = System.nanoTime();
                            } else {
                                pinger.cancel(false);
                            }
                        }, interval, interval, TimeUnit.MILLISECONDS);
                    }
                    break;
                case fin:
                case rst:
                    if (run.messages == 0) {
                        finish(ctx);
                    } else {
                        for (long seq = 1; seq <= run.messages; seq++) {
                            ctx.write(new Frame.Data(seq, run.payload));
                            run.sent(1);
                        }
                        ctx.flush();
                        lastSentNanos = System.nanoTime();
                    }
                    break;
                case flap:
                    // Reconnect without closing this socket: the source's case 3. The old socket
                    // is left as it is; the server must take it over.
                    ctx.executor().schedule(() -> {
                        if (!run.stopping()) {
                            run.flapped();
                            done();
                        }
                    }, run.flapInterval.toMillis(), TimeUnit.MILLISECONDS);
                    break;
                default:
                    break;
            }
        }

        private void finish(ChannelHandlerContext ctx) {
            if (run.behaviour == SimCommand.Behaviour.rst) {
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            }
            closingOurselves = true;
            ctx.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (seen == null) {
                seen = IoFailure.classify(cause).reason();
            }
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (pinger != null) {
                pinger.cancel(false);
            }
            if (timeoutMillis >= 0 && welcomed) {
                run.closed(seen == null ? Reason.PEER_CLOSED : seen, closingOurselves);
            } else if (!welcomed && seen != null) {
                run.refused(seen);   // BYE instead of WELCOME
            }
            done();
        }

        private void done() {
            if (!done) {
                done = true;
                onDone.run();
            }
        }
    }
}
