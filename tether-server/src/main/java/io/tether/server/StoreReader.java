package io.tether.server;

import io.tether.server.internal.delivery.RocksDbMessageStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Reads what a durable store holds. {@link RocksDbMessageStore} is one (the live store, inside the
 * process that writes); {@link #openReadOnly(Path)} gives another on a directory that a different
 * process may be writing to at the same time, e.g. {@code tether store dump} next to a running
 * server.
 *
 * <p>Thread-safe. Each {@link #read} returns an independent cursor.
 */
public interface StoreReader extends AutoCloseable {

    /**
     * Opens a store directory for reading only. It takes no lock, so it works while a server has
     * the same directory open; it sees what was written (including WAL contents) at the moment of
     * opening, and nothing later: open a new reader to see newer messages.
     *
     * @param dataDir the store directory, as given to {@link RocksDbMessageStore#open}
     * @throws java.nio.file.NoSuchFileException if {@code dataDir} does not exist or is not a directory
     * @throws IOException if the directory is not a Tether store, or RocksDB cannot open it
     */
    static StoreReader openReadOnly(Path dataDir) throws IOException {
        return RocksDbMessageStore.openReadOnly(dataDir);
    }

    /**
     * Messages in (device, seq) order.
     *
     * @param deviceIdOrNull only this device's messages; {@code null} for every device
     * @param fromSeq the lowest seq returned, per device; 0 or 1 for all
     * @throws IllegalArgumentException if {@code fromSeq < 0} or the device id is not printable ASCII
     * @throws IllegalStateException if the store is closed
     */
    MessageCursor read(String deviceIdOrNull, long fromSeq);

    /**
     * Per-device counts, one entry per device that has stored messages, in device-id order.
     * Reads one small record per device, not the messages.
     *
     * @throws IllegalStateException if the store is closed
     * @throws java.io.UncheckedIOException if RocksDB reports a read error
     */
    List<DeviceStats> stats();

    /**
     * The device's counts, empty if it has no stored message.
     *
     * @throws IllegalArgumentException if the device id is not printable ASCII
     * @throws IllegalStateException if the store is closed
     * @throws java.io.UncheckedIOException if RocksDB reports a read error
     */
    Optional<DeviceStats> stats(String deviceId);

    /**
     * The device's last sessions as the store's history keeps them, newest first; empty if the
     * history is off or the store predates it. A record's {@link SessionRecord#live()} is false
     * here: only the running server knows which session is open.
     *
     * @throws IllegalArgumentException if the device id is not printable ASCII
     * @throws IllegalStateException if the store is closed
     * @throws java.io.UncheckedIOException if RocksDB reports a read error
     */
    default List<SessionRecord> history(String deviceId) {
        return List.of();
    }

    /** Closes open cursors and releases the database. Idempotent. */
    @Override
    void close();
}
