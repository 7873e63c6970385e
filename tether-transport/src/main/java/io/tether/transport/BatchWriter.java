package io.tether.transport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that writes what many threads hand it, in batches: the group commit that the
 * gateway's message store, the SDK's outbox file and the event log each need. Producers (event
 * loops) call {@link #offer}, which never blocks; the writer thread takes everything queued (up
 * to {@link Builder#maxBatch} items and {@link Builder#maxBatchWeight} weight) and hands it to
 * the {@link Sink} in one call, so a lone item is written at once and a busy writer pays one
 * write (one fsync) for thousands. There is no timer.
 *
 * <p><b>Writability.</b> As in Netty's channel writability, items offered and not yet written
 * ({@link #pending()}) are compared with two water marks: at the high one {@link #isWritable()}
 * turns false, and only when the writer has brought them down to the low one does it turn true
 * again and run the tasks given to {@link #whenWritable}. Producers use this to stop feeding the
 * writer (auto-read off) instead of blocking. {@link Builder#capacity} is a separate, hard bound:
 * an offer beyond it is refused ({@code false}), for owners that would rather drop than queue
 * without end.
 *
 * <p><b>Failures.</b> The writer thread never dies of a failing sink. Whatever the sink throws
 * goes to the {@link FailurePolicy}, which says whether to retry the same batch or drop it, and
 * how long to pause first; {@link FailurePolicy#onRecovered()} is told when a write succeeds
 * again. A policy can thus count drops, say so once, and back off while a disk is full.
 *
 * <p><b>Close.</b> {@link #close()} (or {@link #closeAsync()}) refuses further offers, lets the
 * writer write everything already accepted (a retry decision becomes a drop while closing, so
 * close ends even on a dead sink), and ends the thread. Every accepted item reaches the sink (or
 * the policy) exactly once, on the writer thread.
 *
 * <p>Thread-safe. The sink, the policy and the {@link #whenWritable} tasks run on the writer
 * thread (a task may also run on the caller's thread, see there) and must not block on the
 * producers.
 *
 * @param <T> the item type; compared by {@link Object#equals} only when an offer races with close
 */
public final class BatchWriter<T> implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatchWriter.class);
    /** Queue marker that wakes the writer for close. */
    private static final Object WAKE = new Object();

    /** Receives batches on the writer thread. */
    @FunctionalInterface
    public interface Sink<T> {
        /**
         * Writes one batch, in offer order. Throwing hands the batch to the {@link FailurePolicy}.
         *
         * @param batch at least one item; valid only during the call
         */
        void write(List<T> batch) throws Exception;
    }

    /** What the writer does when the sink throws; called on the writer thread. */
    public interface FailurePolicy<T> {
        /**
         * @param batch   the batch the sink failed on (valid during the call); on a drop the
         *                policy owns its items, e.g. completes their callbacks with {@code error}
         * @param error   what the sink threw
         * @param attempt 1 for the first failure of this batch, then 2, 3… on retries
         */
        Decision onFailure(List<T> batch, Throwable error, int attempt);

        /** The sink wrote a batch after one or more failures. */
        default void onRecovered() {
        }
    }

    /** A {@link FailurePolicy}'s answer. */
    public static final class Decision {
        private final boolean retry;
        private final Duration pause;

        private Decision(boolean retry, Duration pause) {
            this.retry = retry;
            this.pause = Objects.requireNonNull(pause, "pause");
        }

        /** Write the same batch again after {@code pause} (a drop instead while closing). */
        public static Decision retry(Duration pause) {
            return new Decision(true, pause);
        }

        /** Give the batch up and take the next one after {@code pause} (skipped while closing). */
        public static Decision drop(Duration pause) {
            return new Decision(false, pause);
        }

        /** Give the batch up and go on at once. */
        public static Decision drop() {
            return new Decision(false, Duration.ZERO);
        }
    }

    private final String name;
    private final Sink<T> sink;
    private final FailurePolicy<T> policy;
    private final int capacity;
    private final int lowWaterMark;
    private final int highWaterMark;
    private final int maxBatch;
    private final long maxBatchWeight;
    private final ToLongFunction<? super T> weigher;

    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    /** Offered and not yet written (queued plus the batch in the sink). */
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicBoolean writable = new AtomicBoolean(true);
    private final ConcurrentLinkedQueue<Runnable> writableTasks = new ConcurrentLinkedQueue<>();
    private volatile boolean closing;
    private final CountDownLatch closeRequested = new CountDownLatch(1);
    private volatile boolean failing;
    private final Thread thread;
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    private BatchWriter(Builder<T> b) {
        this.name = b.name;
        this.sink = b.sink;
        this.policy = b.policy;
        this.capacity = b.capacity;
        this.highWaterMark = b.highWaterMark > 0 ? b.highWaterMark : capacity;
        this.lowWaterMark = b.highWaterMark > 0 ? b.lowWaterMark : capacity / 2;
        this.maxBatch = b.maxBatch;
        this.maxBatchWeight = b.maxBatchWeight;
        this.weigher = b.weigher;
        this.thread = new Thread(this::run, name);
        // Daemon: a forgotten close() must not keep the JVM alive; owners that must not lose
        // what is queued close explicitly.
        thread.setDaemon(b.daemon);
    }

    /**
     * @param threadName the writer thread's name, also used in log lines
     * @param sink       receives the batches
     */
    public static <T> Builder<T> builder(String threadName, Sink<T> sink) {
        return new Builder<>(threadName, sink);
    }

    /**
     * Hands {@code item} to the writer. Never blocks.
     *
     * @return {@code false} if the writer is closing or already holds {@link Builder#capacity}
     *     items: the item was not taken and the caller still owns it
     */
    public boolean offer(T item) {
        Objects.requireNonNull(item, "item");
        if (closing) {
            return false;
        }
        int n;
        do {
            n = pending.get();
            if (n >= capacity) {
                return false;
            }
        } while (!pending.compareAndSet(n, n + 1));
        queue.add(item);
        // The writer may have made its last poll (it stops once closing and empty) between the
        // check above and the add. Whoever removes the item from the queue owns it, so it is
        // written, or refused, exactly once.
        if (closing && queue.remove(item)) {
            pending.decrementAndGet();
            updateWritability();
            return false;
        }
        if (n + 1 >= highWaterMark) {
            updateWritability();
        }
        return true;
    }

    /** False from when {@link #pending()} reaches the high-water mark until it is back at the low one. */
    public boolean isWritable() {
        return writable.get();
    }

    /**
     * Runs {@code task} once when the writer is writable: at once, on the calling thread, if it is
     * writable now; else on the writer thread when it becomes writable (or ends, at close). A
     * task that throws is logged.
     */
    public void whenWritable(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (writable.get()) {
            runTask(task);
            return;
        }
        writableTasks.add(task);
        // The writer may have turned writable (and run the tasks it saw) since the check above.
        if (writable.get()) {
            runWritableTasks();
        }
    }

    /** Items offered and not yet written (queued, or in the batch being written). */
    public int pending() {
        return pending.get();
    }

    /** True from a failed write until the next successful one. */
    public boolean isFailing() {
        return failing;
    }

    /** Whether the caller is this writer's thread (e.g. inside the sink or a callback it runs). */
    public boolean isWriterThread() {
        return Thread.currentThread() == thread;
    }

    /**
     * Refuses further offers, writes everything accepted, and returns when the writer thread has
     * ended. Idempotent. Keeps the caller's interrupt status and is not cut short by it (accepted
     * items must be written).
     *
     * @throws IllegalStateException if called on the writer thread (it cannot wait for itself)
     */
    @Override
    public void close() {
        if (isWriterThread()) {
            throw new IllegalStateException(name + ": close() called on the writer thread; close from another thread");
        }
        CompletableFuture<Void> done = closeAsync();
        boolean interrupted = false;
        while (true) {
            try {
                done.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                break; // not completed exceptionally: the writer thread completes it in a finally
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * {@link #close()} without waiting: may be called anywhere, also on the writer thread.
     *
     * @return completes on the writer thread, after the last batch and as the thread ends
     *     (actions added without an executor run there, e.g. closing the file the sink wrote)
     */
    public CompletableFuture<Void> closeAsync() {
        if (!closing) {
            // closing before WAKE: a writer waiting in take() wakes and sees it.
            closing = true;
            closeRequested.countDown();
            queue.add(WAKE);
        }
        return terminated;
    }

    // ---- writer thread ---------------------------------------------------------------------

    private void run() {
        try {
            List<T> batch = new ArrayList<>();
            while (true) {
                // An offer that adds an item after the last poll here sees closing (set before
                // this poll read it) and takes the item back: nothing accepted is left behind.
                Object first = closing ? queue.poll() : take();
                if (first == null) {
                    break;
                }
                if (first != WAKE) {
                    takeBatch(first, batch);
                    write(batch);
                }
            }
            // Nothing will drain below the low-water mark any more: nobody may wait for it.
            writable.set(true);
            runWritableTasks();
        } finally {
            terminated.complete(null);
        }
    }

    private Object take() {
        while (true) {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                // Nobody interrupts this thread on purpose; close() uses the WAKE marker.
            }
        }
    }

    /** {@code first}, then what is queued behind it, up to the batch limits. */
    @SuppressWarnings("unchecked")
    private void takeBatch(Object first, List<T> batch) {
        batch.add((T) first);
        long weight = weigh((T) first);
        while (batch.size() < maxBatch && weight < maxBatchWeight) {
            Object o = queue.poll();
            if (o == null) {
                return;
            }
            if (o != WAKE) {
                batch.add((T) o);
                weight += weigh((T) o);
            }
        }
    }

    private long weigh(T item) {
        return weigher == null ? 0 : weigher.applyAsLong(item);
    }

    /** Writes (or gives up) one batch, then clears it and releases its items from {@link #pending}. */
    private void write(List<T> batch) {
        try {
            for (int attempt = 1; ; attempt++) {
                Throwable error;
                try {
                    sink.write(batch);
                    if (failing) {
                        failing = false;
                        recovered();
                    }
                    return;
                } catch (Throwable t) {
                    // Also Errors: an OutOfMemoryError in one batch must not leave every later
                    // producer's items queued behind a dead thread.
                    error = t;
                }
                failing = true;
                Decision d = decide(batch, error, attempt);
                pause(d.pause);
                if (!d.retry || closing) {
                    return;
                }
            }
        } finally {
            int n = batch.size();
            batch.clear();
            pending.addAndGet(-n);
            updateWritability();
        }
    }

    private Decision decide(List<T> batch, Throwable error, int attempt) {
        try {
            return Objects.requireNonNull(policy.onFailure(batch, error, attempt), "decision");
        } catch (RuntimeException e) {
            log.warn("{}: failure policy threw; dropping the batch of {}", name, batch.size(), e);
            return Decision.drop();
        }
    }

    private void recovered() {
        try {
            policy.onRecovered();
        } catch (RuntimeException e) {
            log.warn("{}: recovery callback threw", name, e);
        }
    }

    private void pause(Duration pause) {
        if (pause.isZero() || pause.isNegative() || closing) {
            return;
        }
        try {
            closeRequested.await(pause.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            // Not interrupted on purpose; the pause is only shorter.
        }
    }

    // ---- writability -----------------------------------------------------------------------

    /**
     * Brings {@link #writable} in line with {@link #pending}, with hysteresis. Called by whoever
     * changed the count; a thread that flips the flag looks again, so the last one to change the
     * count always leaves the flag right for it.
     */
    private void updateWritability() {
        while (true) {
            int n = pending.get();
            if (writable.get()) {
                if (n < highWaterMark) {
                    return;
                }
                writable.compareAndSet(true, false);
            } else {
                if (n > lowWaterMark) {
                    return;
                }
                if (writable.compareAndSet(false, true)) {
                    runWritableTasks();
                }
            }
        }
    }

    private void runWritableTasks() {
        Runnable task;
        while (writable.get() && (task = writableTasks.poll()) != null) {
            runTask(task);
        }
    }

    private void runTask(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.warn("{}: writability task threw", name, e);
        }
    }

    @Override
    public String toString() {
        return name + "[pending=" + pending.get() + ", writable=" + writable.get() + ", failing=" + failing + "]";
    }

    /** Builder for a {@link BatchWriter}; {@link #start()} creates it and starts its thread. Not thread-safe. */
    public static final class Builder<T> {
        private final String name;
        private final Sink<T> sink;
        private FailurePolicy<T> policy;
        private int capacity = Integer.MAX_VALUE;
        private int lowWaterMark;
        private int highWaterMark;
        private int maxBatch = 4096;
        private long maxBatchWeight = Long.MAX_VALUE;
        private ToLongFunction<? super T> weigher;
        private boolean daemon = true;

        private Builder(String name, Sink<T> sink) {
            this.name = Objects.requireNonNull(name, "threadName");
            this.sink = Objects.requireNonNull(sink, "sink");
            this.policy = (batch, error, attempt) -> {
                log.warn("{}: write of {} items failed; dropped", name, batch.size(), error);
                return Decision.drop();
            };
        }

        /**
         * Most items offered and not yet written; an offer beyond is refused. Default: no bound
         * but memory (owners that apply back-pressure through the water marks instead).
         *
         * @throws IllegalArgumentException if {@code n < 1}
         */
        public Builder<T> capacity(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("capacity: " + n + " (expected: >= 1)");
            }
            this.capacity = n;
            return this;
        }

        /**
         * Pending items at which {@link #isWritable()} turns false ({@code high}) and back at
         * which it turns true again ({@code low}). Default: the capacity and half of it.
         *
         * @throws IllegalArgumentException unless {@code 0 <= low < high}
         */
        public Builder<T> waterMarks(int low, int high) {
            if (low < 0 || high <= low) {
                throw new IllegalArgumentException("waterMarks: low " + low + ", high " + high
                        + " (expected: 0 <= low < high)");
            }
            this.lowWaterMark = low;
            this.highWaterMark = high;
            return this;
        }

        /**
         * Most items in one batch. Default 4096.
         *
         * @throws IllegalArgumentException if {@code n < 1}
         */
        public Builder<T> maxBatch(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxBatch: " + n + " (expected: >= 1)");
            }
            this.maxBatch = n;
            return this;
        }

        /**
         * Weight (e.g. payload bytes) after which a batch is closed; a batch always takes at
         * least one item, however heavy. Default: no limit.
         *
         * @throws IllegalArgumentException if {@code max < 1}
         */
        public Builder<T> maxBatchWeight(long max, ToLongFunction<? super T> weigher) {
            if (max < 1) {
                throw new IllegalArgumentException("maxBatchWeight: " + max + " (expected: >= 1)");
            }
            this.maxBatchWeight = max;
            this.weigher = Objects.requireNonNull(weigher, "weigher");
            return this;
        }

        /** What to do when the sink throws. Default: log a warning and drop the batch. */
        public Builder<T> onFailure(FailurePolicy<T> policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Whether the writer thread is a daemon. Default true. */
        public Builder<T> daemon(boolean daemon) {
            this.daemon = daemon;
            return this;
        }

        /**
         * Creates the writer and starts its thread.
         *
         * @throws IllegalStateException if the high-water mark is above the capacity
         */
        public BatchWriter<T> start() {
            if (highWaterMark > capacity) {
                throw new IllegalStateException("waterMarks: high " + highWaterMark + " is above capacity " + capacity
                        + " (expected: high <= capacity)");
            }
            BatchWriter<T> w = new BatchWriter<>(this);
            w.thread.start();
            return w;
        }
    }
}
