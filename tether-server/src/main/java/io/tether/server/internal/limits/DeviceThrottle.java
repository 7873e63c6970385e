package io.tether.server.internal.limits;

import io.micrometer.core.instrument.Counter;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.util.AttributeKey;
import io.tether.server.DeviceLimits;
import io.tether.transport.Transport;

import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Per-device limits ({@link DeviceLimits}) applied to a session's channel: uplink rates by
 * back-pressure, and the close of a device whose outbound side has stalled. One instance per
 * server, sharable; the per-session state lives in a channel attribute created on the first
 * message that needs it, so an idle session costs nothing here (the connection object is kept
 * small on purpose: there is one per device). Everything runs on the channel's event loop.
 *
 * <p>Rates use GCRA, the token bucket written as one "theoretical arrival time" per limit: each
 * message pushes it forward by its cost (1/rate s per message, bytes/rate s per byte); once it
 * runs more than the burst (one second) ahead of now, the channel stops reading (auto-read off)
 * until it is back within the burst. The message that crossed the line is kept: throttling only
 * decides when to read the next ones, so nothing is lost and the device is slowed by TCP.
 *
 * <p>A stall is only suspected once Netty itself holds bytes for the channel after a flush. Left
 * alone, the kernel would first take megabytes (send-buffer autotuning reaches tcp_wmem's 4 MiB),
 * which at ~14 bytes per cumulative ACK a device that never reads takes hours to fill; so on
 * epoll device sockets get TCP_NOTSENT_LOWAT ({@link #NOTSENT_LOWAT}): the kernel takes no more
 * once that many bytes wait unsent, and the rest waits in Netty, where it is seen. The session
 * has stalled if, one timeout later, Netty still holds at least as many bytes: nothing drained,
 * on balance. (The kernel's own "last data sent" is no proof: a receiver whose buffer is full of
 * tiny ACK segments collapses them and reopens its window by a few bytes for many seconds.)
 */
public final class DeviceThrottle {
    /** The bucket holds one second's worth of each rate. */
    static final long BURST_NANOS = TimeUnit.SECONDS.toNanos(1);

    /**
     * Unsent bytes the kernel holds per device socket before writes wait in Netty: 16 KiB, well
     * above a burst of ACKs and downlink messages, well below what autotuning would allow.
     */
    static final long NOTSENT_LOWAT = 16 * 1024;

    private static final AttributeKey<State> STATE = AttributeKey.valueOf(DeviceThrottle.class, "state");

    private final long nanosPerMessage;
    private final double nanosPerByte;
    private final long stallNanos;

    private final Counter paused;

    /** @param paused counts each time a device's reading is paused for a rate */
    public DeviceThrottle(DeviceLimits limits, Counter paused) {
        this.paused = paused;
        this.nanosPerMessage = limits.messageRate() == 0 ? 0 : TimeUnit.SECONDS.toNanos(1) / limits.messageRate();
        this.nanosPerByte = limits.byteRate() == 0 ? 0 : 1e9 / limits.byteRate();
        this.stallNanos = limits.writeStallTimeout().toNanos();
    }

    /**
     * Sets TCP_NOTSENT_LOWAT through {@code accepted} (the setter of the device sockets' options,
     * {@link Transport#acceptedSocketOptions}), where the transport has it (epoll) and the
     * write-stall close is on.
     */
    public static void applyTo(BiConsumer<ChannelOption<?>, Object> accepted, Transport transport, DeviceLimits limits) {
        if (transport == Transport.EPOLL && !limits.writeStallTimeout().isZero()) {
            accepted.accept(EpollChannelOption.TCP_NOTSENT_LOWAT, NOTSENT_LOWAT);
        }
    }

    /** Per-session state; absent until a session needs it. */
    static final class State {
        long messageTat;
        long byteTat;
        boolean resumeScheduled;
        boolean stallArmed;
        /** Bytes Netty held when the current stall period began. */
        long stallPending;
    }

    /**
     * How long reading must pause after a message, given the limits' arrival times; 0 = none. Pure.
     */
    static long pauseNanos(long nowNanos, long messageTat, long byteTat) {
        return Math.max(0, Math.max(messageTat, byteTat) - BURST_NANOS - nowNanos);
    }

    /** A GCRA step: the arrival time after a message costing {@code costNanos}. Pure. */
    static long charge(long tat, long nowNanos, long costNanos) {
        return (tat - nowNanos > 0 ? tat : nowNanos) + costNanos;
    }

    /** What the throttle asks of the session it limits. Called on the channel's event loop. */
    public interface Session {
        /**
         * Whether reading may be turned back on once the bucket has refilled: the session is
         * still open and the store applies no back-pressure of its own (which resumes reading
         * itself when it is ready).
         */
        boolean mayResumeReading();

        /** The outbound side stalled for the timeout: close as SLOW_CONSUMER with this text. */
        void writeStalled(String why);
    }

    /**
     * Accounts one uplink DATA of {@code payloadBytes}; if the device is over a limit, stops
     * reading its channel until it is back within the burst.
     */
    public void onData(ChannelHandlerContext ctx, int payloadBytes, Session session) {
        if (nanosPerMessage == 0 && nanosPerByte == 0) {
            return;
        }
        Channel ch = ctx.channel();
        long now = ctx.executor().ticker().nanoTime();
        State s = state(ch, now);
        if (nanosPerMessage != 0) {
            s.messageTat = charge(s.messageTat, now, nanosPerMessage);
        }
        if (nanosPerByte != 0) {
            s.byteTat = charge(s.byteTat, now, (long) (payloadBytes * nanosPerByte));
        }
        long pause = pauseNanos(now, s.messageTat, s.byteTat);
        if (pause == 0) {
            return;
        }
        // Also when a resume is pending: the store's back-pressure may have turned reading on.
        ch.config().setAutoRead(false);
        if (!s.resumeScheduled) {
            paused.increment();
            s.resumeScheduled = true;
            ctx.executor().schedule(() -> resume(ctx, s, session), pause, TimeUnit.NANOSECONDS);
        }
    }

    private void resume(ChannelHandlerContext ctx, State s, Session session) {
        Channel ch = ctx.channel();
        long pause = pauseNanos(ctx.executor().ticker().nanoTime(), s.messageTat, s.byteTat);
        if (pause > 0 && ch.isActive()) {
            // Messages read after the pause began (a batch already decoded) pushed it further.
            ctx.executor().schedule(() -> resume(ctx, s, session), pause, TimeUnit.NANOSECONDS);
            return;
        }
        s.resumeScheduled = false;
        if (ch.isActive() && session.mayResumeReading()) {
            ch.config().setAutoRead(true);
        }
    }

    /** Whether a resume is pending: reading is off because of a rate, not because of the store. */
    public boolean throttled(Channel ch) {
        State s = ch.attr(STATE).get();
        return s != null && s.resumeScheduled;
    }

    /**
     * Called after a flush: if bytes stayed queued (the kernel's send buffer is full), watches
     * them, and calls {@code stalled} with a description if they do not move for the timeout.
     */
    public void afterFlush(ChannelHandlerContext ctx, Session session) {
        if (stallNanos == 0) {
            return;
        }
        Channel ch = ctx.channel();
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        if (out == null || out.totalPendingWriteBytes() == 0) {
            return;
        }
        State s = state(ch, ctx.executor().ticker().nanoTime());
        if (s.stallArmed) {
            return;
        }
        s.stallArmed = true;
        s.stallPending = out.totalPendingWriteBytes();
        ctx.executor().schedule(() -> checkStall(ctx, s, session), stallNanos, TimeUnit.NANOSECONDS);
    }

    private void checkStall(ChannelHandlerContext ctx, State s, Session session) {
        Channel ch = ctx.channel();
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        long pending = out == null ? 0 : out.totalPendingWriteBytes();
        if (!ch.isActive() || pending == 0) {
            s.stallArmed = false;
            return;
        }
        if (pending >= s.stallPending) {
            session.writeStalled("not reading: " + pending + " bytes wait to be sent to it beyond the kernel's buffer,"
                    + " none drained in " + TimeUnit.NANOSECONDS.toMillis(stallNanos) + " ms (write-stall-timeout)");
            return;
        }
        // Draining, if slowly: judge the next period from here.
        s.stallPending = pending;
        ctx.executor().schedule(() -> checkStall(ctx, s, session), stallNanos, TimeUnit.NANOSECONDS);
    }

    /** The channel's state, created with full buckets ({@code nowNanos}) on first use. */
    private static State state(Channel ch, long nowNanos) {
        State s = ch.attr(STATE).get();
        if (s == null) {
            s = new State();
            s.messageTat = nowNanos;
            s.byteTat = nowNanos;
            ch.attr(STATE).set(s);
        }
        return s;
    }
}
