package io.tether.server;

import java.util.Iterator;

/**
 * Stored messages in (device, seq) order, read from a consistent point-in-time view of the store:
 * messages stored after the cursor was opened are not seen. Holds native resources until closed;
 * use it in try-with-resources.
 *
 * <p>Not thread-safe: one thread iterates. Closing the store closes its open cursors; calling
 * {@link #hasNext()} or {@link #next()} afterwards throws {@link IllegalStateException}.
 */
public interface MessageCursor extends Iterator<StoredMessage>, AutoCloseable {

    /**
     * @throws IllegalStateException if the cursor or its store was closed
     * @throws java.io.UncheckedIOException if RocksDB reports a read error
     */
    @Override
    boolean hasNext();

    /**
     * @throws java.util.NoSuchElementException if there is no further message
     * @throws IllegalStateException if the cursor or its store was closed
     * @throws java.io.UncheckedIOException if RocksDB reports a read error
     */
    @Override
    StoredMessage next();

    /** Releases the native iterator. Idempotent. */
    @Override
    void close();
}
