package io.tether.server.internal.delivery;

import io.tether.server.MessageStore.AppendCallback;
import io.tether.server.AppendResult;
import io.tether.server.internal.feed.Feed;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * The {@link Feed} of a {@link RocksDbMessageStore}, in its {@code feed} column family (layout in
 * {@link StoreLayout}). The store's writer assigns offsets and puts the entries in the batch of
 * the messages they follow ({@link #assign}, then {@link #published} or {@link #rolledBack}); this
 * class keeps the counters, the forwarder's position, the appends held until it passes them
 * ({@code --ack-after kafka}), reads, and retention.
 */
final class RocksDbFeed implements Feed {
    private static final Logger log = LoggerFactory.getLogger(RocksDbFeed.class);
    /** Feed entries deleted per retention round at most: bounds one round's batch and time. */
    static final int RETENTION_ROUND = 50_000;

    private final Supplier<RocksDbHandle> handles;
    /** Whether a forwarder moves the position; without one every entry counts as forwarded. */
    private final boolean forwarding;
    private final Supplier<Throwable> stopped;
    private final WriteOptions positionWrite = new WriteOptions().setSync(false);
    private final CopyOnWriteArrayList<LongConsumer> listeners = new CopyOnWriteArrayList<>();

    /** Writer thread only: the last offset assigned (written or in the batch being written). */
    private long assigned;
    /** Writer thread only: the body bytes assigned by the batch being written. */
    private long batchBytes;
    private volatile long head;
    private volatile long forwarded;
    /** Guarded by this: body bytes published since open (plus those unforwarded at open). */
    private long publishedBytes;
    /** Guarded by this: the part of {@link #publishedBytes} known forwarded. */
    private long forwardedBytes;
    /** Guarded by this: (last offset of a batch, publishedBytes after it), oldest first, for batches above the position. */
    private final ArrayDeque<long[]> batches = new ArrayDeque<>();
    /** Guarded by this: appends acknowledged only once forwarded, in offset order. */
    private final ArrayDeque<Held> held = new ArrayDeque<>();
    /** Oldest entry kept (retention moves it), for reporting; 0 when unknown. */
    private volatile long first;

    private record Held(long offset, AppendCallback callback, AppendResult result) {
    }

    /** Where {@link #append} goes: the store's writer queue. */
    interface Appender {
        /** @param live 0: no session mark; 1: the session opens; 2: it closes */
        void append(Kind kind, String deviceId, long session, long seq, long atMillis, Body body, int live);
    }

    private volatile Appender appender = (k, d, s, q, a, b, l) -> {
        throw new IllegalStateException("the feed's store is not open");
    };

    void appender(Appender a) {
        this.appender = a;
    }

    /** Reads the head, the position and the unforwarded bytes from the store. */
    RocksDbFeed(Supplier<RocksDbHandle> handles, boolean forwarding, Supplier<Throwable> stopped) throws IOException {
        this.handles = handles;
        this.forwarding = forwarding;
        this.stopped = stopped;
        RocksDbHandle h = handles.get();
        try (RocksIterator it = h.db.newIterator(h.feedCf)) {
            it.seekForPrev(StoreLayout.feedKey(StoreLayout.FEED_ENTRY, -1L));
            head = it.isValid() && StoreLayout.isFeedKey(it.key(), StoreLayout.FEED_ENTRY)
                    ? StoreLayout.getLong(it.key(), 1) : 0;
            it.seek(StoreLayout.feedKey(StoreLayout.FEED_ENTRY, 0));
            first = it.isValid() && StoreLayout.isFeedKey(it.key(), StoreLayout.FEED_ENTRY)
                    ? StoreLayout.getLong(it.key(), 1) : head + 1;
            byte[] pos = h.db.get(h.feedCf, StoreLayout.FEED_FORWARDED_KEY);
            forwarded = forwarding ? (pos == null ? 0 : Math.min(StoreLayout.getLong(pos, 0), head)) : head;
            long unforwarded = 0;
            if (forwarding) {
                for (it.seek(StoreLayout.feedKey(StoreLayout.FEED_ENTRY, forwarded + 1)); it.isValid(); it.next()) {
                    if (!StoreLayout.isFeedKey(it.key(), StoreLayout.FEED_ENTRY)) {
                        break;
                    }
                    unforwarded += StoreLayout.decodeFeed(it.value()).bodyLength();
                }
                it.status();
            }
            publishedBytes = unforwarded;
            if (unforwarded > 0) {
                batches.add(new long[] {head, unforwarded});
            }
        } catch (RocksDBException e) {
            throw new IOException(h.dir + ": cannot read the feed: " + RocksDbHandle.describe(e), e);
        }
        assigned = head;
    }

    // ---- writer thread ---------------------------------------------------------------------

    /** Puts one entry into the writer's batch under the next offset, which it returns. */
    long assign(WriteBatch wb, RocksDbHandle h, int kind, long session, long seq, long atMillis, byte[] device,
                int bodyLength, byte[] body) throws RocksDBException {
        long offset = ++assigned;
        wb.put(h.feedCf, StoreLayout.feedKey(StoreLayout.FEED_ENTRY, offset),
                StoreLayout.feedValue(kind, session, seq, atMillis, device, bodyLength, body));
        batchBytes += bodyLength;
        return offset;
    }

    /** The batch's write failed: its offsets were not used. */
    void rolledBack() {
        assigned = head;
        batchBytes = 0;
    }

    /** The batch holding every offset up to {@link #assigned} is durable. */
    void published() {
        long h = assigned;
        if (h == head) {
            return;
        }
        synchronized (this) {
            publishedBytes += batchBytes;
            if (forwarding) {
                batches.addLast(new long[] {h, publishedBytes});
            } else {
                forwardedBytes = publishedBytes;
            }
        }
        batchBytes = 0;
        head = h;
        if (!forwarding) {
            forwarded = h;
        }
        for (LongConsumer l : listeners) {
            try {
                l.accept(h);
            } catch (RuntimeException e) {
                log.warn("feed listener threw", e);
            }
        }
    }

    /**
     * Completes {@code callback} now, or holds it until the forwarder passes {@code offset}
     * (with {@code --ack-after kafka}).
     */
    void completeWhenForwarded(long offset, AppendCallback callback, AppendResult result) {
        synchronized (this) {
            if (offset > forwarded) {
                held.addLast(new Held(offset, callback, result));
                return;
            }
        }
        callback.done(result, null);
    }

    /** The last offset assigned: a duplicate's original is at or below it. Writer thread. */
    long assigned() {
        return assigned;
    }

    // ---- Feed ------------------------------------------------------------------------------

    /** Queued for the store's writer, which writes it with its next batch. */
    @Override
    public void append(Kind kind, String deviceId, long session, long seq, long atMillis, Body body) {
        if (kind == Kind.MESSAGE) {
            throw new IllegalArgumentException("messages enter the feed with the store's append");
        }
        appender.append(kind, deviceId, session, seq, atMillis, body, 0);
    }

    @Override
    public void appendSession(boolean open, String deviceId, long session, long atMillis, Body body) {
        appender.append(Kind.EVENT, deviceId, session, 0, atMillis, body, open ? 1 : 2);
    }

    /** Sessions the feed has an open event for and no close: what a crash left open. Before the writer starts. */
    List<long[]> liveSessions(List<String> devices) throws RocksDBException {
        RocksDbHandle h = handles.get();
        List<long[]> out = new ArrayList<>();
        try (RocksIterator it = h.db.newIterator(h.feedCf)) {
            for (it.seek(StoreLayout.feedKey(StoreLayout.FEED_LIVE, 0)); it.isValid(); it.next()) {
                byte[] k = it.key();
                if (!StoreLayout.isFeedKey(k, StoreLayout.FEED_LIVE)) {
                    break;
                }
                byte[] v = it.value();
                out.add(new long[] {StoreLayout.getLong(k, 1), StoreLayout.getLong(v, 0)});
                devices.add(new String(v, 8, v.length - 8, java.nio.charset.StandardCharsets.US_ASCII));
            }
            it.status();
        }
        return out;
    }

    /** Marks (open) or unmarks (close) a live session in the writer's batch. */
    static void markLive(WriteBatch wb, RocksDbHandle h, int live, long session, long atMillis, byte[] device)
            throws RocksDBException {
        byte[] key = StoreLayout.feedKey(StoreLayout.FEED_LIVE, session);
        if (live == 1) {
            byte[] v = new byte[8 + device.length];
            StoreLayout.putLong(v, 0, atMillis);
            System.arraycopy(device, 0, v, 8, device.length);
            wb.put(h.feedCf, key, v);
        } else if (live == 2) {
            wb.delete(h.feedCf, key);
        }
    }

    @Override
    public long head() {
        return head;
    }

    /** Oldest offset still kept, or head + 1 when the feed is empty. */
    long first() {
        return first;
    }

    @Override
    public List<Entry> read(long after, int max) throws IOException {
        if (max < 1) {
            return List.of();
        }
        RocksDbHandle h = handles.get();
        if (!h.enter()) {
            Throwable t = stopped.get();
            throw new IOException("store closed: " + h.dir, t);
        }
        try {
            long limit = head; // nothing beyond the published head: a batch being written is not durable yet
            List<StoreLayout.FeedValue> values = new ArrayList<>();
            List<Long> offsets = new ArrayList<>();
            try (RocksIterator it = h.db.newIterator(h.feedCf)) {
                for (it.seek(StoreLayout.feedKey(StoreLayout.FEED_ENTRY, Math.max(0, after) + 1));
                     it.isValid() && values.size() < max; it.next()) {
                    byte[] k = it.key();
                    if (!StoreLayout.isFeedKey(k, StoreLayout.FEED_ENTRY)) {
                        break;
                    }
                    long offset = StoreLayout.getLong(k, 1);
                    if (offset > limit) {
                        break;
                    }
                    offsets.add(offset);
                    values.add(StoreLayout.decodeFeed(it.value()));
                }
                it.status();
            }
            // Messages' bodies from the messages family, in one multiGet.
            List<byte[]> keys = new ArrayList<>();
            for (StoreLayout.FeedValue v : values) {
                if (v.kind() == Kind.MESSAGE.code()) {
                    keys.add(StoreLayout.messageKey(StoreLayout.deviceBytes(v.device()), v.seq()));
                }
            }
            List<byte[]> payloads = keys.isEmpty() ? List.of()
                    : h.db.multiGetAsList(Collections.nCopies(keys.size(), h.messagesCf), keys);
            List<Entry> out = new ArrayList<>(values.size());
            int m = 0;
            for (int i = 0; i < values.size(); i++) {
                StoreLayout.FeedValue v = values.get(i);
                byte[] body;
                if (v.kind() == Kind.MESSAGE.code()) {
                    byte[] stored = payloads.get(m++);
                    if (stored == null) {
                        continue; // removed by retention between the two reads
                    }
                    body = new byte[stored.length - 8];
                    System.arraycopy(stored, 8, body, 0, body.length);
                } else {
                    body = v.body();
                }
                out.add(new Entry(offsets.get(i), Kind.of(v.kind()), v.device(), v.session(), v.seq(), v.atMillis(), body));
            }
            return out;
        } catch (RocksDBException e) {
            throw new IOException(h.dir + ": cannot read the feed: " + RocksDbHandle.describe(e), e);
        } finally {
            h.exit();
        }
    }

    @Override
    public AutoCloseable onAppend(LongConsumer listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    public long forwarded() {
        return forwarded;
    }

    @Override
    public void forwarded(long offset) {
        if (!forwarding) {
            return;
        }
        List<Held> release = new ArrayList<>();
        synchronized (this) {
            long to = Math.min(offset, head);
            if (to <= forwarded) {
                return;
            }
            forwarded = to;
            long[] b;
            while ((b = batches.peekFirst()) != null && b[0] <= to) {
                forwardedBytes = b[1];
                batches.removeFirst();
            }
            Held x;
            while ((x = held.peekFirst()) != null && x.offset <= to) {
                release.add(held.removeFirst());
            }
        }
        for (Held x : release) {
            try {
                x.callback.done(x.result, null);
            } catch (RuntimeException e) {
                log.warn("append callback threw", e);
            }
        }
        RocksDbHandle h = handles.get();
        if (h.enter()) {
            try {
                // Not synced: a lost position is found again in Kafka, which holds the true one.
                h.db.put(h.feedCf, positionWrite, StoreLayout.FEED_FORWARDED_KEY, longBytes(forwarded));
            } catch (RocksDBException e) {
                log.debug("{}: feed position not saved: {}", h.dir, RocksDbHandle.describe(e));
            } finally {
                h.exit();
            }
        }
    }

    @Override
    public synchronized long unforwardedBytes() {
        return publishedBytes - forwardedBytes;
    }

    /** Appends held for the forwarder, failed (the store is closing): the device resends them. */
    void failHeld(Throwable error) {
        List<Held> release;
        synchronized (this) {
            release = new ArrayList<>(held);
            held.clear();
        }
        for (Held x : release) {
            try {
                x.callback.done(null, error);
            } catch (RuntimeException e) {
                log.warn("append callback threw", e);
            }
        }
    }

    // ---- retention -------------------------------------------------------------------------

    /** Puts the devices' new states into retention's batch, and keeps them once it is written. */
    interface RetentionHook {
        /**
         * @param trimmed per device id: {messages deleted, the highest seq deleted}
         */
        void beforeWrite(WriteBatch wb, RocksDbHandle h, Map<String, long[]> trimmed) throws RocksDBException;

        void written();
    }

    /**
     * Deletes entries older than {@code cutoffMillis} that are forwarded (with their messages),
     * oldest first, at most {@link #RETENTION_ROUND}; an entry not yet forwarded stops the round.
     * {@code hook} adds what the deletes change in the devices' states to the same atomic batch.
     *
     * @return entries deleted
     */
    int retain(long cutoffMillis, RetentionHook hook) throws RocksDBException {
        RocksDbHandle h = handles.get();
        if (!h.enter()) {
            return 0;
        }
        try (WriteBatch wb = new WriteBatch(); RocksIterator it = h.db.newIterator(h.feedCf)) {
            long limit = forwarded;
            int n = 0;
            long last = 0;
            Map<String, long[]> trimmed = new HashMap<>();
            for (it.seek(StoreLayout.feedKey(StoreLayout.FEED_ENTRY, 0)); it.isValid() && n < RETENTION_ROUND; it.next()) {
                byte[] k = it.key();
                if (!StoreLayout.isFeedKey(k, StoreLayout.FEED_ENTRY)) {
                    break;
                }
                long offset = StoreLayout.getLong(k, 1);
                StoreLayout.FeedValue v = StoreLayout.decodeFeed(it.value());
                if (offset > limit || v.atMillis() >= cutoffMillis) {
                    break;
                }
                wb.delete(h.feedCf, k);
                if (v.kind() == Kind.MESSAGE.code()) {
                    wb.delete(h.messagesCf, StoreLayout.messageKey(StoreLayout.deviceBytes(v.device()), v.seq()));
                    long[] t = trimmed.computeIfAbsent(v.device(), d -> new long[2]);
                    t[0]++;
                    t[1] = Math.max(t[1], v.seq());
                }
                last = offset;
                n++;
            }
            it.status();
            if (n > 0) {
                if (!trimmed.isEmpty()) {
                    hook.beforeWrite(wb, h, trimmed);
                }
                h.db.write(positionWrite, wb);
                first = last + 1;
                hook.written();
            }
            return n;
        } finally {
            h.exit();
        }
    }

    void close() {
        positionWrite.close();
    }

    static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        StoreLayout.putLong(b, 0, v);
        return b;
    }
}
