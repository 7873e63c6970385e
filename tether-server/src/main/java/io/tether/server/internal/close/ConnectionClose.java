package io.tether.server.internal.close;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.internal.core.ServerContext;
import io.tether.server.internal.liveness.ConnectionLiveness;
import io.tether.transport.errno.IoFailure;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * How a connection ends. Each connection closes for exactly one {@link Reason}: the first one set
 * wins, and it is reported once, in one {@link SessionClosed} event.
 * <ul>
 * <li>graceful (timeouts, protocol errors, refusals with a reconnect hint, shutdown): BYE,
 *     half-close (shutdown write, so the device sees a FIN after the BYE), keep reading for the
 *     drain period and store any DATA that arrives, then an abortive close (RST) if the peer has
 *     not closed. Reading during the drain keeps the receive queue empty: a close with unread
 *     data sends RST at once, and a TCP stack that discards unread data on RST (lwIP) would lose
 *     the BYE. The RST at the end means no FIN_WAIT socket is orphaned for a dead peer;</li>
 * <li>abortive (takeover, slow consumer): BYE, then RST at once;</li>
 * <li>immediate (peer FIN, peer RST, I/O error): the peer is gone; close.</li>
 * </ul>
 */
public abstract class ConnectionClose extends ConnectionLiveness {
    private static final int BYE_TEXT_MAX = 200;

    protected Reason reason;
    protected IoFailure failure;
    /**
     * Free text for the close event. For {@link Reason#AUTH_FAILED} it holds only the
     * authenticator's verdict name, which the event carries as a field of its own (a field less
     * per connection than keeping both).
     */
    protected String detail;
    protected int drainedFrames;

    protected ConnectionClose(ServerContext server) {
        super(server);
    }

    /** Records why the connection closes, unless a reason was recorded already. */
    protected final void setReason(Reason r, IoFailure f, String why) {
        if (reason == null) {
            reason = r;
            failure = f;
            detail = why;
        }
    }

    @Override
    protected final void closeGracefully(Reason why, String text) {
        closeGracefully(why, text, why == Reason.SERVER_SHUTDOWN ? shutdownHintMillis() : 0);
    }

    /** BYE (with a reconnect hint, ms, 0 = none), half-close, drain, then RST if the peer is still there. */
    protected final void closeGracefully(Reason why, String text, int hintMillis) {
        if (state >= DRAINING) {
            return;
        }
        setReason(why, null, text);
        // What is already durable is acknowledged before the goodbye, so the device need not
        // resend it; what becomes durable during the drain is not (the output is shut by then).
        writeAck();
        enter(DRAINING);
        // A HELLO in flight or a full store may have stopped reading; the drain must read, to
        // keep what arrives and to see the device's FIN.
        reading(true);
        Channel ch = ctx.channel();
        // shutdownOutput fails writes still queued, so it must wait for the BYE to be written.
        ctx.writeAndFlush(encode(bye(why, hintMillis, text))).addListener((ChannelFutureListener) f -> {
            if (ch instanceof DuplexChannel duplex && ch.isActive()) {
                duplex.shutdownOutput();
            }
        });
        if (server.drainNanos == 0) {
            hardClose();
        } else {
            drainStarts();
        }
    }

    /** BYE, then RST at once. */
    protected final void abort(Reason why, String text) {
        if (state == CLOSED) {
            return;
        }
        setReason(why, null, text);
        boolean byeAllowed = state != DRAINING;
        enter(DRAINING);
        if (byeAllowed && ctx.channel().isWritable()) {
            ctx.writeAndFlush(encode(bye(why, 0, text))).addListener((ChannelFutureListener) f -> hardClose());
        } else {
            hardClose();
        }
    }

    @Override
    protected final void hardClose() {
        abortiveClose(ctx.channel());
    }

    /**
     * Closes with RST: SO_LINGER 0 frees the socket at once. The peer is presumed dead, so an
     * orderly FIN would leave a FIN_WAIT orphan in the kernel for minutes. Closes from the head of
     * the pipeline: past a TLS handler, whose own close would first flush a close_notify and wait
     * up to 3 s for a peer that does not read.
     */
    public static void abortiveClose(Channel ch) {
        if (ch.isOpen()) {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.pipeline().firstContext().close();
        }
    }

    /** A BYE frame; its text is informational and capped by the protocol, so it is cut, not refused. */
    public static Frame.Bye bye(Reason why, int hintMillis, String text) {
        String t = text == null ? "" : text;
        if (t.length() > BYE_TEXT_MAX) {
            t = t.substring(0, BYE_TEXT_MAX);
        }
        return new Frame.Bye(why, hintMillis, t);
    }

    /** A reconnect hint for "come back later": 1 to 10 s, jittered so devices do not return in a wave. */
    public static int busyHintMillis() {
        return 1_000 + ThreadLocalRandom.current().nextInt(9_000);
    }

    private int shutdownHintMillis() {
        long spread = server.config.shutdownReconnectSpread().toMillis();
        return (int) Math.min(Integer.MAX_VALUE, 1000 + (spread > 0 ? ThreadLocalRandom.current().nextLong(spread + 1) : 0));
    }

    /** The channel is gone: reports the close, once. The caller has released admission and registry. */
    protected final void reportClosed() {
        if (reason == null) {
            // Read returned EOF: the peer sent FIN. Netty closes at once (half-closure is off),
            // so the socket never lingers in CLOSE_WAIT.
            reason = Reason.PEER_CLOSED;
        }
        boolean authFailed = reason == Reason.AUTH_FAILED;
        String text = authFailed ? "authentication failed for '" + deviceId + "': " + detail : detail;
        long session = epoch;
        server.fireClose(new SessionClosed(server.clock.millis(), session != 0 ? deviceId : null, session, remote(),
                reason, failure != null ? failure.errnoName() : null, failure != null ? failure.errnoNumber() : 0,
                text, TimeUnit.NANOSECONDS.toMillis(nanoTime() - acceptedNanos), lateMillis, drainedFrames,
                deviceId, authFailed ? detail : null,
                Integer.toUnsignedLong(messagesIn), bytesIn, Integer.toUnsignedLong(messagesOut), bytesOut));
    }
}
