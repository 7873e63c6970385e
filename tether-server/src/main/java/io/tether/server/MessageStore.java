package io.tether.server;

/**
 * Where uplink messages go. Keyed by (device, seq); each (device, seq) is stored at most once.
 * Per device, appends complete in the order they were made, so the completion of seq n means
 * every seq below n made by the same caller is settled too (that is what makes cumulative ACKs
 * correct). Implementations are thread-safe.
 */
public interface MessageStore extends AutoCloseable {

    /** Highest seq stored for the device, 0 if none. */
    long lastSeq(String deviceId);

    /**
     * Appends one message. {@code callback} is called once, possibly on another thread, when the
     * message is durable as far as this store promises (or was a duplicate), or with an error.
     *
     * @param receivedAtMillis wall-clock receive time, epoch milliseconds
     */
    void append(String deviceId, long seq, byte[] payload, long receivedAtMillis, AppendCallback callback);

    @Override
    void close();

    /** Completion of {@link #append}. */
    @FunctionalInterface
    interface AppendCallback {
        /** Exactly one of {@code result} and {@code error} is non-null. */
        void done(AppendResult result, Throwable error);
    }
}
