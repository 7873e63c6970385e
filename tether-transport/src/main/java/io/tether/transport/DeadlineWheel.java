package io.tether.transport;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;

import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The timers of every {@link Deadline} of one event loop: a hashed wheel of intrusive lists
 * (the deadlines are the nodes), driven by one task of the loop's own scheduler.
 *
 * <p>Why not the scheduler itself: a gateway's loop holds one deadline per connection, and each
 * fires about once per timeout to re-arm (the lazy re-arm of {@link Deadline}). In the scheduler
 * that is a new task object and two O(log n) operations on a heap of n connections per fire, and
 * the card marks of storing young tasks into that old heap array: at 19,000 connections with a 1 s
 * heartbeat, 8 % of the server's CPU (perf, issue 16). Here a fire is an unlink and a link, with
 * no allocation; the scheduler holds one task per loop, for the earliest deadline.
 *
 * <p><b>Precision is exact</b>, not a tick's: the wake-up is scheduled at the earliest deadline
 * itself (the smallest due time in the first slot that has one), so a deadline never fires early,
 * and fires as late as the loop's scheduler would have run its own task. Slots only group the
 * deadlines so that finding the next one is a short walk, not a search.
 *
 * <p>Slots are 2<sup>20</sup> ns (about 1 ms) wide and there are 2,048 of them (one turn: about
 * 2.1 s); a deadline further away waits in its slot for the turn it is due in.
 *
 * <p>Not thread-safe: used only on its event loop (every {@link Deadline} method runs there).
 */
final class DeadlineWheel implements Runnable {
    static final int SHIFT = 20;
    static final int SLOTS = 2048;
    private static final int MASK = SLOTS - 1;

    /**
     * The {@code prev} of a deadline added while the wheel runs its slots: it is linked once the
     * run is over. ({@code prev == null}: not armed; any other: in a slot's list.)
     */
    static final Deadline DEFERRED = new Head();

    /**
     * One wheel per event loop. Weak, so that the short-lived loops of tests (EmbeddedChannel) do
     * not pile up; the wheel refers to its loop weakly for the same reason. Each thread remembers
     * the last wheel it looked up: an event loop's thread always finds its own there.
     */
    private static final Map<EventExecutor, DeadlineWheel> WHEELS = new WeakHashMap<>();
    private static final FastThreadLocal<DeadlineWheel> LAST = new FastThreadLocal<>();

    private final WeakReference<EventExecutor> executor;
    /** Each slot: a circular list through a head of its own, so a deadline unlinks without the wheel. */
    private final Deadline[] heads = new Deadline[SLOTS];
    private final ArrayDeque<Deadline> deferred = new ArrayDeque<>();
    /** Every slot of a tick below this has been run. */
    private long cursorTick;
    private boolean running;
    private ScheduledFuture<?> wake;
    private long wakeAt;

    private DeadlineWheel(EventExecutor executor) {
        this.executor = new WeakReference<>(executor);
        this.cursorTick = executor.ticker().nanoTime() >> SHIFT;
        for (int i = 0; i < SLOTS; i++) {
            Deadline h = new Head();
            h.prev = h;
            h.next = h;
            heads[i] = h;
        }
    }

    static DeadlineWheel of(EventExecutor executor) {
        DeadlineWheel w = LAST.get();
        if (w != null && w.executor.get() == executor) {
            return w;
        }
        synchronized (WHEELS) {
            w = WHEELS.computeIfAbsent(executor, DeadlineWheel::new);
        }
        LAST.set(w);
        return w;
    }

    /** Watches {@code d} until {@code dueNanos} (ticker time); {@code d} must not be armed. */
    void add(Deadline d, long dueNanos) {
        d.dueNanos = dueNanos;
        if (running) {
            d.prev = DEFERRED;
            deferred.add(d);
            return;
        }
        link(d);
        if (wake == null || dueNanos - wakeAt < 0) {
            wakeAt(dueNanos);
        }
    }

    /** Stops watching {@code d}, armed or not. Needs no wheel: the lists are circular. */
    static void remove(Deadline d) {
        Deadline prev = d.prev;
        if (prev != null && prev != DEFERRED) {
            Deadline next = d.next;
            prev.next = next;
            next.prev = prev;
        }
        d.prev = null; // a DEFERRED one is skipped when the deferred are linked
        d.next = null;
    }

    private void link(Deadline d) {
        Deadline head = heads[(int) (Math.max(d.dueNanos >> SHIFT, cursorTick) & MASK)];
        Deadline first = head.next;
        d.prev = head;
        d.next = first;
        first.prev = d;
        head.next = d;
    }

    private void wakeAt(long dueNanos) {
        EventExecutor e = executor.get();
        if (e == null) {
            return;
        }
        if (wake != null) {
            wake.cancel(false);
        }
        wakeAt = dueNanos;
        wake = e.schedule(this, Math.max(0, dueNanos - e.ticker().nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** The wake-up: fires every deadline that is due, then schedules the next wake-up. */
    @Override
    public void run() {
        wake = null;
        EventExecutor e = executor.get();
        if (e == null) {
            return;
        }
        long now = e.ticker().nanoTime();
        long nowTick = now >> SHIFT;
        running = true;
        try {
            long last = Math.min(nowTick, cursorTick + MASK); // after a long stall: each slot once
            for (long tick = cursorTick; tick <= last; tick++) {
                Deadline head = heads[(int) (tick & MASK)];
                Deadline d;
                while ((d = head.next) != head) {
                    remove(d);
                    if (d.dueNanos - now > 0) {
                        add(d, d.dueNanos); // a later turn, or later in this tick: deferred
                    } else {
                        d.fire(now, this);
                    }
                }
            }
            cursorTick = nowTick;
        } finally {
            running = false;
            Deadline d;
            while ((d = deferred.poll()) != null) {
                if (d.prev == DEFERRED) {
                    link(d);
                }
            }
        }
        long next = next();
        if (next != Long.MAX_VALUE) {
            wakeAt(next);
        }
    }

    /**
     * The earliest due time: the smallest in the first slot, from the cursor on, that holds a
     * deadline of its own turn; the start of the next turn if every deadline is further away;
     * {@link Long#MAX_VALUE} if the wheel is empty.
     */
    private long next() {
        boolean any = false;
        for (long tick = cursorTick; tick <= cursorTick + MASK; tick++) {
            Deadline head = heads[(int) (tick & MASK)];
            long min = 0;
            boolean found = false;
            for (Deadline d = head.next; d != head; d = d.next) {
                any = true;
                if ((d.dueNanos >> SHIFT) <= tick && (!found || d.dueNanos - min < 0)) {
                    min = d.dueNanos;
                    found = true;
                }
            }
            if (found) {
                return min;
            }
        }
        return any ? (cursorTick + SLOTS) << SHIFT : Long.MAX_VALUE;
    }

    /** A slot's list head (and the {@link #DEFERRED} mark): never armed, never fired. */
    private static final class Head extends Deadline {
        @Override
        protected EventExecutor executor() {
            throw new UnsupportedOperationException("a list head of the deadline wheel");
        }

        @Override
        protected long deadlineNanos() {
            return NONE;
        }

        @Override
        protected void expired(long nowNanos, long deadlineNanos) {
        }
    }
}
