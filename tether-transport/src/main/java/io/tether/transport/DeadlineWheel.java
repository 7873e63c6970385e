package io.tether.transport;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The timers of every {@link Deadline} of one event loop: a hashed wheel of lists of primitive
 * node ids, driven by one task of the loop's own scheduler.
 *
 * <p>Why not the scheduler itself: a gateway's loop holds one deadline per connection, and each
 * fires about once per timeout to re-arm (the lazy re-arm of {@link Deadline}). In the scheduler
 * that is a new task object and two O(log n) operations on a heap of n connections per fire, and
 * the card marks of storing young tasks into that old heap array: at 19,000 connections with a 1 s
 * heartbeat, 8 % of the server's CPU (perf, issue 16). Here a fire is an unlink and a link, with
 * no allocation.
 *
 * <p>Why ids, not links between the deadlines: the lists are {@code int} arrays and the due times a
 * {@code long} array, indexed by a node id that a deadline holds while armed. Re-linking a node
 * writes only primitives, so the garbage collector has no reference store to track (a linked list
 * of the connections themselves dirtied a card per store, which G1's refinement threads then
 * scanned: 2 to 3 % of the server's CPU at 19,000 connections). The one reference store per arming
 * is {@code owners[id]}, and it is skipped when the deadline re-arms in its own fire (the usual
 * case), which keeps its node.
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
    private static final Logger log = LoggerFactory.getLogger(DeadlineWheel.class);
    static final int SHIFT = 20;
    static final int SLOTS = 2048;
    private static final int MASK = SLOTS - 1;
    /** {@code prev} of a node that is held but in no list: during its own fire. */
    private static final int UNLINKED = -1;
    /** {@code prev} of a node armed while the wheel runs its slots: linked once the run is over. */
    private static final int DEFERRED = -2;

    /**
     * One wheel per event loop. Weak, so that the short-lived loops of tests (EmbeddedChannel) do
     * not pile up; the wheel refers to its loop weakly for the same reason. Each thread remembers
     * the last wheel it looked up: an event loop's thread always finds its own there.
     */
    private static final Map<EventExecutor, DeadlineWheel> WHEELS = new WeakHashMap<>();
    private static final FastThreadLocal<DeadlineWheel> LAST = new FastThreadLocal<>();

    private final WeakReference<EventExecutor> executor;
    /*
     * Nodes 0 .. SLOTS-1 are the slots' list heads; a list is circular through its head, so a node
     * unlinks without knowing its slot. Nodes from SLOTS on belong to deadlines while armed.
     */
    private int[] next;
    private int[] prev;
    private long[] due;
    private Deadline[] owners;
    /** Free nodes, a stack (the node just freed is the next one taken: its cache lines are warm). */
    private int[] free;
    private int freeCount;
    /** Nodes below this have been handed out at least once. */
    private int used = SLOTS;
    private int[] deferred = new int[64];
    private int deferredCount;
    /** Every slot of a tick below this has been run. */
    private long cursorTick;
    private boolean running;
    private ScheduledFuture<?> wake;
    private long wakeAt;

    private DeadlineWheel(EventExecutor executor) {
        this.executor = new WeakReference<>(executor);
        this.cursorTick = executor.ticker().nanoTime() >> SHIFT;
        int capacity = SLOTS + 1024;
        next = new int[capacity];
        prev = new int[capacity];
        due = new long[capacity];
        owners = new Deadline[capacity];
        free = new int[64];
        for (int h = 0; h < SLOTS; h++) {
            next[h] = h;
            prev[h] = h;
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

    /** Watches {@code d} until {@code dueNanos} (ticker time), unless it is armed for earlier. */
    void arm(Deadline d, long dueNanos) {
        int n = d.node;
        if (n < 0) {
            n = allocate(d);
        } else {
            int p = prev[n];
            if (p != UNLINKED) {
                if (due[n] - dueNanos <= 0) {
                    return; // fires early, finds time left, re-arms itself
                }
                if (p == DEFERRED) {
                    due[n] = dueNanos; // linked at its new time after the run
                    return;
                }
                unlink(n);
            }
        }
        due[n] = dueNanos;
        if (running) {
            prev[n] = DEFERRED;
            if (deferredCount == deferred.length) {
                deferred = Arrays.copyOf(deferred, deferredCount * 2);
            }
            deferred[deferredCount++] = n;
            return;
        }
        link(n);
        if (wake == null || dueNanos - wakeAt < 0) {
            wakeAt(dueNanos);
        }
    }

    /** Stops watching {@code d}, which holds a node of this wheel. */
    void cancel(Deadline d) {
        int n = d.node;
        if (prev[n] >= 0) {
            unlink(n);
        }
        release(n); // a DEFERRED one is skipped when the deferred are linked: its owner is gone
    }

    /** Whether node {@code n} waits in a slot (or is about to). */
    boolean linked(int n) {
        return prev[n] != UNLINKED;
    }

    private int allocate(Deadline d) {
        int n;
        if (freeCount > 0) {
            n = free[--freeCount];
        } else {
            if (used == next.length) {
                grow();
            }
            n = used++;
        }
        owners[n] = d;
        d.node = n;
        prev[n] = UNLINKED;
        return n;
    }

    private void release(int n) {
        Deadline d = owners[n];
        d.node = -1;
        owners[n] = null;
        prev[n] = UNLINKED;
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, freeCount * 2);
        }
        free[freeCount++] = n;
    }

    /** By half: 20 bytes per node (two ints, a long, a reference), so the slack stays small. */
    private void grow() {
        int capacity = next.length + (next.length >> 1);
        next = Arrays.copyOf(next, capacity);
        prev = Arrays.copyOf(prev, capacity);
        due = Arrays.copyOf(due, capacity);
        owners = Arrays.copyOf(owners, capacity);
    }

    private void link(int n) {
        int head = (int) (Math.max(due[n] >> SHIFT, cursorTick) & MASK);
        int first = next[head];
        prev[n] = head;
        next[n] = first;
        prev[first] = n;
        next[head] = n;
    }

    private void unlink(int n) {
        int p = prev[n];
        int x = next[n];
        next[p] = x;
        prev[x] = p;
        prev[n] = UNLINKED;
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
                int head = (int) (tick & MASK);
                int n;
                while ((n = next[head]) != head) {
                    unlink(n);
                    Deadline d = owners[n];
                    if (due[n] - now > 0) {
                        prev[n] = DEFERRED; // a later turn, or later in this tick
                        if (deferredCount == deferred.length) {
                            deferred = Arrays.copyOf(deferred, deferredCount * 2);
                        }
                        deferred[deferredCount++] = n;
                        continue;
                    }
                    try {
                        d.fire(now, this);
                    } catch (RuntimeException ex) {
                        // One owner's failure must not stop the timers of every other connection.
                        log.error("a deadline's expiry failed; the other deadlines of this event loop go on", ex);
                    }
                    if (d.node == n && prev[n] == UNLINKED) {
                        release(n); // neither re-armed nor cancelled: disarmed
                    }
                }
            }
            cursorTick = nowTick;
        } finally {
            running = false;
            for (int i = 0; i < deferredCount; i++) {
                int n = deferred[i];
                if (prev[n] == DEFERRED) {
                    link(n);
                }
            }
            deferredCount = 0;
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
            int head = (int) (tick & MASK);
            long min = 0;
            boolean found = false;
            for (int n = next[head]; n != head; n = next[n]) {
                any = true;
                long t = due[n];
                if ((t >> SHIFT) <= tick && (!found || t - min < 0)) {
                    min = t;
                    found = true;
                }
            }
            if (found) {
                return min;
            }
        }
        return any ? (cursorTick + SLOTS) << SHIFT : Long.MAX_VALUE;
    }
}
