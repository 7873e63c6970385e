package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.DeviceStats;
import io.tether.server.MessageCursor;
import io.tether.server.MessageStore;
import io.tether.server.StoreHealth;
import io.tether.server.StoreReader;
import io.tether.server.StoreUnavailableException;
import io.tether.server.StoredMessage;

import io.tether.server.internal.delivery.StoreLayout.DeviceState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import io.tether.server.internal.commands.CommandJournal;
import io.tether.server.internal.history.SessionHistory;
import io.tether.transport.BatchWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import io.tether.server.internal.feed.Feed;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
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
 * <p><b>Group commit.</b> Appends go to a {@link BatchWriter}: one writer thread that takes
 * everything queued (up to {@link Options#maxBatch()} messages and
 * {@link Options#maxBatchBytes()} payload bytes), classifies each message as
 * {@link AppendResult#STORED}, {@link AppendResult#STORED_AFTER_GAP} or
 * {@link AppendResult#DUPLICATE} in queue order against its own per-device last seq (so a duplicate
 * of a message in the same batch is caught), writes the messages and the devices' new states in
 * one atomic batch with one fsync, and then completes the callbacks in queue order. There is no
 * timer: the batch is whatever arrived while the previous fsync ran, so a lone message is written
 * at once and a busy store pays one fsync for thousands of messages.
 *
 * <p><b>Threads.</b> Thread-safe. {@link #append} never blocks and never drops. When
 * {@link Options#queueCapacity()} appends are waiting, {@link #isWritable()} turns false until the
 * writer has brought them down to half of that; callers stop reading from the connections that
 * feed the store meanwhile ({@link #whenWritable}), so only those connections wait, not the event
 * loop that serves them. Callbacks and {@link #subscribe subscribers} run on the writer thread and
 * must be quick and non-blocking: hand work to another thread. Appends for one device made from
 * one thread complete in the order they were made. {@link #lastSeq} is a map lookup, with one
 * RocksDB point read the first time a device with stored messages is seen; for a device with
 * none, a point read (a bloom-filter miss) per call, i.e. per connect, and no memory held for it.
 * {@link #lastSeqAsync} does those reads on the store's reader threads, never on the caller's.
 *
 * <p><b>Exhaustion.</b> A failed write (a full disk, no file descriptors, any I/O error) or free
 * space below {@link Options#minFreeDiskBytes()} puts the store in the
 * {@linkplain StoreHealth.State#FAILED failed} state: the batch and every append after it fail with
 * {@link StoreUnavailableException} (never acknowledged, so the device resends), with one ERROR
 * line for the change, not one per batch. A probe thread then checks every
 * {@value #PROBE_INTERVAL_MILLIS} ms: once free space is back above the threshold plus half of it
 * (hysteresis), it closes and reopens RocksDB (a sticky background error clears, the WAL a failed
 * write may have torn is replayed to its last whole record and a fresh one begins) and makes one
 * synced probe write; if that succeeds the store is healthy again and says so in one log line.
 * Reopening rather than {@code DB.resume()}: a WAL that a failed write left with a torn record must
 * not be written after, or point-in-time recovery would stop at that record and cut off later,
 * acknowledged writes.
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

    /** Threads for the point reads of {@link #lastSeqAsync}; reads are independent, two overlap disk waits. */
    private static final int READER_THREADS = 2;

    /** How often a failed store probes its resources, and a healthy one its free space. */
    static final long PROBE_INTERVAL_MILLIS = 500;

    /** The open database; replaced by the probe when it reopens. Written under {@link #lock}. */
    private volatile RocksDbHandle handle;
    private final Path dir;
    private final FileStore fileStore;
    /** Bytes of free space below which appends are refused; 0 = no check. */
    private final long minFreeBytes;
    /**
     * Held by the writer for each batch and by the probe while it checks or reopens: the two
     * never touch the database at once.
     */
    private final ReentrantLock lock = new ReentrantLock();
    private volatile StoreHealth health = StoreHealth.HEALTHY;
    /** A RocksDB write failed since the last reopen: recovery must reopen. Under {@link #lock}. */
    private boolean reopenNeeded;
    private long failures; // under lock
    private final ScheduledExecutorService prober;
    private final Options options;
    private final WriteHook writeHook;
    private final Runnable readHook;
    private final WriteOptions writeOptions;
    /** Writer thread only; closed after the writer has stopped. */
    private final WriteBatch writeBatch = new WriteBatch();
    /** Last durable state per device; filled lazily. Written by the writer after each commit. */
    private final ConcurrentHashMap<String, DeviceState> states = new ConcurrentHashMap<>();
    /**
     * Devices with a failed write since their last successful one; writer thread only. Until the
     * device resends from its durable lastSeq + 1, a seq beyond that is refused, not stored as a gap.
     */
    private final Set<String> fenced = new HashSet<>();
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong commits = new AtomicLong();
    /** Messages written (STORED or STORED_AFTER_GAP) by committed batches; duplicates are not. */
    private final AtomicLong appended = new AtomicLong();
    /** Non-null once appends are refused: the store is closing. */
    private final AtomicReference<Throwable> stopped = new AtomicReference<>();
    private final BatchWriter<Entry> writer;
    private final ExecutorService readers;
    private final Object closeLock = new Object();
    private boolean closed; // guarded by closeLock
    private CommandJournal commandJournal; // guarded by this
    /** The application feed; null with {@link Options#feed()} off. */
    private final RocksDbFeed feed;
    /** Feed events refused (store failed or closing): the only way an event is lost. */
    private final AtomicLong feedEventsLost = new AtomicLong();
    private SessionHistory sessionHistory; // guarded by this

    private RocksDbMessageStore(RocksDbHandle handle, Options options, WriteHook writeHook, Runnable readHook)
            throws IOException {
        this.handle = handle;
        this.dir = handle.dir;
        this.fileStore = Files.getFileStore(handle.dir);
        this.minFreeBytes = options.minFreeDiskBytes() == Options.AUTO
                ? Options.autoMinFree(fileStore.getTotalSpace())
                : options.minFreeDiskBytes();
        this.options = options;
        this.writeHook = writeHook;
        this.readHook = readHook;
        this.writeOptions = new WriteOptions().setSync(options.sync());
        this.feed = options.feed() ? new RocksDbFeed(() -> this.handle, options.forwarding(), stopped::get) : null;
        List<Entry> crashed = feed == null ? List.of() : closesLeftOpen(feed);
        // Unbounded: append never refuses (a refused append would leave a hole before a later
        // seq of the same device). The water marks bound the queue in practice: callers stop
        // reading while it is above them. Daemon thread: nothing acknowledged is at risk if the
        // JVM exits mid-write; the WAL is cut at its last whole record on the next open.
        this.writer = BatchWriter.<Entry>builder("tether-store-writer", this::commit)
                .maxBatch(options.maxBatch())
                .maxBatchWeight(options.maxBatchBytes(), e -> e.payload != null ? e.payload.length : FEED_BODY_ESTIMATE)
                .waterMarks(options.queueCapacity() / 2, options.queueCapacity())
                .onFailure(this::writerFailed)
                .start();
        if (feed != null) {
            feed.appender(this::appendFeed);
            for (Entry e : crashed) {
                writer.offer(e);
            }
            if (!crashed.isEmpty()) {
                log.warn("{}: {} sessions were open when the server last stopped without closing them (kill -9, crash,"
                        + " power loss): their close events go to the feed now, reason SERVER_SHUTDOWN, \"unclean\": true",
                        handle.dir, crashed.size());
            }
        }
        ThreadPoolExecutor pool = new ThreadPoolExecutor(READER_THREADS, READER_THREADS, 10, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "tether-store-reader");
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        this.readers = pool;
        this.prober = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tether-store-probe");
            t.setDaemon(true);
            return t;
        });
        prober.scheduleWithFixedDelay(this::probe, PROBE_INTERVAL_MILLIS, PROBE_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
        if (feed != null && !options.retention().isZero()) {
            prober.scheduleWithFixedDelay(this::retain, RETENTION_INTERVAL_MILLIS, RETENTION_INTERVAL_MILLIS,
                    TimeUnit.MILLISECONDS);
        }
    }

    /** How often retention deletes old forwarded feed entries and their messages. */
    static final long RETENTION_INTERVAL_MILLIS = 2_000;

    /** Close events for the sessions a crash left open, queued before anything else. */
    private static List<Entry> closesLeftOpen(RocksDbFeed feed) throws IOException {
        List<String> devices = new ArrayList<>();
        List<long[]> live;
        try {
            live = feed.liveSessions(devices);
        } catch (RocksDBException e) {
            throw new IOException("cannot read the feed's open sessions: " + RocksDbHandle.describe(e), e);
        }
        long now = System.currentTimeMillis();
        List<Entry> out = new ArrayList<>(live.size());
        for (int i = 0; i < live.size(); i++) {
            String device = devices.get(i);
            long session = live.get(i)[0];
            long openedAt = live.get(i)[1];
            byte[] json = uncleanClose(now, device, session, now - openedAt);
            out.add(Entry.feed(Feed.Kind.EVENT, device, StoreLayout.deviceBytes(device), session, 0, now, () -> json, 2));
        }
        return out;
    }

    private static final com.fasterxml.jackson.core.JsonFactory JSON = new com.fasterxml.jackson.core.JsonFactory();

    /** The close event of a session that the previous run of the server never closed. */
    static byte[] uncleanClose(long atMillis, String device, long session, long durationMillis) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(256);
        try (com.fasterxml.jackson.core.JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("ts", java.time.Instant.ofEpochMilli(atMillis).toString());
            g.writeStringField("event", "close");
            g.writeStringField("device", device);
            g.writeNumberField("session", session);
            g.writeStringField("reason", "SERVER_SHUTDOWN");
            g.writeNumberField("durationMs", Math.max(0, durationMillis));
            g.writeBooleanField("unclean", true);
            g.writeStringField("detail", "the server stopped without closing this session (kill -9, crash or power"
                    + " loss); closed when it started again");
            g.writeEndObject();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
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
        return open(dataDir, options, writeHook, () -> { });
    }

    /** For tests: {@code readHook} runs before each point read of {@link #lastSeq}, on the reading thread. */
    static RocksDbMessageStore open(Path dataDir, Options options, WriteHook writeHook, Runnable readHook)
            throws IOException {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(options, "options");
        RocksDbHandle handle = RocksDbHandle.openWritable(dataDir);
        RocksDbMessageStore store;
        try {
            store = new RocksDbMessageStore(handle, options, writeHook, readHook);
        } catch (IOException | RuntimeException e) {
            handle.close();
            throw e;
        }
        log.info("{}: message store open ({}, min free disk {} bytes)", handle.dir, options, store.minFreeBytes);
        return store;
    }

    /**
     * The command ledger's journal in this store (the same database, its own column family and
     * writer, the store's sync setting). Made once; closed with the store, before its database.
     */
    public synchronized CommandJournal commandJournal() {
        if (commandJournal == null) {
            commandJournal = new RocksDbCommandJournal(() -> handle, options.sync());
        }
        return commandJournal;
    }

    /** The application feed of this store, or null with {@link Options#feed()} off. */
    public Feed feed() {
        return feed;
    }

    /** Feed events refused because the store was failed or closing. */
    public long feedEventsLost() {
        return feedEventsLost.get();
    }

    /**
     * The device history in this store (its own column family, written by its own thread), keeping
     * {@code keep} sessions per device; made on the first call, closed with the store.
     *
     * @throws IllegalArgumentException if {@code keep} is out of 1 to {@link SessionHistory#MAX_KEEP}
     * @throws IllegalStateException if called again with another {@code keep}
     */
    public synchronized SessionHistory sessionHistory(int keep, io.micrometer.core.instrument.MeterRegistry meters) {
        if (sessionHistory == null) {
            // Through the current handle: a store that recovered from a failure has reopened RocksDB.
            sessionHistory = new RocksDbSessionHistory(() -> handle, keep, meters);
        } else if (sessionHistory.keep() != keep) {
            throw new IllegalStateException("the store's history keeps " + sessionHistory.keep() + " sessions, not " + keep);
        }
        return sessionHistory;
    }

    @Override
    public List<io.tether.server.SessionRecord> history(String deviceId) {
        return handle.history(deviceId);
    }

    public Path dataDir() {
        return dir;
    }

    /** Free bytes below which appends are refused (the resolved {@link Options#minFreeDiskBytes()}); 0 = none. */
    public long minFreeDiskBytes() {
        return minFreeBytes;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Resources: {@code disk} (ENOSPC, or free space below {@link #minFreeDiskBytes()}),
     * {@code descriptors} (EMFILE / ENFILE), {@code io} (anything else RocksDB reported).
     */
    @Override
    public StoreHealth health() {
        return health;
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
        RocksDbHandle handle = this.handle;
        if (!handle.enter()) {
            throw new IllegalStateException("store closed: " + handle.dir);
        }
        try {
            readHook.run();
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
     * {@link #lastSeq} without blocking the caller: a device whose state is in memory completes
     * at once, on the calling thread; any other needs a RocksDB point read, done on one of the
     * store's reader threads, which then completes the stage (dependent actions given without an
     * executor run there too: hand them to the event loop). Fails with the exceptions of
     * {@link #lastSeq}, also {@link IllegalStateException} once the store is closed.
     */
    @Override
    public CompletionStage<Long> lastSeqAsync(String deviceId) {
        DeviceState s = states.get(deviceId);
        if (s != null) {
            return CompletableFuture.completedFuture(s.lastSeq());
        }
        try {
            return CompletableFuture.supplyAsync(() -> lastSeq(deviceId), readers);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("store closed: " + handle.dir, e));
        }
    }

    /** False while more than {@link Options#queueCapacity()} appends wait for the writer; see {@link MessageStore}. */
    @Override
    public boolean isWritable() {
        return writer.isWritable();
    }

    /**
     * Runs {@code task} once the queue is back at half of {@link Options#queueCapacity()}: at once
     * on the calling thread if the store is writable now, else on the writer thread (or the
     * closing thread: a closed store lets every waiter go).
     */
    @Override
    public void whenWritable(Runnable task) {
        writer.whenWritable(task);
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
     * <p>Never blocks and never refuses for a full queue (see {@link #isWritable()}): an append
     * that failed while a later one of the same device got in would leave a hole. The payload
     * array is kept, not copied: do not modify it after the call.
     *
     * @param seq 1 to 2^63-1
     * @param receivedAtMillis wall-clock receive time, epoch milliseconds, stored as given
     */
    @Override
    public void append(String deviceId, long seq, byte[] payload, long receivedAtMillis, AppendCallback callback) {
        append(deviceId, 0, seq, payload, receivedAtMillis, callback);
    }

    /** {@link #append(String, long, byte[], long, AppendCallback)}, with the session the message came in, for the feed. */
    @Override
    public void append(String deviceId, long session, long seq, byte[] payload, long receivedAtMillis,
                       AppendCallback callback) {
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
        entry.session = session;
        Throwable stop = stopped.get();
        if (stop != null) {
            complete(callback, null, stop);
            return;
        }
        StoreHealth h = health;
        if (!h.isHealthy()) {
            // Refused at once: queueing behind a failed store would only fill the queue.
            complete(callback, null, new StoreUnavailableException(h));
            return;
        }
        // Refused only when closing: the writer's capacity is unbounded.
        if (!writer.offer(entry)) {
            complete(callback, null, stopCause());
        }
    }

    /**
     * Queues a feed event or command change for the writer's next batch; dropped (and counted in
     * {@link #feedEventsLost()}) only while the store is failed for a reason other than the
     * backlog, or closing: events are small, so a backlog of unforwarded data does not stop them.
     */
    private void appendFeed(Feed.Kind kind, String deviceId, long session, long seq, long atMillis, Feed.Body body,
                            int live) {
        byte[] device = null;
        if (deviceId != null) {
            try {
                device = StoreLayout.deviceBytes(deviceId);
            } catch (IllegalArgumentException e) {
                deviceId = null; // a failed handshake's claimed id may be anything: the JSON has it
            }
        }
        StoreHealth h = health;
        if (stopped.get() != null || (!h.isHealthy() && !BACKLOG.equals(h.resource()))) {
            feedEventsLost.incrementAndGet();
            return;
        }
        if (!writer.offer(Entry.feed(kind, deviceId, device, session, seq, atMillis, body, device == null ? 0 : live))) {
            feedEventsLost.incrementAndGet();
        }
    }

    /** {@link StoreHealth#resource()} of a store that refuses appends because too much is unforwarded. */
    static final String BACKLOG = "backlog";

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

    /** Messages written by committed batches (duplicates are not written, so not counted). */
    public long appended() {
        return appended.get();
    }

    /** Whether each commit is fsynced ({@link Options#sync()}). */
    public boolean syncs() {
        return options.sync();
    }

    /** Appends queued or being written, not yet completed; a gauge of back-pressure. */
    public int pending() {
        return writer.pending();
    }

    // ---- close -----------------------------------------------------------------------------

    /**
     * Stops accepting appends (later appends fail with {@link IllegalStateException}), commits
     * everything already queued and fires its callbacks, flushes memtables to SST files, and
     * closes RocksDB and any open cursors. Blocks until done. Idempotent; concurrent calls wait
     * for the first. {@link #lastSeqAsync} stages still waiting for a read fail.
     *
     * <p>Close the server (its connections) first: an append arriving after this fails and its
     * connection closes without an ACK, so the device resends it next time.
     *
     * @throws IllegalStateException if called from a store callback or subscriber (the writer
     *     thread cannot wait for itself)
     */
    @Override
    public void close() {
        if (writer.isWriterThread()) {
            throw new IllegalStateException("close() called from a store callback; close from another thread");
        }
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            stopped.compareAndSet(null, new IllegalStateException("store closed: " + handle.dir));
            prober.shutdownNow();
            // Reads still queued run after the handle is closed and fail with "store closed".
            readers.shutdown();
            writer.close();
            if (feed != null) {
                feed.failHeld(new IllegalStateException("store closed before Kafka had the message: " + handle.dir));
            }
            synchronized (this) {
                if (commandJournal != null) {
                    commandJournal.close();
                }
                if (sessionHistory != null) {
                    sessionHistory.close();
                }
            }
            lock.lock();
            try {
                handle.flush();
                handle.close();
            } finally {
                lock.unlock();
            }
            writeBatch.close();
            writeOptions.close();
            if (feed != null) {
                feed.close();
            }
            closed = true;
            log.info("{}: message store closed after {} commits", handle.dir, commits.get());
        }
    }

    // ---- writer thread ---------------------------------------------------------------------

    /**
     * The writer's policy for what {@link #commit} lets through: not a failed write (commit
     * reports those itself) but an Error, e.g. out of memory. Fail what was not completed and
     * fence its devices, as for a failed write; the writer goes on with the next batch.
     */
    private BatchWriter.Decision writerFailed(List<Entry> batch, Throwable error, int attempt) {
        log.error("{}: store writer failed on a batch of {}: {}", handle.dir, batch.size(), error.toString(), error);
        for (Entry e : batch) {
            if (!e.done) {
                e.done = true;
                if (e.kind == null) {
                    fenced.add(e.deviceId);
                } else {
                    feedEventsLost.incrementAndGet();
                }
                complete(e.callback, null, error);
            }
        }
        return BatchWriter.Decision.drop();
    }

    private void commit(List<Entry> batch) {
        lock.lock();
        try {
            if (health.isHealthy()) {
                checkFreeSpace();
            }
            StoreHealth h = health;
            if (!h.isHealthy()) {
                // Queued before the store failed: refused like any append made now; a backlog
                // refuses messages only (the feed's events are what says what is going on).
                if (!BACKLOG.equals(h.resource())) {
                    refuse(batch, new StoreUnavailableException(h));
                    return;
                }
                List<Entry> events = new ArrayList<>();
                List<Entry> messages = new ArrayList<>();
                for (Entry e : batch) {
                    (e.kind == null ? messages : events).add(e);
                }
                refuse(messages, new StoreUnavailableException(h));
                if (events.isEmpty()) {
                    return;
                }
                batch = events;
            }
            commit(batch, writeBatch);
            checkBacklog();
        } finally {
            lock.unlock();
        }
    }

    /** Fails every append of the batch, fencing their devices: none of it was stored. */
    private void refuse(List<Entry> batch, Throwable error) {
        for (Entry entry : batch) {
            if (entry.kind == null) {
                fenced.add(entry.deviceId);
            } else {
                feedEventsLost.incrementAndGet();
            }
            entry.done = true;
            complete(entry.callback, null, error);
        }
    }

    // ---- health: writer thread or probe thread, under the lock ------------------------------

    /** Enters the failed state when free space is below the threshold; before RocksDB runs out. */
    private void checkFreeSpace() {
        if (minFreeBytes == 0) {
            return;
        }
        long free = usableSpace();
        if (free >= 0 && free < minFreeBytes) {
            fail("disk", dir + ": " + free + " bytes free, below --min-free-disk " + minFreeBytes
                    + " bytes; appends are refused until " + resumeFreeBytes() + " bytes are free (free space"
                    + " on that filesystem, or lower --min-free-disk)", false);
        }
    }

    /**
     * Enters the failed state (resource {@value #BACKLOG}) when the data not yet forwarded to
     * Kafka reaches {@link Options#maxUnforwardedBytes()}: messages are refused (the devices keep
     * them and resend), nothing stored is dropped. Writer thread, under the lock.
     */
    private void checkBacklog() {
        long max = options.maxUnforwardedBytes();
        if (feed == null || max == 0 || !health.isHealthy()) {
            return;
        }
        long unforwarded = feed.unforwardedBytes();
        if (unforwarded >= max) {
            fail(BACKLOG, dir + ": " + unforwarded + " bytes not yet forwarded to Kafka reached --max-store-bytes " + max
                    + "; messages are refused (devices keep them) until the forwarder has brought it below "
                    + resumeBacklogBytes(), false);
        }
    }

    /** Unforwarded bytes at which a store failed for its backlog takes messages again: 90 % of the limit. */
    private long resumeBacklogBytes() {
        return options.maxUnforwardedBytes() - options.maxUnforwardedBytes() / 10;
    }

    /** Prober thread: one retention round (see {@link Options#retention()}). */
    private void retain() {
        lock.lock();
        try {
            if (stopped.get() != null || feed == null) {
                return;
            }
            long cutoff = System.currentTimeMillis() - options.retention().toMillis();
            int n;
            long total = 0;
            do {
                n = feed.retain(cutoff, new Trim());
                total += n;
            } while (n == RocksDbFeed.RETENTION_ROUND && stopped.get() == null);
            if (total > 0) {
                retainedSinceCompaction += total;
                log.debug("{}: retention deleted {} feed entries older than {}", dir, total, options.retention());
            }
            long now = System.currentTimeMillis();
            if (retainedSinceCompaction > 0 && now - lastCompactionMillis >= COMPACTION_INTERVAL_MILLIS) {
                // Deletes free disk space only when compaction drops them with the data they hide,
                // and the write-ahead log only once every family that has data in it is flushed.
                RocksDbHandle h = handle;
                h.flush();
                if (h.enter()) {
                    try {
                        h.db.compactRange(h.feedCf);
                        h.db.compactRange(h.messagesCf);
                    } finally {
                        h.exit();
                    }
                }
                retainedSinceCompaction = 0;
                lastCompactionMillis = now;
            }
        } catch (RocksDBException | RuntimeException e) {
            log.debug("{}: retention round failed: {}", dir, e.toString());
        } finally {
            lock.unlock();
        }
    }

    /**
     * What a retention round changes in the devices' states (count, first seq; the last seq
     * stays), written in the round's batch. Runs under {@link #lock}, which the writer holds for
     * each commit: no append changes these states meanwhile.
     */
    private final class Trim implements RocksDbFeed.RetentionHook {
        private final Map<String, DeviceState> next = new HashMap<>();

        @Override
        public void beforeWrite(WriteBatch wb, RocksDbHandle h, Map<String, long[]> trimmed) throws RocksDBException {
            try (RocksIterator it = h.db.newIterator(h.messagesCf)) {
                for (Map.Entry<String, long[]> t : trimmed.entrySet()) {
                    byte[] device = StoreLayout.deviceBytes(t.getKey());
                    DeviceState s = states.get(t.getKey());
                    if (s == null) {
                        s = h.loadState(device);
                    }
                    if (s == null) {
                        continue;
                    }
                    // The device's seqs enter the feed in order, so everything above the highest
                    // deleted one stays: its first key is the new first seq (none: nothing left).
                    long firstSeq = 0;
                    byte[] prefix = StoreLayout.devicePrefix(device);
                    it.seek(StoreLayout.messageKey(device, t.getValue()[1] + 1));
                    if (it.isValid() && StoreLayout.startsWith(it.key(), prefix) && it.key().length == prefix.length + 8) {
                        firstSeq = StoreLayout.seqOf(it.key());
                    }
                    it.status();
                    DeviceState trimmedState = new DeviceState(s.lastSeq(), firstSeq,
                            firstSeq == 0 ? 0 : Math.max(1, s.count() - t.getValue()[0]));
                    wb.put(h.devicesCf, device, trimmedState.encode());
                    next.put(t.getKey(), trimmedState);
                }
            }
        }

        @Override
        public void written() {
            states.putAll(next);
        }
    }

    /** Retention compacts at most this often (a compaction after a large delete is what frees the disk). */
    static final long COMPACTION_INTERVAL_MILLIS = 10_000;
    private long retainedSinceCompaction; // prober thread
    private long lastCompactionMillis;    // prober thread

    /** Free space at which a store failed for want of it takes appends again: the threshold and half of it. */
    private long resumeFreeBytes() {
        return minFreeBytes + minFreeBytes / 2;
    }

    /** Usable bytes on the store's filesystem (one statfs), or -1 if that cannot be read. */
    private long usableSpace() {
        try {
            return fileStore.getUsableSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    private void fail(String resource, String cause, boolean rocksDbFailed) {
        reopenNeeded |= rocksDbFailed;
        if (!health.isHealthy()) {
            return;
        }
        failures++;
        health = new StoreHealth(StoreHealth.State.FAILED, resource, cause, System.currentTimeMillis(), failures);
        // One line per change of state, not per refused batch.
        log.error("{}: message store FAILED ({}): {}; refusing appends, devices are told BYE STORE_UNAVAILABLE;"
                + " probing every {} ms and resuming by itself", dir, resource, cause, PROBE_INTERVAL_MILLIS);
    }

    /** Every {@link #PROBE_INTERVAL_MILLIS}: a healthy store checks its free space, a failed one tries to recover. */
    private void probe() {
        lock.lock();
        try {
            if (stopped.get() != null) {
                return;
            }
            if (health.isHealthy()) {
                checkFreeSpace();
                return;
            }
            tryRecover();
        } catch (RuntimeException e) {
            log.debug("{}: store probe failed", dir, e);
        } finally {
            lock.unlock();
        }
    }

    private void tryRecover() {
        if (BACKLOG.equals(health.resource())) {
            if (feed.unforwardedBytes() >= resumeBacklogBytes()) {
                return;
            }
            StoreHealth was = health;
            health = new StoreHealth(StoreHealth.State.HEALTHY, "", "", System.currentTimeMillis(), failures);
            log.warn("{}: message store RECOVERED after {} ms (backlog: {} bytes unforwarded now); accepting messages again",
                    dir, health.sinceMillis() - was.sinceMillis(), feed.unforwardedBytes());
            return;
        }
        if (minFreeBytes > 0) {
            long free = usableSpace();
            if (free >= 0 && free < resumeFreeBytes()) {
                return;
            }
        }
        if (reopenNeeded) {
            handle.close();
            try {
                handle = RocksDbHandle.openWritable(dir);
            } catch (IOException e) {
                log.debug("{}: store reopen failed: {}", dir, e.toString());
                return;
            }
            // What a failed write left in the WAL was replayed by the open: reload from disk.
            states.clear();
            reopenNeeded = false;
        }
        try (WriteOptions sync = new WriteOptions().setSync(true)) {
            handle.db.delete(handle.defaultCf, sync, PROBE_KEY);
        } catch (RocksDBException e) {
            reopenNeeded = true;
            log.debug("{}: store probe write failed: {}", dir, RocksDbHandle.describe(e));
            return;
        }
        StoreHealth was = health;
        health = new StoreHealth(StoreHealth.State.HEALTHY, "", "", System.currentTimeMillis(), failures);
        log.warn("{}: message store RECOVERED after {} ms ({} was: {}); accepting appends again", dir,
                health.sinceMillis() - was.sinceMillis(), was.resource(), was.cause());
    }

    /** What the probe writes (a delete: it leaves nothing behind, but goes through the WAL and its fsync). */
    private static final byte[] PROBE_KEY = "tether.probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Which resource a failed RocksDB call ran out of, from the OS error text it carries. */
    static String resourceOf(String message) {
        String m = message == null ? "" : message;
        if (m.contains("No space left on device") || m.contains("Disk quota exceeded")) {
            return "disk";
        }
        if (m.contains("Too many open files")) {
            return "descriptors";
        }
        return "io";
    }

    private void commit(List<Entry> batch, WriteBatch wb) {
        // Device states as they will be once this batch is written; starts from the durable ones.
        Map<String, Touched> touched = new HashMap<>();
        RocksDbHandle handle = this.handle;
        int feedEntries = 0;
        try {
            wb.clear();
            for (Entry e : batch) {
                e.error = null;
                if (e.kind != null && e.payload == null && !render(e)) {
                    continue;
                }
                if (e.kind != null) {
                    // A feed event or command change: no seq, no device state.
                    e.offset = feed.assign(wb, handle, e.kind.code(), e.session, e.seq, e.receivedAtMillis, e.device,
                            e.payload.length, e.payload);
                    if (e.live != 0) {
                        RocksDbFeed.markLive(wb, handle, e.live, e.session, e.receivedAtMillis, e.device);
                    }
                    e.result = AppendResult.STORED;
                    feedEntries++;
                    continue;
                }
                Touched t = touched.get(e.deviceId);
                DeviceState prev = t != null ? t.state : durableState(e);
                if (e.seq <= prev.lastSeq()) {
                    e.result = AppendResult.DUPLICATE;
                    // Its original is at or below the last offset assigned: with --ack-after kafka
                    // the duplicate's ACK waits for that, too.
                    e.offset = feed == null ? 0 : feed.assigned();
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
                if (feed != null) {
                    e.offset = feed.assign(wb, handle, Feed.Kind.MESSAGE.code(), e.session, e.seq, e.receivedAtMillis,
                            e.device, e.payload.length, null);
                    feedEntries++;
                }
                if (t == null) {
                    touched.put(e.deviceId, new Touched(e.device, prev.afterStoring(e.seq)));
                } else {
                    t.state = prev.afterStoring(e.seq);
                }
            }
            if (!touched.isEmpty() || feedEntries > 0) {
                // Same batch as the messages: lastSeq on disk never disagrees with the messages.
                for (Touched t : touched.values()) {
                    wb.put(handle.devicesCf, t.device, t.state.encode());
                }
                writeHook.beforeWrite();
                handle.db.write(writeOptions, wb);
                commits.incrementAndGet();
                long written = 0;
                for (Entry e : batch) {
                    if (e.kind == null && e.error == null && e.result != null && e.result != AppendResult.DUPLICATE) {
                        written++;
                    }
                }
                appended.addAndGet(written);
            }
            if (feed != null) {
                feed.published();
            }
        } catch (RocksDBException | RuntimeException e) {
            if (feed != null) {
                feed.rolledBack();
            }
            // Nothing of this batch may be reported stored: the device resends after reconnect,
            // and the durable states (not updated here) classify the resends correctly.
            String why = e instanceof RocksDBException re ? RocksDbHandle.describe(re) : e.toString();
            fail(resourceOf(why), dir + ": store write failed: " + why, true);
            StoreUnavailableException error = new StoreUnavailableException(health);
            error.initCause(e);
            refuse(batch, error);
            return;
        }
        for (Map.Entry<String, Touched> t : touched.entrySet()) {
            states.merge(t.getKey(), t.getValue().state, DeviceState::newer);
            // Stored contiguously from the durable lastSeq (a gap was refused above): healed.
            fenced.remove(t.getKey());
        }
        boolean hold = feed != null && options.ackAfterForward();
        for (Entry e : batch) {
            e.done = true;
            if (hold && e.kind == null && e.error == null) {
                AppendCallback cb = e.callback;
                feed.completeWhenForwarded(e.offset, (r, err) -> complete(cb, r, err), e.result);
            } else {
                complete(e.callback, e.result, e.error);
            }
        }
        if (!listeners.isEmpty()) {
            notifyListeners(batch);
        }
    }

    /** What a feed event's body is assumed to weigh in a batch before it is made (a close event's JSON is ~300 B). */
    private static final int FEED_BODY_ESTIMATE = 384;

    /**
     * Makes a queued feed event's bytes (its JSON is formatted here, off the event loop that
     * queued it). A body that cannot be made is dropped and counted; the batch goes on.
     */
    private boolean render(Entry e) {
        try {
            e.payload = Objects.requireNonNull(e.body.bytes(), "feed body");
            e.body = null;
            return true;
        } catch (RuntimeException ex) {
            feedEventsLost.incrementAndGet();
            log.warn("{}: a {} feed entry of device {} could not be made; dropped", handle.dir, e.kind, e.deviceId, ex);
            e.result = null;
            return false;
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
            if (e.kind != null || (e.result != AppendResult.STORED && e.result != AppendResult.STORED_AFTER_GAP)) {
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
        /** A message's payload; a feed entry's bytes, null until {@link #render} made them from {@link #body}. */
        byte[] payload;
        Feed.Body body;
        final long receivedAtMillis;
        final AppendCallback callback;
        /** Null for a message; the kind of a feed event or command change (payload = its JSON). */
        Feed.Kind kind;
        long session;
        /** A feed event's session mark: 0 none, 1 opens, 2 closes. */
        int live;
        // Writer thread only.
        /** The feed offset a message or event was given (a duplicate: the last assigned before it). */
        long offset;
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

        static Entry feed(Feed.Kind kind, String deviceId, byte[] device, long session, long seq, long atMillis,
                          Feed.Body body, int live) {
            Entry e = new Entry(deviceId, device, seq, null, atMillis, NO_CALLBACK);
            e.body = body;
            e.kind = kind;
            e.session = session;
            e.live = live;
            return e;
        }

        private static final AppendCallback NO_CALLBACK = (r, err) -> { };
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
        /** {@link #minFreeDiskBytes()} meaning "1 % of the filesystem or 512 MiB, whichever is smaller" (the default). */
        public static final long AUTO = -1;
        /** The cap of the {@link #AUTO} threshold: 512 MiB. */
        public static final long AUTO_MIN_FREE_CAP = 512L * 1024 * 1024;

        private static final Options DEFAULTS = builder().build();

        private final boolean sync;
        private final int maxBatch;
        private final int maxBatchBytes;
        private final int queueCapacity;
        private final long minFreeDiskBytes;
        private final boolean feed;
        private final boolean forwarding;
        private final boolean ackAfterForward;
        private final java.time.Duration retention;
        private final long maxUnforwardedBytes;

        private Options(Builder b) {
            this.feed = b.feed;
            this.forwarding = b.forwarding;
            this.ackAfterForward = b.ackAfterForward;
            this.retention = b.retention;
            this.maxUnforwardedBytes = b.maxUnforwardedBytes;
            this.sync = b.sync;
            this.maxBatch = b.maxBatch;
            this.maxBatchBytes = b.maxBatchBytes;
            this.queueCapacity = b.queueCapacity;
            this.minFreeDiskBytes = b.minFreeDiskBytes;
        }

        /** The {@link #AUTO} threshold for a filesystem of {@code totalBytes}: 1 % of it, at most 512 MiB. */
        public static long autoMinFree(long totalBytes) {
            return Math.min(totalBytes / 100, AUTO_MIN_FREE_CAP);
        }

        /**
         * Free bytes on the store's filesystem below which the store refuses appends (fails with
         * {@link StoreUnavailableException}) before RocksDB itself runs out, so that recovery is
         * clean; it takes them again once free space is back above this plus half of it.
         * {@link #AUTO} (default): 1 % of the filesystem or 512 MiB, whichever is smaller.
         * 0: no check (RocksDB's own ENOSPC still fails the store, which recovers the same way).
         */
        public long minFreeDiskBytes() {
            return minFreeDiskBytes;
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

        /**
         * Appends that may wait for the writer before {@link #isWritable()} turns false (the
         * high-water mark); it turns true again at half of this. Appends are never refused.
         */
        public int queueCapacity() {
            return queueCapacity;
        }

        /**
         * Whether the store keeps the application feed ({@link RocksDbMessageStore#feed()}): one
         * more small record per message (a reference, not a copy) and one per session event.
         * Default {@code true}.
         */
        public boolean feed() {
            return feed;
        }

        /**
         * Whether a forwarder (Kafka) consumes the feed and moves its position. Without one,
         * every entry counts as forwarded: retention deletes by age alone and nothing is held.
         */
        public boolean forwarding() {
            return forwarding;
        }

        /** {@code --ack-after kafka}: an append completes only once the forwarder has its feed entry. */
        public boolean ackAfterForward() {
            return ackAfterForward;
        }

        /**
         * Feed entries (and their messages) older than this, and forwarded, are deleted; zero
         * (default): kept forever.
         */
        public java.time.Duration retention() {
            return retention;
        }

        /**
         * Bytes of message and event bodies not yet forwarded at which the store refuses messages
         * (the {@value RocksDbMessageStore#BACKLOG} failure) until 90 % of it; 0 (default): no limit.
         */
        public long maxUnforwardedBytes() {
            return maxUnforwardedBytes;
        }

        @Override
        public String toString() {
            return "sync=" + sync + ", maxBatch=" + maxBatch + ", maxBatchBytes=" + maxBatchBytes
                    + ", queueCapacity=" + queueCapacity
                    + ", minFreeDisk=" + (minFreeDiskBytes == AUTO ? "auto" : minFreeDiskBytes + " bytes")
                    + ", feed=" + (!feed ? "off" : "on" + (forwarding ? ", forwarding" : "")
                    + (ackAfterForward ? ", ack after forward" : "")
                    + (retention.isZero() ? "" : ", retention " + retention)
                    + (maxUnforwardedBytes == 0 ? "" : ", max unforwarded " + maxUnforwardedBytes + " bytes"));
        }

        /** Builder for {@link Options}; each setter validates its value. Not thread-safe. */
        public static final class Builder {
            private boolean sync = true;
            private int maxBatch = DEFAULT_MAX_BATCH;
            private int maxBatchBytes = DEFAULT_MAX_BATCH_BYTES;
            private int queueCapacity = DEFAULT_QUEUE_CAPACITY;
            private long minFreeDiskBytes = AUTO;
            private boolean feed = true;
            private boolean forwarding;
            private boolean ackAfterForward;
            private java.time.Duration retention = java.time.Duration.ZERO;
            private long maxUnforwardedBytes;

            private Builder() {
            }

            /** See {@link Options#feed()}. Default {@code true}. */
            public Builder feed(boolean on) {
                this.feed = on;
                return this;
            }

            /** See {@link Options#forwarding()}. Default {@code false}. */
            public Builder forwarding(boolean on) {
                this.forwarding = on;
                return this;
            }

            /** See {@link Options#ackAfterForward()}. Default {@code false}; needs {@link #forwarding}. */
            public Builder ackAfterForward(boolean on) {
                this.ackAfterForward = on;
                return this;
            }

            /**
             * See {@link Options#retention()}. Default zero (keep).
             *
             * @throws IllegalArgumentException if negative
             */
            public Builder retention(java.time.Duration d) {
                if (d == null || d.isNegative()) {
                    throw new IllegalArgumentException("retention: " + d + " (expected: >= 0)");
                }
                this.retention = d;
                return this;
            }

            /**
             * See {@link Options#maxUnforwardedBytes()}. Default 0 (no limit).
             *
             * @throws IllegalArgumentException if negative
             */
            public Builder maxUnforwardedBytes(long bytes) {
                if (bytes < 0) {
                    throw new IllegalArgumentException("maxUnforwardedBytes: " + bytes + " (expected: >= 0)");
                }
                this.maxUnforwardedBytes = bytes;
                return this;
            }

            /**
             * See {@link Options#minFreeDiskBytes()}. Default {@link #AUTO}.
             *
             * @throws IllegalArgumentException if {@code bytes} is negative and not {@link #AUTO}
             */
            public Builder minFreeDiskBytes(long bytes) {
                if (bytes < 0 && bytes != AUTO) {
                    throw new IllegalArgumentException("minFreeDisk: " + bytes + " bytes (expected: >= 0, or AUTO)");
                }
                this.minFreeDiskBytes = bytes;
                return this;
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

            /**
             * @throws IllegalStateException if a forwarding option is set without the feed or
             *     without {@link #forwarding}
             */
            public Options build() {
                if ((forwarding || ackAfterForward || maxUnforwardedBytes > 0) && !feed) {
                    throw new IllegalStateException("forwarding, ack after forward and max unforwarded bytes need the feed");
                }
                if ((ackAfterForward || maxUnforwardedBytes > 0) && !forwarding) {
                    throw new IllegalStateException("ack after forward and max unforwarded bytes need a forwarder (Kafka)");
                }
                return new Options(this);
            }
        }
    }
}
