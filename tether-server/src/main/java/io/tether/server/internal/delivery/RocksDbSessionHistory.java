package io.tether.server.internal.delivery;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import io.tether.server.SessionRecord;
import io.tether.server.internal.history.HistoryRecord;
import io.tether.server.internal.history.SessionHistory;
import io.tether.transport.BatchWriter;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Device histories in the embedded store's {@code history} column family (layout in
 * {@link StoreLayout}): one record per session, written when it opens and rewritten when it
 * closes, the device's oldest deleted beyond {@code keep}.
 *
 * <p>Events are handed to one writer thread ({@link BatchWriter}: group commit, one write batch
 * for whatever arrived during the previous write); the event loop only enqueues. The writer merges
 * a close with its session's open record (from the same batch, or read back from the store in one
 * multiGet per batch), and trims each device that gained a record. Writes are not fsynced:
 * history is diagnostic, it survives a crash of the process (the WAL), and a power cut loses at
 * most the last moments of it; the message writer's next fsync of the shared WAL makes it durable
 * anyway. When the writer falls behind by {@link #CAPACITY} events, further events are dropped
 * and counted ({@code tether.history.dropped}), never waited for.
 */
final class RocksDbSessionHistory implements SessionHistory {
    private static final Logger log = LoggerFactory.getLogger(RocksDbSessionHistory.class);
    static final int CAPACITY = 65_536;

    private final Supplier<RocksDbHandle> handles;
    private final int keep;
    private final WriteOptions writeOptions = new WriteOptions().setSync(false);
    private final BatchWriter<Object> writer;
    private final Counter dropped;
    /** Writer thread only: a failure was logged and no write has succeeded since. */
    private boolean failing;

    RocksDbSessionHistory(Supplier<RocksDbHandle> handles, int keep, MeterRegistry meters) {
        if (keep < 1 || keep > MAX_KEEP) {
            throw new IllegalArgumentException("history-sessions " + keep + " (expected: 1 to " + MAX_KEEP + ")");
        }
        if (handles.get().historyCf == null) {
            throw new IllegalStateException(handles.get().dir + ": the store has no history column family");
        }
        this.handles = handles;
        this.keep = keep;
        this.dropped = Counter.builder("tether.history.dropped")
                .description("session events not recorded in device histories: the history writer was behind or failing")
                .register(meters);
        this.writer = BatchWriter.builder("tether-history-writer", this::commit)
                .capacity(CAPACITY)
                .maxBatch(4096)
                .onFailure(new BatchWriter.FailurePolicy<>() {
                    @Override
                    public BatchWriter.Decision onFailure(List<Object> batch, Throwable error, int attempt) {
                        return failed(batch, error);
                    }

                    @Override
                    public void onRecovered() {
                        failing = false;
                        log.info("device history: recording again");
                    }
                })
                .start();
    }

    @Override
    public int keep() {
        return keep;
    }

    @Override
    public void onOpen(SessionOpened e) {
        offer(HistoryRecord.opened(e));
    }

    @Override
    public void onClose(SessionClosed e) {
        if (e.deviceId() != null && e.sessionId() != 0) { // else never a session: the event log has it
            offer(e);
        }
    }

    private void offer(Object event) {
        if (!writer.offer(event)) {
            dropped.increment();
        }
    }

    private void commit(List<Object> batch) throws RocksDBException {
        RocksDbHandle h = handles.get();
        if (!h.enter()) {
            throw new IllegalStateException("store closed: " + h.dir);
        }
        try {
            // Records as they will be after this batch, by key; a close finds its open here first,
            // else in the store: all of the batch's look-ups in one multiGet (a close storm is
            // thousands of closes whose opens were written long ago; one JNI call, not thousands).
            Map<Key, SessionRecord> records = new HashMap<>();
            List<Key> missing = new ArrayList<>();
            for (Object event : batch) {
                if (event instanceof SessionRecord opened) {
                    records.put(new Key(opened.deviceId(), opened.sessionId()), opened);
                } else {
                    SessionClosed c = (SessionClosed) event;
                    Key k = new Key(c.deviceId(), c.sessionId());
                    if (!records.containsKey(k)) {
                        missing.add(k);
                    }
                }
            }
            Map<Key, SessionRecord> stored = new HashMap<>();
            if (!missing.isEmpty()) {
                List<byte[]> keys = new ArrayList<>(missing.size());
                for (Key k : missing) {
                    keys.add(k.bytes());
                }
                List<byte[]> values = h.db.multiGetAsList(Collections.nCopies(keys.size(), h.historyCf), keys);
                for (int i = 0; i < missing.size(); i++) {
                    byte[] v = values.get(i);
                    if (v != null) {
                        Key k = missing.get(i);
                        stored.put(k, HistoryRecord.decode(k.device(), k.session(), v));
                    }
                }
            }
            // Only an open adds a record to a device; a close rewrites one in place.
            Set<String> grown = new LinkedHashSet<>();
            records.clear();
            for (Object event : batch) {
                SessionRecord r;
                if (event instanceof SessionRecord opened) {
                    r = opened;
                    grown.add(r.deviceId());
                } else {
                    SessionClosed c = (SessionClosed) event;
                    Key k = new Key(c.deviceId(), c.sessionId());
                    SessionRecord open = records.get(k);
                    r = HistoryRecord.closed(open != null ? open : stored.get(k), c);
                }
                records.put(new Key(r.deviceId(), r.sessionId()), r);
            }
            try (WriteBatch wb = new WriteBatch()) {
                for (Map.Entry<Key, SessionRecord> e : records.entrySet()) {
                    wb.put(h.historyCf, e.getKey().bytes(), HistoryRecord.encode(e.getValue()));
                }
                h.db.write(writeOptions, wb);
            }
            trim(h, grown);
        } finally {
            h.exit();
        }
    }

    /** Deletes each device's records beyond the newest {@code keep}: usually one, after an open. */
    private void trim(RocksDbHandle h, Set<String> devices) throws RocksDBException {
        try (WriteBatch wb = new WriteBatch(); RocksIterator it = h.db.newIterator(h.historyCf)) {
            for (String device : devices) {
                byte[] d = StoreLayout.deviceBytes(device);
                byte[] prefix = StoreLayout.devicePrefix(d);
                int seen = 0;
                for (it.seekForPrev(StoreLayout.messageKey(d, -1L)); it.isValid(); it.prev()) {
                    byte[] k = it.key();
                    if (!StoreLayout.startsWith(k, prefix) || k.length != prefix.length + 8) {
                        break;
                    }
                    if (++seen > keep) {
                        wb.delete(h.historyCf, k);
                    }
                }
                it.status();
            }
            if (wb.count() > 0) {
                h.db.write(writeOptions, wb);
            }
        }
    }

    private BatchWriter.Decision failed(List<Object> batch, Throwable error) {
        // A full disk fails the message store too, which says so; here, one line per failure
        // streak and a count of what was not recorded.
        if (!failing) {
            failing = true;
            log.warn("device history: a batch of {} events was not recorded: {}", batch.size(), error.toString());
        }
        dropped.increment(batch.size());
        return BatchWriter.Decision.drop(java.time.Duration.ofMillis(100));
    }

    @Override
    public List<SessionRecord> read(String deviceId) throws IOException {
        byte[] prefix = StoreLayout.devicePrefix(StoreLayout.deviceBytes(deviceId));
        RocksDbHandle h = handles.get();
        if (!h.enter()) {
            throw new IOException("store closed: " + h.dir);
        }
        try {
            return h.historyInGuard(deviceId, prefix, keep);
        } catch (RocksDBException e) {
            throw new IOException(h.dir + ": " + RocksDbHandle.describe(e), e);
        } finally {
            h.exit();
        }
    }

    /** Writes what was offered, then stops. Before the store's handle closes. */
    @Override
    public void close() {
        writer.close();
        writeOptions.close();
    }

    /** A history key: device, 0x00, session id. */
    private record Key(String device, long session) {
        byte[] bytes() {
            return StoreLayout.messageKey(StoreLayout.deviceBytes(device), session);
        }
    }
}
