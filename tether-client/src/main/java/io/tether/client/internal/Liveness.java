package io.tether.client.internal;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.EventExecutor;
import io.tether.protocol.Frame;
import io.tether.transport.Deadline;


/**
 * Heartbeat and dead-server detection for one connection, in the manner of Netty's
 * {@code IdleStateHandler}: each direction has one {@link Deadline} (the same primitive as the
 * gateway's connections), re-armed lazily, so a busy connection costs a timestamp per frame and
 * one timer wake-up per interval, never a periodic scan.
 *
 * <ul>
 *   <li>Write side: a PING goes out when nothing at all was written for the ping interval (any
 *       outbound frame counts).</li>
 *   <li>Read side: when nothing at all was received for the silence timeout (PONG, ACK, DATA, BYE
 *       all count), {@link #SERVER_SILENT} is fired as a user event; the connection handler closes
 *       the channel.</li>
 * </ul>
 *
 * <p>Inactive until {@link #start} (called once the handshake is done). Time comes from the event
 * loop's ticker, so tests can freeze and advance it. Must sit between the frame encoder and the
 * connection handler, so that it sees every frame in both directions. Not sharable; event loop only.
 */
public final class Liveness extends ChannelDuplexHandler {

    /** User event: nothing was received for the silence timeout. */
    public static final Object SERVER_SILENT = new Object() {
        @Override
        public String toString() {
            return "SERVER_SILENT";
        }
    };

    private final Runnable onPingSent;
    private final Deadline pingDue = new Side() {
        @Override
        protected long deadlineNanos() {
            return stopped || pingIntervalNanos == 0 ? NONE : lastWriteNanos + pingIntervalNanos;
        }

        @Override
        protected void expired(long nowNanos, long deadlineNanos) {
            // Written from this context, so it bypasses our own write(): stamp it here.
            lastWriteNanos = nowNanos;
            ctx.writeAndFlush(Frame.Ping.INSTANCE, ctx.voidPromise());
            onPingSent.run();
            arm();
        }
    };
    private final Deadline silenceDue = new Side() {
        @Override
        protected long deadlineNanos() {
            return stopped || silenceTimeoutNanos == 0 ? NONE : lastReadNanos + silenceTimeoutNanos;
        }

        @Override
        protected void expired(long nowNanos, long deadlineNanos) {
            stop();
            ctx.fireUserEventTriggered(SERVER_SILENT);
        }
    };
    private ChannelHandlerContext ctx;
    private long pingIntervalNanos;
    private long silenceTimeoutNanos;
    private long lastReadNanos;
    private long lastWriteNanos;
    private boolean stopped;

    /** @param onPingSent called on the event loop after each PING is written (for statistics) */
    public Liveness(Runnable onPingSent) {
        this.onPingSent = onPingSent;
    }

    /**
     * Starts both deadlines. Both idle clocks start now.
     *
     * @param pingIntervalNanos   write silence before a PING; 0 = never ping
     * @param silenceTimeoutNanos read silence before {@link #SERVER_SILENT}; 0 = never
     */
    public void start(long pingIntervalNanos, long silenceTimeoutNanos) {
        if (ctx == null || stopped) {
            return;
        }
        this.pingIntervalNanos = pingIntervalNanos;
        this.silenceTimeoutNanos = silenceTimeoutNanos;
        long now = now();
        lastReadNanos = now;
        lastWriteNanos = now;
        pingDue.arm();
        silenceDue.arm();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        lastReadNanos = now();
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        lastWriteNanos = now();
        ctx.write(msg, promise);
    }

    private void stop() {
        stopped = true;
        pingDue.cancel();
        silenceDue.cancel();
    }

    /** One direction's deadline, on this connection's event loop. */
    private abstract class Side extends Deadline {
        @Override
        protected EventExecutor executor() {
            return ctx.executor();
        }
    }

    private long now() {
        return ctx.executor().ticker().nanoTime();
    }
}
