package io.tether.server;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where uplink messages go. Keyed by (device, seq); each (device, seq) is stored at most once.
 * Per device, appends complete in the order they were made, so the completion of seq n means
 * every seq below n made by the same caller is settled too (that is what makes cumulative ACKs
 * correct). Implementations are thread-safe, and no method blocks the calling thread on I/O:
 * callers are event loops.
 *
 * <h2>Back-pressure</h2>
 * {@link #append} never blocks and never refuses. A store with a bounded queue reports that it
 * is above its high-water mark through {@link #isWritable()}; callers then stop reading from the
 * connections that feed it (auto-read off) and ask to be told, through {@link #whenWritable},
 * when the queue has drained below its low-water mark. This is how Netty's own channel
 * writability works, and it keeps one slow disk from parking the event loop that also serves
 * the PINGs and handshakes of every other device on it.
 */
public interface MessageStore extends AutoCloseable {

    /**
     * Highest seq stored for the device, 0 if none. May read the disk: call it only off the event
     * loops (tools, tests). Connections use {@link #lastSeqAsync}.
     */
    long lastSeq(String deviceId);

    /**
     * Highest seq stored for the device, 0 if none, without blocking the caller: a store that
     * must read the disk completes the stage from its own thread.
     */
    default CompletionStage<Long> lastSeqAsync(String deviceId) {
        try {
            return CompletableFuture.completedFuture(lastSeq(deviceId));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Appends one message. Never blocks. {@code callback} is called once, possibly on another
     * thread, when the message is durable as far as this store promises (or was a duplicate), or
     * with an error.
     *
     * @param receivedAtMillis wall-clock receive time, epoch milliseconds
     */
    void append(String deviceId, long seq, byte[] payload, long receivedAtMillis, AppendCallback callback);

    /**
     * {@link #append(String, long, byte[], long, AppendCallback)} with the id of the session the
     * message arrived in, which a store that keeps the application feed records with it (Kafka's
     * {@code session} header). The default ignores it.
     */
    default void append(String deviceId, long session, long seq, byte[] payload, long receivedAtMillis,
                        AppendCallback callback) {
        append(deviceId, seq, payload, receivedAtMillis, callback);
    }

    /**
     * False while the store's queue is above its high-water mark: callers should stop feeding it
     * (stop reading from their connections) until {@link #whenWritable} runs their task.
     */
    default boolean isWritable() {
        return true;
    }

    /**
     * Runs {@code task} once when the store is writable again: at once (on the calling thread)
     * if it is writable now, else later on a thread of the store's. The task must not block.
     */
    default void whenWritable(Runnable task) {
        task.run();
    }

    /**
     * Whether the store accepts appends now. While {@linkplain StoreHealth.State#FAILED failed}
     * (a full disk, no file descriptors), appends fail with {@link StoreUnavailableException}, new
     * handshakes are refused with BYE STORE_UNAVAILABLE, and {@code /health} answers 503; the
     * store recovers by itself. Cheap (a volatile read): called per handshake and per health check.
     * The default is always {@link StoreHealth#HEALTHY}.
     */
    default StoreHealth health() {
        return StoreHealth.HEALTHY;
    }

    @Override
    void close();

    /** Completion of {@link #append}. */
    @FunctionalInterface
    interface AppendCallback {
        /** Exactly one of {@code result} and {@code error} is non-null. */
        void done(AppendResult result, Throwable error);
    }
}
