package io.tether.transport;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * One deadline with one timer, re-armed lazily, in the manner of Netty's {@code IdleStateHandler}.
 * It knows nothing of protocols: the subclass says when the deadline is ({@link #deadlineNanos()})
 * and what a missed one means ({@link #expired}).
 *
 * <p>Moving the deadline later costs nothing here: the subclass only stores a timestamp (the time
 * of the last frame, say) that {@link #deadlineNanos()} reads; no timer is cancelled or scheduled.
 * When the armed timer fires early, it finds time left and re-arms itself for the rest. Only a
 * deadline moved <em>earlier</em> than the armed timer ({@link #arm()}) replaces the timer. So a
 * connection that receives a frame every second costs one timer wake-up per timeout, not one
 * scheduler operation per frame, and there is never a periodic scan over connections.
 *
 * <p>An abstract class, not a helper object: the owner (a connection, of which a gateway holds
 * hundreds of thousands) extends it, and pays two fields (the timer and when it is due) and no
 * extra object. Time comes from the executor's {@linkplain EventExecutor#ticker() ticker}, so
 * tests drive it with a mock ticker ({@code EmbeddedChannel}'s {@code freezeTime()}/
 * {@code advanceTimeBy()}).
 *
 * <p>Not thread-safe: every method, and the timer, runs on {@link #executor()}.
 */
public abstract class Deadline implements Runnable {
    /** {@link #deadlineNanos()} when there is no deadline now. */
    public static final long NONE = Long.MAX_VALUE;

    private ScheduledFuture<?> timer;
    private long timerDueNanos;

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
        if (timer != null) {
            if (timerDueNanos - deadline <= 0) {
                return; // fires early, finds time left, re-arms itself
            }
            timer.cancel(false);
        }
        timerDueNanos = deadline;
        timer = executor().schedule(this, Math.max(0, deadline - nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Cancels the armed timer, if any. {@link #arm()} starts watching again. */
    public final void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** Whether a timer is armed. */
    public final boolean armed() {
        return timer != null;
    }

    /** The timer fired. Not for callers. */
    @Override
    public final void run() {
        timer = null;
        long deadline = deadlineNanos();
        if (deadline == NONE) {
            return;
        }
        long now = nanoTime();
        if (now - deadline < 0) {
            arm();
            return;
        }
        expired(now, deadline);
    }
}
