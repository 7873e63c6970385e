package io.tether.server.internal.connection;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslClosedEngineException;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.FrameType;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;
import io.tether.server.ConnectionInfo;
import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import io.tether.server.SessionRegistry;
import io.tether.server.internal.admission.Admission;
import io.tether.server.Authenticator;
import io.tether.server.AppendResult;
import io.tether.transport.errno.IoFailure;
import io.tether.server.Session;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * One device connection, from TCP accept to close: handshake, liveness deadline, delivery of
 * uplink DATA to the store, and the close procedure. All state is touched only on the channel's
 * event loop, except {@link #epoch} and {@link #state}, which other threads read.
 *
 * <h2>Deadlines</h2>
 * A connection has exactly one deadline at a time, which depends on its state: the handshake
 * deadline (accept + handshake timeout), then the heartbeat deadline (last complete inbound frame
 * + interval x multiplier), then, once a graceful close has begun, the end of the drain. One timer
 * is armed per connection and re-armed lazily, as Netty's IdleStateHandler does: a frame only
 * stores a timestamp (O(1), no timer operation), and when the timer fires early because frames
 * arrived, it re-arms itself for the remaining time. There is no periodic scan over sessions.
 *
 * <h2>Closing</h2>
 * Each connection closes for exactly one {@link Reason}: the first one set wins.
 * <ul>
 * <li>graceful (timeouts, protocol errors, shutdown): BYE, half-close (shutdown write), keep
 * reading for the drain period and store any DATA that arrives, then an abortive close (RST) if
 * the peer has not closed, so no FIN_WAIT socket is orphaned for a dead peer;</li>
 * <li>abortive (takeover, slow consumer): BYE, then RST at once;</li>
 * <li>immediate (peer FIN, peer RST, I/O error): the peer is gone; close.</li>
 * </ul>
 */
public final class ConnectionHandler extends ChannelInboundHandlerAdapter implements Session, Runnable, Admission.FlapHolder {
    private static final byte HANDSHAKE = 0;
    private static final byte OPEN = 1;
    private static final byte DRAINING = 2;
    private static final byte CLOSED = 3;
    private static final long NO_DEADLINE = Long.MAX_VALUE;
    private static final AtomicLongFieldUpdater<ConnectionHandler> DURABLE =
            AtomicLongFieldUpdater.newUpdater(ConnectionHandler.class, "durableSeq");
    private static final AtomicIntegerFieldUpdater<ConnectionHandler> ACK_PENDING =
            AtomicIntegerFieldUpdater.newUpdater(ConnectionHandler.class, "ackPending");

    private final ServerContext server;
    private ChannelHandlerContext ctx;
    private volatile byte state = HANDSHAKE;
    private boolean inRead;

    private long acceptedNanos;
    private long lastFrameNanos;
    private long timeoutNanos;
    private long drainEndNanos;
    private ScheduledFuture<?> timer;
    private long timerDueNanos;

    private String deviceId;
    private volatile long epoch;
    private long ackedSeq;
    private long ackDue;
    private long downlinkSeq;
    /** Highest seq a store on another thread has made durable; folded into one ACK per hop. */
    private volatile long durableSeq;
    private volatile int ackPending;

    private Reason reason;
    private IoFailure failure;
    private String detail;
    // float, not double: 4 bytes less on an object there is one of per device (8-byte aligned).
    // Microsecond resolution up to hours is plenty.
    private float lateMillis = -1;
    private int drainedFrames;
    // The device's flapping count while it is connected (Admission keeps it only for devices
    // that are not). Written once, before the session is published in the registry.
    private long flapWindowStart;
    private int flapConnects;

    public ConnectionHandler(ServerContext server) {
        this.server = server;
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        acceptedNanos = now();
        lastFrameNanos = acceptedNanos;
        arm(acceptedNanos + server.handshakeTimeoutNanos);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state == CLOSED) {
            return;
        }
        state = CLOSED;
        cancelTimer();
        server.admission.closed();
        if (reason == null) {
            // Read returned EOF: the peer sent FIN. Netty closes at once (half-closure is off),
            // so the socket never lingers in CLOSE_WAIT.
            reason = Reason.PEER_CLOSED;
        }
        if (deviceId != null) {
            // Before the release: a device is always either registered or counted there.
            server.admission.deviceDisconnected(deviceId, this, now());
            server.registry.release(deviceId, epoch);
        }
        server.fireClose(new SessionClosed(server.clock.millis(), deviceId, epoch, remote(), reason,
                failure != null ? failure.errnoName() : null, failure != null ? failure.errnoNumber() : 0,
                detail, TimeUnit.NANOSECONDS.toMillis(now() - acceptedNanos), lateMillis, drainedFrames));
        ctx.fireChannelInactive();
    }

    // ---- inbound ---------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        inRead = true;
        Frame frame = (Frame) msg;
        // Any complete frame is a sign of life; a frame dribbled in byte by byte is not complete
        // until its last byte, so it cannot hold a deadline off.
        lastFrameNanos = now();
        switch (state) {
            case HANDSHAKE:
                if (frame instanceof Frame.Hello hello) {
                    handshake(hello);
                } else {
                    closeGracefully(Reason.PROTOCOL_ERROR,
                            "first frame must be HELLO, got " + FrameType.name(frame.type()));
                }
                break;
            case OPEN:
                onSessionFrame(frame);
                break;
            case DRAINING:
                // Output is shut; keep what arrives, answer nothing. The device resends what it
                // did not see acknowledged, and the store drops the duplicates.
                // Only a session keeps data: a connection that never authenticated stores nothing.
                if (frame instanceof Frame.Data data && deviceId != null) {
                    drainedFrames++;
                    append(data);
                }
                break;
            default:
                break;
        }
    }

    private void onSessionFrame(Frame frame) {
        if (frame instanceof Frame.Data data) {
            append(data);
        } else if (frame instanceof Frame.Ping) {
            if (!server.config.quiet()) {
                ctx.write(encode(Frame.Pong.INSTANCE), ctx.voidPromise());
            }
        } else if (frame instanceof Frame.Ack) {
            // Downlink acknowledgement. Downlink is best effort in this version: nothing to release.
        } else if (frame instanceof Frame.Bye bye) {
            setReason(Reason.NORMAL, null, bye.text().isEmpty() ? "device said BYE " + bye.reason() : bye.text());
            ctx.close();
        } else {
            closeGracefully(Reason.PROTOCOL_ERROR, FrameType.name(frame.type()) + " not allowed after the handshake");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inRead = false;
        writeAck();
        ctx.flush();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (t instanceof ProtocolException pe) {
            closeGracefully(pe.reason(), pe.getMessage());
            return;
        }
        if (t instanceof SSLException && !(t instanceof SslClosedEngineException)) {
            // TLS failed: a plaintext client or a scanner on the TLS port (the exception's
            // message would put the client's bytes, credentials included, in the event log), or
            // a handshake one side refused. SslHandler has closed the connection already.
            setReason(Reason.PROTOCOL_ERROR, null, t instanceof NotSslRecordException
                    ? "not TLS (plaintext or another protocol on the TLS port)" : "TLS: " + t.getMessage());
            ctx.close();
            return;
        }
        if (!(t instanceof java.io.IOException)) {
            // Not the network, not the peer's bytes: a bug of ours (or of a listener or store).
            // Close this one connection, and make it loud.
            server.internalError(t);
            setReason(Reason.IO_ERROR, null, "internal error: " + t);
            ctx.close();
            return;
        }
        IoFailure f = IoFailure.classify(t);
        setReason(f.reason(), f, f.errno() == null ? String.valueOf(t) : null);
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // The write buffer passed its high-water mark: the device is not reading. Queuing more
        // would grow the heap without bound, so the connection goes.
        if (!ctx.channel().isWritable() && state == OPEN) {
            abort(Reason.SLOW_CONSUMER, "write buffer above " + server.config.writeBufferLimit() + " bytes");
        }
        ctx.fireChannelWritabilityChanged();
    }

    // ---- handshake -------------------------------------------------------------------------

    private void handshake(Frame.Hello hello) {
        Authenticator.Verdict verdict = server.authenticator.check(hello.deviceId(), hello.credential(), server.clock.millis());
        if (verdict != Authenticator.Verdict.OK) {
            // No session, no takeover, no store write. The BYE does not say why: that would help
            // whoever is guessing. The event log does.
            server.authFailed(verdict);
            closeGracefully(Reason.AUTH_FAILED, null);
            detail = "authentication failed for '" + hello.deviceId() + "': " + verdict;
            return;
        }
        Session registered = server.registry.lookup(hello.deviceId());
        long banNanos = server.admission.deviceConnect(hello.deviceId(), now(),
                registered instanceof Admission.FlapHolder h ? h : null, this);
        if (banNanos > 0) {
            // Authenticated, but reconnecting too often (a reboot loop, the source's case 3 at
            // scale): refused until the ban ends, and told when that is.
            closeGracefully(Reason.FLAPPING, null, (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(banNanos)));
            detail = "device '" + hello.deviceId() + "' connects too often; refused for "
                    + TimeUnit.NANOSECONDS.toMillis(banNanos) + " ms";
            return;
        }
        int heartbeatMillis = server.config.grantHeartbeatMillis(hello.heartbeatMillis());
        int timeoutMillis = heartbeatMillis == 0 ? 0 : server.config.timeoutMillis(heartbeatMillis);
        deviceId = hello.deviceId();
        // Interim: LocalSessionRegistry completes at once. The asynchronous handshake replaces this.
        SessionRegistry.Claim claim = server.registry.claim(deviceId, this).toCompletableFuture().join();
        Session displaced = claim.previous();
        if (displaced != null) {
            displaced.kick(Reason.TAKEN_OVER);
        }
        boolean resumed = hello.resumeSession() != 0 && displaced != null && displaced.epoch() == hello.resumeSession();
        long lastSeq = server.store.lastSeq(deviceId);
        int flags = (server.config.quiet() ? Frame.Welcome.FLAG_QUIET : 0) | (resumed ? Frame.Welcome.FLAG_RESUMED : 0);
        state = OPEN;
        timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        ctx.write(encode(new Frame.Welcome(epoch, heartbeatMillis, timeoutMillis, lastSeq, server.config.maxFrameLength(), flags)),
                ctx.voidPromise());
        // The device's first deadline runs from WELCOME (docs/PROTOCOL.md 6.2): time spent here
        // on authentication, registry and store must not eat into its tolerance.
        lastFrameNanos = now();
        if (timeoutNanos == 0) {
            cancelTimer();
        } else {
            arm(lastFrameNanos + timeoutNanos);
        }
        server.fireOpen(new SessionOpened(server.clock.millis(), deviceId, epoch, remote(), heartbeatMillis,
                timeoutMillis, lastSeq, displaced != null, resumed));
    }

    // ---- delivery --------------------------------------------------------------------------

    private void append(Frame.Data data) {
        long seq = data.seq();
        server.store.append(deviceId, seq, data.payload(), server.clock.millis(), (result, error) -> {
            EventExecutor executor = ctx.executor();
            if (executor.inEventLoop()) {
                onAppended(seq, result, error);
            } else if (error != null || result == AppendResult.STORED_AFTER_GAP) {
                executor.execute(() -> onAppended(seq, result, error));
            } else {
                // A group-committing store completes many appends per sync from its own thread:
                // record the highest durable seq and hop to the event loop once, not per message.
                long current;
                do {
                    current = durableSeq;
                } while (seq > current && !DURABLE.compareAndSet(this, current, seq));
                if (ACK_PENDING.compareAndSet(this, 0, 1)) {
                    executor.execute(this::ackDurable);
                }
            }
        });
    }

    private void ackDurable() {
        ACK_PENDING.set(this, 0);
        acknowledge(durableSeq);
    }

    private void onAppended(long seq, AppendResult result, Throwable error) {
        if (error != null) {
            // Not stored, so it must not be acknowledged; the device will resend it.
            IoFailure f = IoFailure.classify(error);
            setReason(Reason.IO_ERROR, f, "store failed: " + error);
            ctx.close();
            return;
        }
        if (result == AppendResult.STORED_AFTER_GAP) {
            server.fireGap(deviceId, epoch, seq);
        }
        acknowledge(seq);
    }

    /**
     * Cumulative: one ACK covers every seq up to {@code seq}. Inside a read batch the ACK is only
     * noted, and one ACK for the whole batch is written when the batch ends. Nothing is answered
     * while draining.
     */
    private void acknowledge(long seq) {
        if (seq > ackDue) {
            ackDue = seq;
        }
        if (!inRead) {
            writeAck();
            ctx.flush();
        }
    }

    private void writeAck() {
        if (state == OPEN && ackDue > ackedSeq) {
            ackedSeq = ackDue;
            ctx.write(encode(new Frame.Ack(ackedSeq)), ctx.voidPromise());
        }
    }

    // ---- Admission.FlapHolder ------------------------------------------------------------------

    @Override
    public long flapWindowStart() {
        return flapWindowStart;
    }

    @Override
    public int flapConnects() {
        return flapConnects;
    }

    @Override
    public void flapState(long windowStart, int connects) {
        flapWindowStart = windowStart;
        flapConnects = connects;
    }

    // ---- Session (called from any thread) ----------------------------------------------------

    @Override
    public String deviceId() {
        return deviceId;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    @Override
    public void assignEpoch(long e) {
        epoch = e;
    }

    @Override
    public String remote() {
        return hostPort(ctx.channel().remoteAddress());
    }

    /** An address as host:port, the way the event log writes it. */
    static String hostPort(SocketAddress a) {
        if (a instanceof InetSocketAddress isa) {
            return isa.getAddress().getHostAddress() + ":" + isa.getPort();
        }
        return String.valueOf(a);
    }

    @Override
    public void kick(Reason why) {
        // Always queued, even from the same event loop: the caller is usually in the middle of
        // another connection's handshake, and the kick must not run inside it.
        ctx.executor().execute(() -> doKick(why));
    }

    private void doKick(Reason why) {
        if (why == Reason.TAKEN_OVER || why == Reason.SLOW_CONSUMER) {
            abort(why, null);
        } else {
            closeGracefully(why, null);
        }
    }

    @Override
    public boolean send(byte[] payload) {
        if (state != OPEN) {
            return false;
        }
        ctx.executor().execute(() -> {
            if (state == OPEN) {
                ctx.writeAndFlush(encode(new Frame.Data(++downlinkSeq, payload)), ctx.voidPromise());
            }
        });
        return true;
    }

    /** This connection as an audit sees it. Callable from any thread. */
    public ConnectionInfo info() {
        byte s = state;
        String name = s == HANDSHAKE ? "HANDSHAKE" : s == OPEN ? "OPEN" : s == DRAINING ? "DRAINING" : "CLOSED";
        SocketAddress a = ctx.channel().remoteAddress();
        return new ConnectionInfo(a instanceof InetSocketAddress isa ? isa : null,
                s == HANDSHAKE ? null : deviceId, s == HANDSHAKE ? 0 : epoch, name);
    }

    /** The channel this handler serves. */
    public Channel channel() {
        return ctx.channel();
    }

    // ---- closing ---------------------------------------------------------------------------

    private void setReason(Reason r, IoFailure f, String why) {
        if (reason == null) {
            reason = r;
            failure = f;
            detail = why;
        }
    }

    /** BYE, half-close, drain, then RST if the peer is still there. */
    void closeGracefully(Reason why, String text) {
        closeGracefully(why, text, why == Reason.SERVER_SHUTDOWN ? shutdownHintMillis() : 0);
    }

    private void closeGracefully(Reason why, String text, int hint) {
        if (state >= DRAINING) {
            return;
        }
        setReason(why, null, text);
        // What is already durable is acknowledged before the goodbye, so the device need not
        // resend it; what becomes durable during the drain is not (the output is shut by then).
        writeAck();
        state = DRAINING;
        long now = now();
        drainEndNanos = now + server.drainNanos;
        Channel ch = ctx.channel();
        // shutdownOutput fails writes still queued, so it must wait for the BYE to be written.
        ctx.writeAndFlush(encode(bye(why, hint, text))).addListener((ChannelFutureListener) f -> {
            if (ch instanceof DuplexChannel duplex && ch.isActive()) {
                duplex.shutdownOutput();
            }
        });
        if (server.drainNanos == 0) {
            hardClose();
        } else {
            arm(drainEndNanos);
        }
    }

    /** BYE, then RST at once. */
    private void abort(Reason why, String text) {
        if (state == CLOSED) {
            return;
        }
        setReason(why, null, text);
        boolean byeAllowed = state != DRAINING;
        state = DRAINING;
        if (byeAllowed && ctx.channel().isWritable()) {
            ctx.writeAndFlush(encode(bye(why, 0, text))).addListener((ChannelFutureListener) f -> hardClose());
        } else {
            hardClose();
        }
    }

    /**
     * Frames are encoded here rather than by an encoder handler: one handler context less per
     * connection (64 bytes of heap, multiplied by every device).
     */
    private ByteBuf encode(Frame frame) {
        ByteBuf buf = ctx.alloc().ioBuffer(FrameCodec.encodedLength(frame));
        FrameCodec.encode(frame, buf);
        return buf;
    }

    private static Frame.Bye bye(Reason why, int hint, String text) {
        String t = text == null ? "" : text;
        // BYE text is informational and capped by the protocol; cut it rather than fail the close.
        if (t.length() > 200) {
            t = t.substring(0, 200);
        }
        return new Frame.Bye(why, hint, t);
    }

    private void hardClose() {
        Channel ch = ctx.channel();
        if (ch.isOpen()) {
            // SO_LINGER 0: close sends RST and frees the socket at once. The peer is presumed
            // dead, so an orderly FIN would leave a FIN_WAIT orphan in the kernel for minutes.
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            // From the head of the pipeline: past a TLS handler, whose own close would first
            // flush a close_notify and wait up to 3 s for a peer that does not read.
            ch.pipeline().firstContext().close();
        }
    }

    private int shutdownHintMillis() {
        long spread = server.config.shutdownReconnectSpread().toMillis();
        return (int) Math.min(Integer.MAX_VALUE, 1000 + (spread > 0 ? ThreadLocalRandom.current().nextLong(spread + 1) : 0));
    }

    // ---- the one timer ---------------------------------------------------------------------

    private long now() {
        return ctx.executor().ticker().nanoTime();
    }

    private long currentDeadline() {
        switch (state) {
            case HANDSHAKE:
                return acceptedNanos + server.handshakeTimeoutNanos;
            case OPEN:
                return timeoutNanos == 0 ? NO_DEADLINE : lastFrameNanos + timeoutNanos;
            case DRAINING:
                return drainEndNanos;
            default:
                return NO_DEADLINE;
        }
    }

    /** Makes sure the timer fires no later than {@code deadline}. */
    private void arm(long deadline) {
        if (timer != null) {
            if (timerDueNanos <= deadline) {
                return; // fires early, finds time left, re-arms itself
            }
            timer.cancel(false);
        }
        timerDueNanos = deadline;
        timer = ctx.executor().schedule(this, Math.max(0, deadline - now()), TimeUnit.NANOSECONDS);
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The timer fired. Not for callers. */
    @Override
    public void run() {
        timer = null;
        long deadline = currentDeadline();
        if (deadline == NO_DEADLINE) {
            return;
        }
        long now = now();
        if (now < deadline) {
            arm(deadline);
            return;
        }
        switch (state) {
            case HANDSHAKE:
                lateMillis = (float) ((now - deadline) / 1e6);
                closeGracefully(Reason.HANDSHAKE_TIMEOUT, "no HELLO within " + server.config.handshakeTimeout().toMillis() + " ms");
                break;
            case OPEN:
                lateMillis = (float) ((now - deadline) / 1e6);
                closeGracefully(Reason.HEARTBEAT_TIMEOUT, "nothing received for " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
                break;
            case DRAINING:
                hardClose();
                break;
            default:
                break;
        }
    }
}
