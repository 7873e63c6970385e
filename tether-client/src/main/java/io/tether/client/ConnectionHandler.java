package io.tether.client;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.tether.client.internal.Liveness;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.FrameType;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;
import io.tether.transport.errno.IoFailure;
import io.tether.transport.tls.Tls;

import javax.net.ssl.SSLException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One connection's protocol: HELLO, the wait for WELCOME, frame dispatch, and the single reason the
 * connection ended. Everything that outlives the connection (outbox, session id, backoff) lives in
 * {@link ClientCore}. One instance per channel; event loop only.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    /** After our BYE and FIN, how long to wait for the server's FIN before closing anyway. */
    private static final long GOODBYE_DRAIN_MILLIS = 1_000;

    private final ClientCore core;
    private final Liveness liveness;
    /** Ticker time by which WELCOME must have arrived (connect timeout, counted from the attempt's start). */
    private final long handshakeDeadlineNanos;
    /** The protocol version of this connection: that of its HELLO and of every frame it writes. */
    private final int version;

    private Channel channel;
    private ChannelHandlerContext ctx;
    private Future<?> handshakeTimer;
    private boolean welcomed;
    private boolean closing;
    private boolean flushPending;
    private Frame.Bye bye;
    private Reason localReason;
    private Throwable cause;
    /** WELCOME's last_seq: ACKs up to it are legitimate even if nothing was written yet. */
    private long welcomeLastSeq;
    private long highestWrittenSeq;
    private long silenceTimeoutMillis;

    ConnectionHandler(ClientCore core, Liveness liveness, long handshakeDeadlineNanos, int version) {
        this.core = core;
        this.version = version;
        this.liveness = liveness;
        this.handshakeDeadlineNanos = handshakeDeadlineNanos;
    }

    void channel(Channel channel) {
        this.channel = channel;
    }

    Channel channel() {
        return channel;
    }

    int version() {
        return version;
    }

    /** Starts heartbeat and dead-server detection (after WELCOME). 0 turns either off. */
    void startLiveness(long pingIntervalNanos, long silenceTimeoutMillis) {
        this.silenceTimeoutMillis = silenceTimeoutMillis;
        liveness.start(pingIntervalNanos, TimeUnit.MILLISECONDS.toNanos(silenceTimeoutMillis));
    }

    boolean isWelcomed() {
        return welcomed && !closing;
    }

    boolean isWritable() {
        return isWelcomed() && channel.isWritable();
    }

    /** Writes without flushing; failures surface in {@link #exceptionCaught}. */
    void write(Frame frame) {
        if (frame instanceof Frame.Data d) {
            highestWrittenSeq = Math.max(highestWrittenSeq, d.seq());
        }
        ctx.write(frame, ctx.voidPromise());
    }

    void flush() {
        flushPending = false;
        ctx.flush();
    }

    /** Flushes with the ACKs of the read being handled ({@link #channelReadComplete}). */
    void flushLater() {
        flushPending = true;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.writeAndFlush(core.hello(version), ctx.voidPromise());
        long remaining = handshakeDeadlineNanos - ctx.executor().ticker().nanoTime();
        handshakeTimer = ctx.executor().schedule(this::handshakeTimedOut, Math.max(0, remaining), TimeUnit.NANOSECONDS);
        super.channelActive(ctx);
    }

    private void handshakeTimedOut() {
        if (!welcomed) {
            abort(Reason.HANDSHAKE_TIMEOUT, new TimeoutException("no WELCOME within the connect timeout of "
                    + core.config.connectTimeout().toMillis() + " ms"));
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Frame frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (closing) {
            return; // the connection is being closed; nothing after that decision counts
        }
        if (frame instanceof Frame.Bye b) {
            bye = b;
            core.onBye(this, b);
            // The session is over: close now rather than wait for the server's FIN, so this side
            // never holds a socket in CLOSE_WAIT.
            closing = true;
            ctx.close();
            return;
        }
        if (!welcomed) {
            if (frame instanceof Frame.Welcome w) {
                FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
                if (decoder != null && decoder.version() != version) {
                    protocolError("WELCOME in version " + decoder.version() + " to a version " + version + " HELLO");
                    return;
                }
                welcomed = true;
                welcomeLastSeq = w.lastSeq();
                cancelHandshakeTimer();
                core.onWelcome(this, w);
            } else {
                protocolError("expected WELCOME or BYE, got " + FrameType.name(frame.type()));
            }
            return;
        }
        if (frame instanceof Frame.Pong) {
            core.counters.pongsReceived++;
        } else if (frame instanceof Frame.Ack a) {
            if (a.seq() > Math.max(welcomeLastSeq, highestWrittenSeq)) {
                protocolError("ACK " + a.seq() + " for a message never sent (highest sent: "
                        + Math.max(welcomeLastSeq, highestWrittenSeq) + ")");
            } else {
                core.onAck(a.seq());
            }
        } else if (frame instanceof Frame.Data d) {
            long ack = core.onDownlink(d);
            ctx.write(new Frame.Ack(ack), ctx.voidPromise());
            flushPending = true;
        } else if (frame instanceof Frame.Command c) {
            // Only a version 2 connection decodes one: the decoder refuses the type in version 1.
            Frame.CommandAck ack = core.onCommand(c);
            if (ack != null) {
                ctx.write(ack, ctx.voidPromise());
                flushPending = true;
            }
        } else if (frame instanceof Frame.ResultAck a) {
            core.onResultAck(a.seq());
        } else {
            protocolError("unexpected " + FrameType.name(frame.type()) + " after WELCOME");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // ACKs of one read batch go out in one flush.
        if (flushPending) {
            flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            core.writePending(this);
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == Liveness.SERVER_SILENT) {
            abort(Reason.HEARTBEAT_TIMEOUT, new TimeoutException("nothing received from the server for "
                    + silenceTimeoutMillis + " ms"));
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
        // A ClosedChannelException without a cause only says a write met an already closed channel.
        boolean informative = !(t instanceof ClosedChannelException && t.getCause() == null);
        if (closing) {
            return;
        }
        SSLException tls = Tls.describeClientFailure(t, core.config.target());
        if (tls != null) {
            core.logTlsFailure(tls);
            t = tls;
        }
        if (informative && cause == null) {
            cause = t;
        }
        Reason reason = IoFailure.classify(t).reason();
        if (reason == Reason.PROTOCOL_ERROR || reason == Reason.FRAME_TOO_LARGE
                || reason == Reason.UNSUPPORTED_VERSION) {
            closeWithBye(reason, t);
        } else {
            closing = true;
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelHandshakeTimer();
        closing = true;
        Reason reason;
        if (bye != null) {
            reason = bye.reason();
        } else if (localReason != null) {
            reason = localReason;
        } else if (cause != null) {
            reason = IoFailure.classify(cause).reason();
        } else {
            reason = Reason.PEER_CLOSED;
        }
        core.onConnectionClosed(this, reason, bye == null ? cause : null,
                bye == null ? 0 : bye.reconnectAfterMillis());
        super.channelInactive(ctx);
    }

    /** The client is closing: say goodbye if there is a connection to say it on. */
    void closeByClient() {
        if (closing) {
            return;
        }
        closing = true;
        localReason = Reason.NORMAL;
        if (ctx == null || !channel.isActive()) {
            channel.close();
            return;
        }
        // BYE, then FIN (half-close), then read until the server's FIN (Netty closes the channel on
        // that EOF). Closing at once would risk an RST: Linux answers close() with RST when received
        // data is still unread, and discards the queued BYE with it.
        ctx.writeAndFlush(new Frame.Bye(Reason.NORMAL)).addListener(f -> {
            if (f.isSuccess() && channel instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                channel.close();
            }
        });
        long drainMillis = Math.min(GOODBYE_DRAIN_MILLIS, core.config.connectTimeout().toMillis());
        ctx.executor().schedule(() -> {
            channel.close();
        }, drainMillis, TimeUnit.MILLISECONDS);
    }

    private void protocolError(String message) {
        closeWithBye(Reason.PROTOCOL_ERROR, new ProtocolException(Reason.PROTOCOL_ERROR, message));
    }

    private void closeWithBye(Reason reason, Throwable why) {
        closing = true;
        localReason = reason;
        if (cause == null) {
            cause = why;
        }
        core.logProtocolError(reason, why);
        ctx.writeAndFlush(new Frame.Bye(reason), ctx.voidPromise());
        ctx.close();
    }

    /**
     * Closes with RST (SO_LINGER 0): the peer is presumed gone, and a graceful close would leave a
     * FIN retransmitting to nobody in FIN_WAIT1.
     */
    private void abort(Reason reason, Throwable why) {
        if (closing) {
            return;
        }
        closing = true;
        localReason = reason;
        cause = why;
        try {
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // Some transports refuse SO_LINGER on a half-dead socket; a graceful close still works.
        }
        ctx.close();
    }

    private void cancelHandshakeTimer() {
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
            handshakeTimer = null;
        }
    }
}
