package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.DeviceStats;
import io.tether.server.MessageCursor;
import io.tether.server.MessageStore;
import io.tether.server.StoreReader;
import io.tether.server.StoredMessage;

import io.tether.server.internal.delivery.StoreLayout.DeviceState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded durable {@link MessageStore}: RocksDB in one directory, with group commit.
 *
 * <p><b>Durability.</b> An append's callback fires only after the message is in a RocksDB write
 * batch that has been written to the write-ahead log, and (with {@link Options#sync()}, the
 * default) fsynced. So a message the server acknowledges survives kill -9 and, with sync, a power
 * cut. After a crash the WAL is replayed up to its last whole record (point-in-time recovery): a
 * torn tail, which can only hold unacknowledged writes, is cut off and the store opens normally.
 *
 * <p><b>Group commit.</b> Appends go into a bounded queue drained by one writer thread. The writer
 * takes everything queued (up to {@link Options#maxBatch()} messages and
 * {@link Options#maxBatchBytes()} payload bytes), classifies each message as
 * {@link AppendResult#STORED}, {@link AppendResult#STORED_AFTER_GAP} or
 * {@link AppendResult#DUPLICATE} in queue order against its own per-device last seq (so a duplicate
 * of a message in the same batch is caught), writes the messages and the devices' new states in
 * one atomic batch with one fsync, and then completes the callbacks in queue order. There is no
 * timer: the batch is whatever arrived while the previous fsync ran, so a lone message is written
 * at once and a busy store pays one fsync for thousands of messages.
 *
 * <p><b>Threads.</b> Thread-safe. {@link #append} never drops: when the queue is full it blocks
 * the caller until there is room (back-pressure: a blocked event loop stops reading its sockets).
 * Callbacks and {@link #subscribe subscribers} run on the writer thread and must be quick and
 * non-blocking: hand work to another thread. Appends for one device made from one thread complete
 * in the order they were made. {@link #lastSeq} is a map lookup, with one RocksDB point read the
 * first time a device with stored messages is seen; for a device with none, a point read (a
 * bloom-filter miss) per call, i.e. per connect, and no memory held for it.
 *
 * <p><b>Layout.</b> Column family {@code messages}: key device id (ASCII), 0x00, seq (u64 BE);
 * value receivedAtMillis (u64 BE) then the payload. Column family {@code devices}: key device id,
 * value a version byte then lastSeq, firstSeq and count (u64 BE each).
 *
 * <pre>{@code
 * RocksDbMessageStore store = RocksDbMessageStore.open(Path.of("/var/lib/tether"));
 * TetherServer server = TetherServer.builder().store(store)...build();
 * // server.close() closes the store after its connections and event loops.
 * }</pre>
 */
public final class RocksDbMessageStore implements MessageStore, StoreReader {
    private static final Logger log = LoggerFactory.getLogger(RocksDbMessageStore.class);

    /** Queue marker that tells the writer to finish: commit what is queued, then stop. */
    private static final Entry POISON = new Entry("", new byte[0], 0, new byte[0], 0, (r, e) -> { });

    private final RocksDbHandle handle;
    private final Options options;
    private final WriteHook writeHook;
    private final WriteOptions writeOptions;
    private final ArrayBlockingQueue<Entry> queue;
    /** Last durable state per device; filled lazily. Written by the writer after each commit. */
    private final ConcurrentHashMap<String, DeviceState> states = new ConcurrentHashMap<>();
    /**
     * Devices with a failed write since their last successful one; writer thread only. Until the
     * device resends from its durable lastSeq + 1, a seq beyond that is refused, not stored as a gap.
     */
    private final Set<String> fenced = new HashSet<>();
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong commits = new AtomicLong();
    /** Non-null once appends are refused: the store is closing, or the writer died. */
    private final AtomicReference<Throwable> stopped = new AtomicReference<>();
    private final Thread writer;
    private final Object closeLock = new Object();
    private boolean closed; // guarded by closeLock

    private RocksDbMessageStore(RocksDbHandle handle, Options options, WriteHook writeHook) {
        this.handle = handle;
        this.options = options;
        this.writeHook = writeHook;
        this.writeOptions = new WriteOptions().setSync(options.sync());
        this.queue = new ArrayBlockingQueue<>(options.queueCapacity());
        this.writer = new Thread(this::runWriter, "tether-store-writer");
        // Daemon: a forgotten close() must not keep the JVM alive. Nothing acknowledged is at risk
        // if the JVM exits mid-write; the WAL is cut at its last whole record on the next open.
        writer.setDaemon(true);
    }

    /** A lock-free reader of a store directory; see {@link StoreReader#openReadOnly}. */
    public static StoreReader openReadOnly(Path dataDir) throws IOException {
        return RocksDbHandle.openReadOnly(dataDir);
    }

    /**
     * Opens (creating if missing) the store in {@code dataDir} with {@link Options#defaults()}.
     *
     * @see #open(Path, Options)
     */
    public static RocksDbMessageStore open(Path dataDir) throws IOException {
        return open(dataDir, Options.defaults());
    }

    /**
     * Opens the store in {@code dataDir}, creating the directory and an empty store if missing.
     * One process at a time may open a directory this way (RocksDB holds a lock file); others may
     * read it with {@link StoreReader#openReadOnly(Path)}.
     *
     * @throws IOException if the directory holds something other than a Tether store, another
     *     process has it open, or RocksDB cannot open it (the message says which)
     */
    public static RocksDbMessageStore open(Path dataDir, Options options) throws IOException {
        return open(dataDir, options, () -> { });
    }

    /** For tests: {@code writeHook} runs before each batch write and may throw to simulate a failed write. */
    static RocksDbMessageStore open(Path dataDir, Options options, WriteHook writeHook) throws IOException {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(options, "options");
        RocksDbHandle handle = RocksDbHandle.openWritable(dataDir);
        RocksDbMessageStore store = new RocksDbMessageStore(handle, options, writeHook);
        store.writer.start();
        log.info("{}: message store open ({})", handle.dir, options);
        return store;
    }

    /** The store directory, absolute. */
    public Path dataDir() {
        return handle.dir;
    }

    /** The options this store was opened with. */
    public Options options() {
        return options;
    }

    // ---- MessageStore ----------------------------------------------------------------------

    /**
     * Highest seq of the device that is durable (written and, with sync, fsynced); 0 if none.
     * Never ahead of what is on disk, so it is safe to send as WELCOME.last_seq. A map lookup
     * after the first call per device, which reads one record.
     *
     * @throws IllegalArgumentException if the device id is not printable ASCII (0x21–0x7E)
     * @throws IllegalStateException if the store is closed and the device was not looked up before
     * @throws UncheckedIOException if RocksDB reports a read error
     */
    @Override
    public long lastSeq(String deviceId) {
        DeviceState s = states.get(deviceId);
        if (s != null) {
            return s.lastSeq();
        }
        byte[] device = StoreLayout.deviceBytes(deviceId);
        if (!handle.enter()) {
            throw new IllegalStateException("store closed: " + handle.dir);
        }
        try {
            DeviceState loaded = handle.loadState(device);
            if (loaded == null) {
                // A device the store has never seen: nothing is cached for it (a map entry per
                // idle device would be ~40 bytes of heap each, for no information). If the
                // writer committed a first message for it since the read, that state is here.
                DeviceState committed = states.get(deviceId);
                return committed == null ? 0 : committed.lastSeq();
            }
            // merge, not put: the writer may have committed a newer state since the read.
            return states.merge(deviceId, loaded, DeviceState::newer).lastSeq();
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException(handle.dir + ": " + RocksDbHandle.describe(e), e));
        } finally {
            handle.exit();
        }
    }

    /**
     * Queues one message for the next group commit. The callback fires once, on the writer
     * thread, after the batch holding the message is durable; or with an error: an
     * {@link IllegalArgumentException} for a device id outside printable ASCII, seq &lt; 1 or a
     * null payload; an {@link IllegalStateException} if the store is closing or closed; an
     * {@link IOException} if the write failed (nothing of that batch is reported stored), or if
     * an earlier write for the device failed and this seq is beyond its durable lastSeq + 1 (a
     * gap over the lost seqs would make WELCOME.last_seq tell the device to drop them; the fence
     * lifts when the device resends lastSeq + 1).
     *
     * <p>Blocks only while the queue is full, and then also through interrupts (the interrupt
     * status is kept): an append that failed while a later one of the same device got in would
     * leave a hole. The payload array is kept, not copied: do not modify it after the call.
     *
     * @param seq 1 to 2^63-1
     * @param receivedAtMillis wall-clock receive time, epoch milliseconds, stored as given
     */
    @Override
    public void append(String deviceId, long seq, byte[] payload, long receivedAtMillis, AppendCallback callback) {
        Objects.requireNonNull(callback, "callback");
        byte[] device;
        try {
            device = StoreLayout.deviceBytes(deviceId);
            if (seq < 1) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: 1 to 2^63-1)");
            }
            if (payload == null) {
                throw new IllegalArgumentException("payload: null");
            }
        } catch (IllegalArgumentException e) {
            complete(callback, null, e);
            return;
        }
        Entry entry = new Entry(deviceId, device, seq, payload, receivedAtMillis, callback);
        Throwable stop = stopped.get();
        if (stop != null) {
            complete(callback, null, stop);
            return;
        }
        if (!enqueue(entry)) {
            complete(callback, null, stopCause());
            return;
        }
        // close() may have swept the queue between the check above and the offer; whoever
        // removes the entry from the queue owns its callback, so it fires exactly once.
        stop = stopped.get();
        if (stop != null && queue.remove(entry)) {
            complete(callback, null, stop);
        }
    }

    /**
     * Back-pressure, never a drop: waits for room, also through interrupts. Failing one append
     * while a later one of the same device got in would store a gap over it, so the only way out
     * is the writer being gone ({@code false}). The timeout only re-checks that.
     */
    private boolean enqueue(Entry entry) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (queue.offer(entry, 10, TimeUnit.MILLISECONDS)) {
                        return true;
                    }
                    if (!writer.isAlive()) {
                        return false;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- reading ---------------------------------------------------------------------------

    /**
     * {@inheritDoc}
     *
     * <p>On the live store the cursor sees everything durable when it was opened.
     */
    @Override
    public MessageCursor read(String deviceIdOrNull, long fromSeq) {
        return handle.read(deviceIdOrNull, fromSeq);
    }

    @Override
    public List<DeviceStats> stats() {
        return handle.stats();
    }

    @Override
    public Optional<DeviceStats> stats(String deviceId) {
        return handle.stats(deviceId);
    }

    /**
     * Calls {@code listener} with each newly stored message (not duplicates), once, on the writer
     * thread, after its batch is durable and after that batch's append callbacks; in the order
     * the messages were stored. The listener must be quick and must not block or call
     * {@link #close()}; an exception it throws is logged and does not stop other listeners.
     *
     * @return closing it unsubscribes; idempotent
     */
    public Subscription subscribe(Consumer<StoredMessage> listener) {
        Listener l = new Listener(Objects.requireNonNull(listener, "listener"));
        listeners.add(l);
        return () -> listeners.remove(l);
    }

    /** A subscription from {@link #subscribe}; {@link #close()} ends it. */
    @FunctionalInterface
    public interface Subscription extends AutoCloseable {
        /** Stops delivery to the listener. Messages already being delivered may still arrive. Idempotent. */
        @Override
        void close();
    }

    /**
     * Batches written so far: each is one WAL write (and one fsync with {@link Options#sync()}),
     * however many messages it held. A batch of duplicates only writes nothing and is not counted.
     */
    public long commits() {
        return commits.get();
    }

    /** Appends queued and not yet taken by the writer; a gauge of back-pressure. */
    public int pending() {
        return queue.size();
    }

    // ---- close -----------------------------------------------------------------------------

    /**
     * Stops accepting appends (later appends fail with {@link IllegalStateException}), commits
     * everything already queued and fires its callbacks, flushes memtables to SST files, and
     * closes RocksDB and any open cursors. Blocks until done. Idempotent; concurrent calls wait
     * for the first.
     *
     * <p>Close the server (its connections) first: an append arriving after this fails and its
     * connection closes without an ACK, so the device resends it next time.
     *
     * @throws IllegalStateException if called from a store callback or subscriber (the writer
     *     thread cannot wait for itself)
     */
    @Override
    public void close() {
        if (Thread.currentThread() == writer) {
            throw new IllegalStateException("close() called from a store callback; close from another thread");
        }
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            stopped.compareAndSet(null, new IllegalStateException("store closed: " + handle.dir));
            boolean interrupted = false;
            while (true) {
                try {
                    if (queue.offer(POISON, 10, TimeUnit.MILLISECONDS) || !writer.isAlive()) {
                        break;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            while (writer.isAlive()) {
                try {
                    writer.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            failQueued(stopCause());
            handle.flush();
            handle.close();
            writeOptions.close();
            closed = true;
            log.info("{}: message store closed after {} commits", handle.dir, commits.get());
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- writer thread ---------------------------------------------------------------------

    private void runWriter() {
        List<Entry> batch = new ArrayList<>();
        boolean stopping = false;
        try (WriteBatch wb = new WriteBatch()) {
            while (true) {
                Entry first = stopping ? queue.poll() : take();
                if (first == null) {
                    break;
                }
                if (first == POISON) {
                    stopping = true;
                    continue;
                }
                batch.add(first);
                long bytes = first.payload.length;
                while (batch.size() < options.maxBatch() && bytes < options.maxBatchBytes()) {
                    Entry e = queue.poll();
                    if (e == null) {
                        break;
                    }
                    if (e == POISON) {
                        stopping = true;
                        continue;
                    }
                    batch.add(e);
                    bytes += e.payload.length;
                }
                commit(batch, wb);
                batch.clear();
            }
        } catch (Throwable t) {
            // commit() handles write failures; this is an Error (e.g. out of memory). Fail what
            // this thread holds and refuse further appends rather than leave callbacks hanging.
            stopped.compareAndSet(null, new IllegalStateException("store writer failed: " + t, t));
            for (Entry e : batch) {
                if (e.done) {
                    continue;
                }
                complete(e.callback, null, t);
            }
            log.error("{}: store writer failed; appends are refused until restart", handle.dir, t);
        } finally {
            stopped.compareAndSet(null, new IllegalStateException("store writer stopped: " + handle.dir));
            failQueued(stopCause());
        }
    }

    private Entry take() {
        while (true) {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                // Nobody interrupts this thread on purpose; close() uses the POISON entry.
            }
        }
    }

    private void commit(List<Entry> batch, WriteBatch wb) {
        // Device states as they will be once this batch is written; starts from the durable ones.
        Map<String, Touched> touched = new HashMap<>();
        try {
            wb.clear();
            for (Entry e : batch) {
                e.error = null;
                Touched t = touched.get(e.deviceId);
                DeviceState prev = t != null ? t.state : durableState(e);
                if (e.seq <= prev.lastSeq()) {
                    e.result = AppendResult.DUPLICATE;
                    continue;
                }
                if (e.seq > prev.lastSeq() + 1 && fenced.contains(e.deviceId)) {
                    // An earlier write for this device failed. Storing this seq would record a gap
                    // over messages the device still holds, and WELCOME.last_seq would then tell
                    // it to drop them. Refuse until it resends from lastSeq + 1.
                    e.result = null;
                    e.error = new IOException(handle.dir + ": an earlier write for device " + e.deviceId
                            + " failed; not storing seq " + e.seq + " until seqs from " + (prev.lastSeq() + 1)
                            + " are resent");
                    continue;
                }
                e.result = e.seq == prev.lastSeq() + 1 ? AppendResult.STORED : AppendResult.STORED_AFTER_GAP;
                wb.put(handle.messagesCf, StoreLayout.messageKey(e.device, e.seq),
                        StoreLayout.messageValue(e.receivedAtMillis, e.payload));
                if (t == null) {
                    touched.put(e.deviceId, new Touched(e.device, prev.afterStoring(e.seq)));
                } else {
                    t.state = prev.afterStoring(e.seq);
                }
            }
            if (!touched.isEmpty()) {
                // Same batch as the messages: lastSeq on disk never disagrees with the messages.
                for (Touched t : touched.values()) {
                    wb.put(handle.devicesCf, t.device, t.state.encode());
                }
                writeHook.beforeWrite();
                handle.db.write(writeOptions, wb);
                commits.incrementAndGet();
            }
        } catch (RocksDBException | RuntimeException e) {
            // Nothing of this batch may be reported stored: the device resends after reconnect,
            // and the durable states (not updated here) classify the resends correctly.
            Throwable error = e instanceof RocksDBException re
                    ? new IOException(handle.dir + ": store write failed: " + RocksDbHandle.describe(re), re)
                    : e;
            log.warn("{}: write of {} messages failed: {}", handle.dir, batch.size(), error.toString());
            for (Entry entry : batch) {
                fenced.add(entry.deviceId);
                entry.done = true;
                complete(entry.callback, null, error);
            }
            return;
        }
        for (Map.Entry<String, Touched> t : touched.entrySet()) {
            states.merge(t.getKey(), t.getValue().state, DeviceState::newer);
            // Stored contiguously from the durable lastSeq (a gap was refused above): healed.
            fenced.remove(t.getKey());
        }
        for (Entry e : batch) {
            e.done = true;
            complete(e.callback, e.result, e.error);
        }
        if (!listeners.isEmpty()) {
            notifyListeners(batch);
        }
    }

    /** The device's durable state, from the map or (first time) from disk. Writer thread only. */
    private DeviceState durableState(Entry e) throws RocksDBException {
        DeviceState s = states.get(e.deviceId);
        if (s == null) {
            // No guard needed: the handle is closed only after this thread has ended.
            DeviceState loaded = handle.loadState(e.device);
            s = states.merge(e.deviceId, loaded == null ? DeviceState.EMPTY : loaded, DeviceState::newer);
        }
        return s;
    }

    private void notifyListeners(List<Entry> batch) {
        for (Entry e : batch) {
            if (e.result != AppendResult.STORED && e.result != AppendResult.STORED_AFTER_GAP) {
                continue;
            }
            StoredMessage m = new StoredMessage(e.deviceId, e.seq, e.receivedAtMillis, e.payload);
            for (Listener l : listeners) {
                try {
                    l.consumer.accept(m);
                } catch (RuntimeException ex) {
                    log.warn("{}: store subscriber threw", handle.dir, ex);
                }
            }
        }
    }

    private void failQueued(Throwable cause) {
        Entry e;
        while ((e = queue.poll()) != null) {
            if (e != POISON) {
                complete(e.callback, null, cause);
            }
        }
    }

    private Throwable stopCause() {
        Throwable t = stopped.get();
        return t != null ? t : new IllegalStateException("store closed: " + handle.dir);
    }

    private void complete(AppendCallback callback, AppendResult result, Throwable error) {
        try {
            callback.done(result, error);
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable ex) {
            // A failing callback must not take the writer (and every other device) down with it.
            log.warn("{}: append callback threw", handle.dir, ex);
        }
    }

    private static final class Entry {
        final String deviceId;
        final byte[] device;
        final long seq;
        final byte[] payload;
        final long receivedAtMillis;
        final AppendCallback callback;
        // Writer thread only.
        AppendResult result;
        Throwable error;
        boolean done;

        Entry(String deviceId, byte[] device, long seq, byte[] payload, long receivedAtMillis, AppendCallback callback) {
            this.deviceId = deviceId;
            this.device = device;
            this.seq = seq;
            this.payload = payload;
            this.receivedAtMillis = receivedAtMillis;
            this.callback = callback;
        }
    }

    private static final class Touched {
        final byte[] device;
        DeviceState state;

        Touched(byte[] device, DeviceState state) {
            this.device = device;
            this.state = state;
        }
    }

    /** Identity wrapper, so subscribing the same consumer twice gives two independent subscriptions. */
    private static final class Listener {
        final Consumer<StoredMessage> consumer;

        Listener(Consumer<StoredMessage> consumer) {
            this.consumer = consumer;
        }
    }

    /** Test seam: runs on the writer thread just before each batch write. */
    @FunctionalInterface
    interface WriteHook {
        void beforeWrite() throws RocksDBException;
    }

    // ---- options ---------------------------------------------------------------------------

    /**
     * How a {@link RocksDbMessageStore} writes. Immutable; build with {@link #builder()}.
     */
    public static final class Options {
        /** Default for {@link #maxBatch()}. */
        public static final int DEFAULT_MAX_BATCH = 4096;
        /** Default for {@link #maxBatchBytes()}: 4 MiB. */
        public static final int DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
        /** Default for {@link #queueCapacity()}. */
        public static final int DEFAULT_QUEUE_CAPACITY = 16_384;

        private static final Options DEFAULTS = builder().build();

        private final boolean sync;
        private final int maxBatch;
        private final int maxBatchBytes;
        private final int queueCapacity;

        private Options(Builder b) {
            this.sync = b.sync;
            this.maxBatch = b.maxBatch;
            this.maxBatchBytes = b.maxBatchBytes;
            this.queueCapacity = b.queueCapacity;
        }

        /** sync on, 4096 messages or 4 MiB per batch, 16,384 queued appends. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public static Builder builder() {
            return new Builder();
        }

        /**
         * {@code true} (default): each batch's WAL write is fsynced before any of its callbacks
         * fire, so acknowledged messages survive a power cut or kernel crash. {@code false}: the
         * WAL is written (to the page cache) but not fsynced: acknowledged messages survive the
         * process being killed, not the host going down.
         */
        public boolean sync() {
            return sync;
        }

        /** Most messages in one batch (one WAL write); at least 1. */
        public int maxBatch() {
            return maxBatch;
        }

        /**
         * Payload bytes after which a batch is closed, bounding the native memory of one batch;
         * a batch always takes at least one message, however large.
         */
        public int maxBatchBytes() {
            return maxBatchBytes;
        }

        /** Appends that may wait for the writer before {@link #append} blocks its caller. */
        public int queueCapacity() {
            return queueCapacity;
        }

        @Override
        public String toString() {
            return "sync=" + sync + ", maxBatch=" + maxBatch + ", maxBatchBytes=" + maxBatchBytes
                    + ", queueCapacity=" + queueCapacity;
        }

        /** Builder for {@link Options}; each setter validates its value. Not thread-safe. */
        public static final class Builder {
            private boolean sync = true;
            private int maxBatch = DEFAULT_MAX_BATCH;
            private int maxBatchBytes = DEFAULT_MAX_BATCH_BYTES;
            private int queueCapacity = DEFAULT_QUEUE_CAPACITY;

            private Builder() {
            }

            /** See {@link Options#sync()}. Default {@code true}. */
            public Builder sync(boolean sync) {
                this.sync = sync;
                return this;
            }

            /**
             * See {@link Options#maxBatch()}. Default 4096.
             *
             * @throws IllegalArgumentException if {@code n < 1}
             */
            public Builder maxBatch(int n) {
                if (n < 1) {
                    throw new IllegalArgumentException("maxBatch: " + n + " (expected: >= 1)");
                }
                this.maxBatch = n;
                return this;
            }

            /**
             * See {@link Options#maxBatchBytes()}. Default 4 MiB.
             *
             * @throws IllegalArgumentException if {@code bytes < 1}
             */
            public Builder maxBatchBytes(int bytes) {
                if (bytes < 1) {
                    throw new IllegalArgumentException("maxBatchBytes: " + bytes + " (expected: >= 1)");
                }
                this.maxBatchBytes = bytes;
                return this;
            }

            /**
             * See {@link Options#queueCapacity()}. Default 16,384.
             *
             * @throws IllegalArgumentException if {@code n < 1}
             */
            public Builder queueCapacity(int n) {
                if (n < 1) {
                    throw new IllegalArgumentException("queueCapacity: " + n + " (expected: >= 1)");
                }
                this.queueCapacity = n;
                return this;
            }

            public Options build() {
                return new Options(this);
            }
        }
    }
}
