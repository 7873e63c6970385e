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
 * hundreds of thousands) extends it, and pays three fields (its two links in the wheel and when
 * its timer is due) and no extra object. Time comes from the executor's
 * {@linkplain EventExecutor#ticker() ticker}, so tests drive it with a mock ticker
 * ({@code EmbeddedChannel}'s {@code freezeTime()}/{@code advanceTimeBy()}).
 *
 * <p>Not thread-safe: every method, and the timer, runs on {@link #executor()}, which must always
 * be the same event loop.
 */
public abstract class Deadline {
    /** {@link #deadlineNanos()} when there is no deadline now. */
    public static final long NONE = Long.MAX_VALUE;

    // This deadline is its own node in a list of the wheel: prev is null when it is not armed.
    Deadline prev;
    Deadline next;
    /** When the armed timer is due, in ticker nanoseconds. */
    long dueNanos;

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
        if (prev != null) {
            if (dueNanos - deadline <= 0) {
                return; // fires early, finds time left, re-arms itself
            }
            DeadlineWheel.remove(this);
        }
        DeadlineWheel.of(executor()).add(this, deadline);
    }

    /** Cancels the armed timer, if any. {@link #arm()} starts watching again. */
    public final void cancel() {
        DeadlineWheel.remove(this);
    }

    /** Whether a timer is armed. */
    public final boolean armed() {
        return prev != null;
    }

    /** The timer fired (the wheel has unlinked it): expire, or re-arm if the deadline moved later. */
    final void fire(long nowNanos, DeadlineWheel wheel) {
        long deadline = deadlineNanos();
        if (deadline == NONE) {
            return;
        }
        if (nowNanos - deadline < 0) {
            wheel.add(this, deadline);
            return;
        }
        expired(nowNanos, deadline);
    }
}
