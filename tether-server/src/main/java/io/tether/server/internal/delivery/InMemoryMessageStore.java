package io.tether.server.internal.delivery;

import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.MemoryFeed;

import io.tether.server.AppendResult;
import io.tether.server.MessageStore;
import io.tether.server.StoredMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A store that keeps messages in memory: nothing survives the process. Completes appends
 * synchronously on the caller's thread, so it has no queue and is always writable (the
 * interface's defaults). Meant for tests and demos until the durable store is configured.
 */
public final class InMemoryMessageStore implements MessageStore {
    private final ConcurrentHashMap<String, DeviceLog> logs = new ConcurrentHashMap<>();

    private static final class DeviceLog {
        long lastSeq;
        final List<StoredMessage> messages = new ArrayList<>();
    }

    @Override
    public long lastSeq(String deviceId) {
        DeviceLog log = logs.get(deviceId);
        if (log == null) {
            return 0;
        }
        synchronized (log) {
            return log.lastSeq;
        }
    }

    /** Entries kept in the memory feed: the newest ones, like the store itself a test and demo aid. */
    public static final int FEED_CAPACITY = 100_000;
    private final MemoryFeed feed = new MemoryFeed(FEED_CAPACITY);

    /** The application feed of this store: lost with the process, the newest {@value #FEED_CAPACITY} entries. */
    public Feed feed() {
        return feed;
    }

    @Override
    public void append(String deviceId, long seq, byte[] payload, long receivedAtMillis, AppendCallback callback) {
        append(deviceId, 0, seq, payload, receivedAtMillis, callback);
    }

    @Override
    public void append(String deviceId, long session, long seq, byte[] payload, long receivedAtMillis,
                       AppendCallback callback) {
        DeviceLog log = logs.computeIfAbsent(deviceId, id -> new DeviceLog());
        AppendResult result;
        synchronized (log) {
            if (seq <= log.lastSeq) {
                result = AppendResult.DUPLICATE;
            } else {
                result = seq == log.lastSeq + 1 ? AppendResult.STORED : AppendResult.STORED_AFTER_GAP;
                log.lastSeq = seq;
                log.messages.add(new StoredMessage(deviceId, seq, receivedAtMillis, payload));
                // Under the device's lock: the feed has each device's messages in seq order.
                feed.appendMessage(deviceId, session, seq, receivedAtMillis, payload);
            }
        }
        callback.done(result, null);
    }

    /** The device's stored messages in seq order (a copy). */
    public List<StoredMessage> messages(String deviceId) {
        DeviceLog log = logs.get(deviceId);
        if (log == null) {
            return List.of();
        }
        synchronized (log) {
            return new ArrayList<>(log.messages);
        }
    }

    /** Total messages stored, all devices. */
    public long size() {
        long n = 0;
        for (DeviceLog log : logs.values()) {
            synchronized (log) {
                n += log.messages.size();
            }
        }
        return n;
    }

    @Override
    public void close() {
    }
}
