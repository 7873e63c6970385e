package io.tether.transport;

import io.netty.util.concurrent.EventExecutor;

/**
 * One deadline, re-armed lazily, in the manner of Netty's {@code IdleStateHandler}. It knows
 * nothing of protocols: the subclass says when the deadline is ({@link #deadlineNanos()}) and what
 * a missed one means ({@link #expired}).
 *
 * <p>Moving the deadline later costs nothing here: the subclass only stores a timestamp (the time
 * of the last frame, say) that {@link #deadlineNanos()} reads; no timer is touched. When the armed
 * timer fires early, it finds time left and re-arms itself for the rest. Only a deadline moved
 * <em>earlier</em> than the armed timer ({@link #arm()}) moves the timer. So a connection that
 * receives a frame every second costs one timer wake-up per timeout, not one timer operation per
 * frame, and there is never a periodic scan over connections.
 *
 * <p>The timers of one event loop live in its {@link DeadlineWheel}, not in the loop's scheduler:
 * arming, re-arming and cancelling are O(1) and allocate nothing, and a deadline fires exactly
 * when it is due (never earlier; as late as the loop's scheduler would run a task of its own).
 *
 * <p>An abstract class, not a helper object: the owner (a connection, of which a gateway holds
 * hundreds of thousands) extends it, and pays two fields (its node in the wheel and the wheel)
 * and no extra object. Time comes from the executor's
 * {@linkplain EventExecutor#ticker() ticker}, so tests drive it with a mock ticker
 * ({@code EmbeddedChannel}'s {@code freezeTime()}/{@code advanceTimeBy()}).
 *
 * <p>Not thread-safe: every method, and the timer, runs on {@link #executor()}, which must always
 * be the same event loop.
 */
public abstract class Deadline {
    /** {@link #deadlineNanos()} when there is no deadline now. */
    public static final long NONE = Long.MAX_VALUE;

    /** Its node in the wheel while armed ({@link DeadlineWheel}'s arrays), else -1. */
    int node = -1;
    /** The wheel of {@link #executor()}, looked up at the first arming. */
    DeadlineWheel wheel;

    /** The event loop that runs the timer and every call. */
    protected abstract EventExecutor executor();

    /**
     * The current deadline, in the executor's ticker nanoseconds, or {@link #NONE}. Read when the
     * timer fires and on {@link #arm()}; cheap and side-effect free.
     */
    protected abstract long deadlineNanos();

    /**
     * The deadline passed. Called once per arming, on the executor; the timer is no longer armed
     * (call {@link #arm()} to watch a new deadline).
     *
     * @param nowNanos      the ticker's time now
     * @param deadlineNanos the deadline that passed; {@code nowNanos - deadlineNanos} is how late
     *                      the detection is
     */
    protected abstract void expired(long nowNanos, long deadlineNanos);

    /** The executor's ticker time, in nanoseconds. */
    protected final long nanoTime() {
        return executor().ticker().nanoTime();
    }

    /**
     * Makes sure the timer fires no later than the current {@link #deadlineNanos()}. O(1) and
     * free when the armed timer is due no later (the common case: a deadline only moved later).
     * With {@link #NONE}, leaves an armed timer alone; it fires, finds no deadline, and stops.
     */
    public final void arm() {
        long deadline = deadlineNanos();
        if (deadline == NONE) {
            return;
        }
        DeadlineWheel w = wheel;
        if (w == null) {
            wheel = w = DeadlineWheel.of(executor());
        }
        w.arm(this, deadline);
    }

    /** Cancels the armed timer, if any. {@link #arm()} starts watching again. */
    public final void cancel() {
        if (node >= 0) {
            wheel.cancel(this);
        }
    }

    /** Whether a timer is armed. */
    public final boolean armed() {
        return node >= 0 && wheel.linked(node);
    }

    /**
     * The armed timer is due: re-arms for the rest if the deadline moved later, else reports it.
     * The wheel has disarmed the timer's node (kept for a re-arm now) and frees it if neither
     * happens.
     */
    final void fire(long nowNanos, DeadlineWheel w) {
        long deadline = deadlineNanos();
        if (deadline == NONE) {
            return;
        }
        if (nowNanos - deadline < 0) {
            w.arm(this, deadline);
            return;
        }
        expired(nowNanos, deadline);
    }
}
