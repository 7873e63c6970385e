package io.tether.server;

import io.tether.server.internal.delivery.InMemoryMessageStore;
import io.tether.server.internal.delivery.RocksDbMessageStore;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The built-in {@link MessageStore}s. To read a store that a server is not running on, see
 * {@link StoreReader#openReadOnly}.
 */
public final class MessageStores {
    private MessageStores() {
    }

    /** Kept in memory: nothing survives a restart. For tests and demos. Thread-safe. */
    public static MessageStore inMemory() {
        return new InMemoryMessageStore();
    }

    /**
     * The durable embedded store (RocksDB) in {@code dataDir}, created if absent, with the default
     * queue capacity.
     *
     * @param sync whether a message is acknowledged only after the write-ahead log is fsynced
     *             (group commit); false survives a crash of the process but not of the host
     * @throws IOException if the directory cannot be created or the database opened (e.g. another
     *                     process holds it)
     */
    public static MessageStore rocksDb(Path dataDir, boolean sync) throws IOException {
        return RocksDbMessageStore.open(dataDir, RocksDbMessageStore.Options.builder().sync(sync).build());
    }

    /**
     * As {@link #rocksDb(Path, boolean)}, with room for {@code queueCapacity} appends waiting for
     * the writer.
     *
     * @throws IllegalArgumentException if {@code queueCapacity} is out of range
     */
    public static MessageStore rocksDb(Path dataDir, boolean sync, int queueCapacity) throws IOException {
        return RocksDbMessageStore.open(dataDir, RocksDbMessageStore.Options.builder()
                .sync(sync).queueCapacity(queueCapacity).build());
    }

    /**
     * As {@link #rocksDb(Path, boolean, int)}, refusing appends (the store's {@link StoreHealth}
     * turns failed, devices are told BYE STORE_UNAVAILABLE) while free space on the data
     * directory's filesystem is below {@code minFreeDiskBytes}, before RocksDB itself runs out;
     * appends resume once free space is back above the threshold plus half of it.
     *
     * @param minFreeDiskBytes bytes; 0 = no check; {@link #AUTO_MIN_FREE_DISK} = 1 % of the
     *                         filesystem or 512 MiB, whichever is smaller (the default of the other
     *                         overloads)
     * @throws IllegalArgumentException if {@code queueCapacity} or {@code minFreeDiskBytes} is out of range
     */
    public static MessageStore rocksDb(Path dataDir, boolean sync, int queueCapacity, long minFreeDiskBytes)
            throws IOException {
        return RocksDbMessageStore.open(dataDir, RocksDbMessageStore.Options.builder()
                .sync(sync).queueCapacity(queueCapacity).minFreeDiskBytes(minFreeDiskBytes).build());
    }

    /**
     * {@link #rocksDb(Path, boolean, int, long)} with the application feed set by {@code feed}
     * (the other overloads keep it with {@link FeedOptions#DEFAULT}).
     */
    public static MessageStore rocksDb(Path dataDir, boolean sync, int queueCapacity, long minFreeDiskBytes,
                                       FeedOptions feed) throws IOException {
        return RocksDbMessageStore.open(dataDir, RocksDbMessageStore.Options.builder()
                .sync(sync).queueCapacity(queueCapacity).minFreeDiskBytes(minFreeDiskBytes)
                .feed(feed.enabled()).forwarding(feed.forwarding()).ackAfterForward(feed.ackAfterForward())
                .retention(feed.retention()).maxUnforwardedBytes(feed.maxUnforwardedBytes()).build());
    }

    /** {@code minFreeDiskBytes} of {@link #rocksDb(Path, boolean, int, long)}: 1 % of the filesystem or 512 MiB, whichever is smaller. */
    public static final long AUTO_MIN_FREE_DISK = RocksDbMessageStore.Options.AUTO;
}
