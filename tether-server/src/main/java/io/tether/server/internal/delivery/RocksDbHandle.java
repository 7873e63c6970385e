package io.tether.server.internal.delivery;

import io.tether.server.DeviceStats;
import io.tether.server.MessageCursor;
import io.tether.server.StoreReader;
import io.tether.server.StoredMessage;

import io.tether.server.internal.delivery.StoreLayout.DeviceState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;
import org.rocksdb.AbstractNativeReference;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WALRecoveryMode;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open RocksDB database in the {@link StoreLayout}: the native handles, their options, and the
 * guard that keeps them alive while any thread uses them. Used by the live store and, read-only,
 * as the {@link StoreReader} of another process's directory.
 *
 * <p>RocksJava frees native memory on {@code close()}; a call on a closed handle dereferences
 * freed memory and crashes the JVM. Every native call from a thread other than the store's writer
 * therefore runs under the read side of {@link #guard}, and {@link #close()} takes the write side.
 */
final class RocksDbHandle implements StoreReader {
    private static final Logger log = LoggerFactory.getLogger(RocksDbHandle.class);

    private static final long MIB = 1024 * 1024;

    static {
        // Extracts and loads the bundled native library once per class loader.
        RocksDB.loadLibrary();
    }

    final Path dir;
    final boolean readOnly;
    final RocksDB db;
    final ColumnFamilyHandle defaultCf;
    final ColumnFamilyHandle messagesCf;
    final ColumnFamilyHandle devicesCf;
    /** The command ledger; null in a read-only handle of a store made before the ledger existed. */
    final ColumnFamilyHandle commandsCf;
    /** Device histories; null in a read-only handle of a store made before the history existed. */
    final ColumnFamilyHandle historyCf;
    /** The application feed; null in a read-only handle of a store made before the feed existed. */
    final ColumnFamilyHandle feedCf;
    private final List<AbstractNativeReference> owned;

    private final ReentrantReadWriteLock guard = new ReentrantReadWriteLock();
    private boolean closed; // guarded by guard
    private final Set<Cursor> cursors = ConcurrentHashMap.newKeySet();

    private RocksDbHandle(Path dir, boolean readOnly, RocksDB db, List<ColumnFamilyHandle> handles,
            List<String> names, List<AbstractNativeReference> owned) {
        this.dir = dir;
        this.readOnly = readOnly;
        this.db = db;
        this.defaultCf = handles.get(0);
        this.messagesCf = handles.get(1);
        this.devicesCf = handles.get(2);
        int commands = names.indexOf(StoreLayout.COMMANDS_CF);
        int history = names.indexOf(StoreLayout.HISTORY_CF);
        this.commandsCf = commands < 0 ? null : handles.get(commands);
        this.historyCf = history < 0 ? null : handles.get(history);
        int feed = names.indexOf(StoreLayout.FEED_CF);
        this.feedCf = feed < 0 ? null : handles.get(feed);
        this.owned = owned;
    }

    // ---- open ------------------------------------------------------------------------------

    static RocksDbHandle openWritable(Path dataDir) throws IOException {
        Path dir = dataDir.toAbsolutePath();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a directory");
        }
        if (Files.isDirectory(dir) && !hasCurrentFile(dir) && !isEmptyDirectory(dir)) {
            // Refuse to scatter RocksDB files among someone else's.
            throw new IOException(dir + ": not a Tether store (the directory is not empty and holds no RocksDB database)");
        }
        if (hasCurrentFile(dir)) {
            List<String> cfs = listColumnFamilies(dir);
            // Only "default" is what a first open leaves if it died before creating the families.
            if (!cfs.contains(StoreLayout.MESSAGES_CF) && !cfs.equals(List.of("default"))) {
                throw new IOException(dir + ": not a Tether store (a RocksDB database with column families " + cfs + ")");
            }
        }
        Files.createDirectories(dir);
        return openChecked(dir, false, true, true, true);
    }

    static RocksDbHandle openReadOnly(Path dataDir) throws IOException {
        Path dir = dataDir.toAbsolutePath();
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such directory");
        }
        if (!hasCurrentFile(dir)) {
            throw new IOException(dir + ": not a Tether store (no RocksDB CURRENT file)");
        }
        List<String> cfs = listColumnFamilies(dir);
        if (!cfs.contains(StoreLayout.MESSAGES_CF) || !cfs.contains(StoreLayout.DEVICES_CF)) {
            throw new IOException(dir + ": not a Tether store (a RocksDB database with column families " + cfs + ")");
        }
        return openChecked(dir, true, cfs.contains(StoreLayout.COMMANDS_CF), cfs.contains(StoreLayout.HISTORY_CF),
                cfs.contains(StoreLayout.FEED_CF));
    }

    /** Opens, then checks (or, writable and new, writes) the format marker; closes on failure. */
    private static RocksDbHandle openChecked(Path dir, boolean readOnly, boolean commands, boolean history,
            boolean feed) throws IOException {
        RocksDbHandle h = open(dir, readOnly, commands, history, feed);
        try {
            h.checkOrWriteFormat();
        } catch (IOException | RuntimeException e) {
            h.close();
            throw e;
        }
        return h;
    }

    private static RocksDbHandle open(Path dir, boolean readOnly, boolean commands, boolean history, boolean feed)
            throws IOException {
        List<AbstractNativeReference> owned = new ArrayList<>();
        DBOptions dbOptions = new DBOptions()
                .setCreateIfMissing(!readOnly)
                .setCreateMissingColumnFamilies(!readOnly)
                // After kill -9 or a power cut the WAL may end in a torn record: replay stops
                // at the last whole record instead of refusing to open. Only unsynced (so never
                // acknowledged, with sync on) writes can be in the cut-off part.
                .setWalRecoveryMode(WALRecoveryMode.PointInTimeRecovery)
                // Both families share each WAL file; this bounds how long an old WAL is kept
                // alive by the rarely flushed devices family.
                .setMaxTotalWalSize(256 * MIB)
                // No fallocate: RocksDB would preallocate each WAL at 1.1 x the largest write
                // buffer (70 MiB), which on a nearly full disk takes the last free blocks with no
                // data in them (ext4 keeps a partial fallocate), so the store would fail at once
                // and the free-space headroom (--min-free-disk) would measure reservations, not data.
                .setAllowFAllocate(false)
                .setMaxBackgroundJobs(2)
                .setBytesPerSync(MIB)
                .setKeepLogFileNum(5)
                .setMaxLogFileSize(16 * MIB);
        owned.add(dbOptions);
        ColumnFamilyOptions defaultOptions = new ColumnFamilyOptions().setWriteBufferSize(4 * MIB);
        owned.add(defaultOptions);
        // Messages are small, written once, and read back in order: large memtables make few,
        // large L0 files; LZ4 is cheap enough to stay off the write path's critical section.
        ColumnFamilyOptions messageOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(64 * MIB)
                .setMaxWriteBufferNumber(3)
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setBottommostCompressionType(CompressionType.ZSTD_COMPRESSION)
                .setLevelCompactionDynamicLevelBytes(true);
        owned.add(messageOptions);
        // Device state is one small record per device, read by point lookup at every handshake.
        BloomFilter bloom = new BloomFilter(10);
        owned.add(bloom);
        ColumnFamilyOptions deviceOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(16 * MIB)
                .setTableFormatConfig(new BlockBasedTableConfig().setFilterPolicy(bloom));
        owned.add(deviceOptions);

        // Commands: small records, rewritten at each state change, read by point lookup (id, seq).
        ColumnFamilyOptions commandOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(16 * MIB)
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setTableFormatConfig(new BlockBasedTableConfig().setFilterPolicy(bloom));
        owned.add(commandOptions);

        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>(List.of(
                new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, defaultOptions),
                new ColumnFamilyDescriptor(StoreLayout.MESSAGES_CF.getBytes(StandardCharsets.US_ASCII), messageOptions),
                new ColumnFamilyDescriptor(StoreLayout.DEVICES_CF.getBytes(StandardCharsets.US_ASCII), deviceOptions)));
        // History: a few small records per device, rewritten once (open, then close), read by prefix.
        ColumnFamilyOptions historyOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(8 * MIB)
                .setCompressionType(CompressionType.LZ4_COMPRESSION);
        owned.add(historyOptions);
        List<String> names = new ArrayList<>(List.of("default", StoreLayout.MESSAGES_CF, StoreLayout.DEVICES_CF));
        if (commands) {
            descriptors.add(new ColumnFamilyDescriptor(StoreLayout.COMMANDS_CF.getBytes(StandardCharsets.US_ASCII),
                    commandOptions));
            names.add(StoreLayout.COMMANDS_CF);
        }
        if (history) {
            descriptors.add(new ColumnFamilyDescriptor(StoreLayout.HISTORY_CF.getBytes(StandardCharsets.US_ASCII),
                    historyOptions));
            names.add(StoreLayout.HISTORY_CF);
        }
        if (feed) {
            // The feed: appended in offset order, read back in order, deleted from the front.
            ColumnFamilyOptions feedOptions = new ColumnFamilyOptions()
                    .setWriteBufferSize(32 * MIB)
                    .setCompressionType(CompressionType.LZ4_COMPRESSION);
            owned.add(feedOptions);
            descriptors.add(new ColumnFamilyDescriptor(StoreLayout.FEED_CF.getBytes(StandardCharsets.US_ASCII), feedOptions));
            names.add(StoreLayout.FEED_CF);
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        RocksDB db = null;
        RocksDBException failure = null;
        // A reader races with the writing process, which may delete an obsolete WAL or MANIFEST
        // between the reader listing and opening it; a retry sees the new set of files.
        for (int attempt = 1; db == null && attempt <= (readOnly ? 3 : 1); attempt++) {
            try {
                db = readOnly
                        ? RocksDB.openReadOnly(dbOptions, dir.toString(), descriptors, handles)
                        : RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
            } catch (RocksDBException e) {
                failure = e;
                handles.forEach(ColumnFamilyHandle::close);
                handles.clear();
                sleepQuietly(20L * attempt);
            }
        }
        if (db == null) {
            closeAll(owned);
            throw new IOException(dir + ": cannot open RocksDB" + (readOnly ? " read-only" : "") + ": "
                    + describe(failure), failure);
        }
        return new RocksDbHandle(dir, readOnly, db, handles, names, owned);
    }

    private void checkOrWriteFormat() throws IOException {
        byte[] format;
        try {
            format = db.get(defaultCf, StoreLayout.FORMAT_KEY);
        } catch (RocksDBException e) {
            throw new IOException(dir + ": cannot read the store format: " + describe(e), e);
        }
        if (format == null) {
            if (readOnly || !isEmpty(defaultCf) || !isEmpty(messagesCf) || !isEmpty(devicesCf)) {
                throw new IOException(dir + ": not a Tether store (no " + new String(StoreLayout.FORMAT_KEY,
                        StandardCharsets.US_ASCII) + " record)");
            }
            try (WriteOptions sync = new WriteOptions().setSync(true)) {
                db.put(defaultCf, sync, StoreLayout.FORMAT_KEY, new byte[] {StoreLayout.FORMAT_VERSION});
            } catch (RocksDBException e) {
                throw new IOException(dir + ": cannot write the store format: " + describe(e), e);
            }
        } else if (format.length != 1 || format[0] != StoreLayout.FORMAT_VERSION) {
            throw new IOException(dir + ": Tether store format " + (format.length == 1 ? format[0] & 0xFF : "?")
                    + " is not supported (expected: " + StoreLayout.FORMAT_VERSION + ")");
        }
    }

    private boolean isEmpty(ColumnFamilyHandle cf) {
        try (RocksIterator it = db.newIterator(cf)) {
            it.seekToFirst();
            return !it.isValid();
        }
    }

    private static boolean hasCurrentFile(Path dir) {
        return Files.isRegularFile(dir.resolve("CURRENT"));
    }

    private static boolean isEmptyDirectory(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    private static List<String> listColumnFamilies(Path dir) throws IOException {
        try (org.rocksdb.Options options = new org.rocksdb.Options()) {
            List<String> names = new ArrayList<>();
            for (byte[] name : RocksDB.listColumnFamilies(options, dir.toString())) {
                names.add(new String(name, StandardCharsets.UTF_8));
            }
            return names;
        } catch (RocksDBException e) {
            throw new IOException(dir + ": not a Tether store (" + describe(e) + ")", e);
        }
    }

    static String describe(RocksDBException e) {
        if (e == null) {
            return "unknown error";
        }
        return e.getStatus() != null && e.getStatus().getState() != null
                ? e.getStatus().getCodeString() + ": " + e.getStatus().getState()
                : String.valueOf(e.getMessage());
    }

    // ---- guarded access --------------------------------------------------------------------

    /** Enters the guard; {@code false} (and not entered) if the handle is closed. */
    boolean enter() {
        guard.readLock().lock();
        if (closed) {
            guard.readLock().unlock();
            return false;
        }
        return true;
    }

    void exit() {
        guard.readLock().unlock();
    }

    private void enterOrThrow() {
        if (!enter()) {
            throw new IllegalStateException("store closed: " + dir);
        }
    }

    /** The device's state as written, or {@code null}. Call inside the guard or from the writer. */
    DeviceState loadState(byte[] device) throws RocksDBException {
        byte[] v = db.get(devicesCf, device);
        return v == null ? null : DeviceState.decode(v);
    }

    // ---- StoreReader -----------------------------------------------------------------------

    @Override
    public MessageCursor read(String deviceIdOrNull, long fromSeq) {
        if (fromSeq < 0) {
            throw new IllegalArgumentException("fromSeq: " + fromSeq + " (expected: >= 0)");
        }
        byte[] device = deviceIdOrNull == null ? null : StoreLayout.deviceBytes(deviceIdOrNull);
        enterOrThrow();
        try {
            Cursor c = new Cursor(device, Math.max(fromSeq, 1));
            cursors.add(c);
            return c;
        } finally {
            exit();
        }
    }

    @Override
    public List<DeviceStats> stats() {
        enterOrThrow();
        try (RocksIterator it = db.newIterator(devicesCf)) {
            List<DeviceStats> all = new ArrayList<>();
            for (it.seekToFirst(); it.isValid(); it.next()) {
                DeviceState s = DeviceState.decode(it.value());
                if (s.count() > 0) {
                    all.add(new DeviceStats(new String(it.key(), StandardCharsets.US_ASCII), s.count(), s.firstSeq(),
                            s.lastSeq()));
                }
            }
            it.status();
            return all;
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException(dir + ": " + describe(e), e));
        } finally {
            exit();
        }
    }

    @Override
    public Optional<DeviceStats> stats(String deviceId) {
        byte[] device = StoreLayout.deviceBytes(deviceId);
        enterOrThrow();
        try {
            DeviceState s = loadState(device);
            return s == null || s.count() == 0
                    ? Optional.empty()
                    : Optional.of(new DeviceStats(deviceId, s.count(), s.firstSeq(), s.lastSeq()));
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException(dir + ": " + describe(e), e));
        } finally {
            exit();
        }
    }

    @Override
    public List<io.tether.server.SessionRecord> history(String deviceId) {
        byte[] prefix = StoreLayout.devicePrefix(StoreLayout.deviceBytes(deviceId));
        enterOrThrow();
        try {
            return historyInGuard(deviceId, prefix, Integer.MAX_VALUE);
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException(dir + ": " + describe(e), e));
        } finally {
            exit();
        }
    }

    /** The device's history records, newest first, at most {@code max}. Inside the guard or from the writer. */
    List<io.tether.server.SessionRecord> historyInGuard(String deviceId, byte[] prefix, int max) throws RocksDBException {
        List<io.tether.server.SessionRecord> out = new ArrayList<>();
        if (historyCf == null) {
            return out;
        }
        try (RocksIterator it = db.newIterator(historyCf)) {
            // Newest first: from just past the device's last possible key, backwards.
            it.seekForPrev(StoreLayout.messageKey(StoreLayout.deviceBytes(deviceId), -1L));
            for (; it.isValid() && out.size() < max; it.prev()) {
                byte[] k = it.key();
                if (!StoreLayout.startsWith(k, prefix) || k.length != prefix.length + 8) {
                    break;
                }
                out.add(io.tether.server.internal.history.HistoryRecord.decode(deviceId, StoreLayout.seqOf(k), it.value()));
            }
            it.status();
        }
        return out;
    }

    // ---- close -----------------------------------------------------------------------------

    /**
     * Flushes memtables to SST files, so the WAL files behind them can go: on close, so the next
     * open has no WAL to replay (writer stopped first); after a retention deletion, so the disk
     * space comes back.
     */
    void flush() {
        if (readOnly || !enter()) {
            return;
        }
        try (FlushOptions fo = new FlushOptions().setWaitForFlush(true)) {
            List<ColumnFamilyHandle> families = new ArrayList<>(List.of(defaultCf, messagesCf, devicesCf));
            if (historyCf != null) {
                families.add(historyCf);
            }
            if (feedCf != null) {
                families.add(feedCf);
            }
            if (commandsCf != null) {
                families.add(commandsCf);
            }
            db.flush(fo, families);
        } catch (RocksDBException e) {
            // Nothing is lost: the synced WAL still holds it and is replayed on the next open.
            log.warn("{}: flush on close failed, the WAL will be replayed on the next open: {}", dir, describe(e));
        } finally {
            exit();
        }
    }

    @Override
    public void close() {
        guard.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (Cursor c : cursors) {
                c.release();
            }
            // RocksJava wants column family handles closed before their database.
            defaultCf.close();
            messagesCf.close();
            devicesCf.close();
            if (commandsCf != null) {
                commandsCf.close();
            }
            if (historyCf != null) {
                historyCf.close();
            }
            if (feedCf != null) {
                feedCf.close();
            }
            try {
                db.closeE();
            } catch (RocksDBException e) {
                log.warn("{}: close reported {}", dir, describe(e));
            }
            closeAll(owned);
        } finally {
            guard.writeLock().unlock();
        }
    }

    private static void closeAll(List<AbstractNativeReference> refs) {
        for (int i = refs.size() - 1; i >= 0; i--) {
            refs.get(i).close();
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- cursor ----------------------------------------------------------------------------

    private final class Cursor implements MessageCursor {
        private final ReadOptions readOptions;
        private final RocksIterator it;
        private final byte[] prefix;
        private final long fromSeq;
        private StoredMessage next;
        private boolean exhausted;
        private volatile boolean released;
        private boolean closedByUser;

        /** Created inside the guard. */
        Cursor(byte[] deviceOrNull, long fromSeq) {
            this.prefix = deviceOrNull == null ? null : StoreLayout.devicePrefix(deviceOrNull);
            this.fromSeq = fromSeq;
            // A scan of old messages should not evict the device states that handshakes need.
            this.readOptions = new ReadOptions().setFillCache(false);
            this.it = db.newIterator(messagesCf, readOptions);
            if (deviceOrNull == null) {
                it.seekToFirst();
            } else {
                it.seek(StoreLayout.messageKey(deviceOrNull, fromSeq));
            }
        }

        @Override
        public boolean hasNext() {
            if (next != null) {
                return true;
            }
            if (exhausted) {
                return false;
            }
            if (closedByUser || !enter()) {
                throw new IllegalStateException("cursor closed: " + dir);
            }
            try {
                if (released) {
                    throw new IllegalStateException("cursor closed: " + dir);
                }
                advance();
            } finally {
                exit();
            }
            return next != null;
        }

        private void advance() {
            while (it.isValid()) {
                byte[] key = it.key();
                if (prefix != null && !StoreLayout.startsWith(key, prefix)) {
                    break;
                }
                long seq = StoreLayout.seqOf(key);
                if (seq < fromSeq) {
                    // Only with every device: jump to this device's fromSeq rather than step.
                    byte[] device = new byte[StoreLayout.deviceLength(key)];
                    System.arraycopy(key, 0, device, 0, device.length);
                    it.seek(StoreLayout.messageKey(device, fromSeq));
                    continue;
                }
                next = StoreLayout.decodeMessage(key, it.value());
                it.next();
                return;
            }
            try {
                it.status();
            } catch (RocksDBException e) {
                throw new UncheckedIOException(new IOException(dir + ": read failed: " + describe(e), e));
            }
            exhausted = true;
        }

        @Override
        public StoredMessage next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            StoredMessage m = next;
            next = null;
            return m;
        }

        @Override
        public void close() {
            closedByUser = true;
            next = null;
            if (enter()) {
                try {
                    release();
                } finally {
                    exit();
                }
            }
        }

        /** Frees the native iterator; called by whoever removes the cursor from the open set first. */
        void release() {
            if (cursors.remove(this)) {
                released = true;
                it.close();
                readOptions.close();
            }
        }
    }
}
