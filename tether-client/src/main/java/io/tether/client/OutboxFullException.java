package io.tether.client;

/**
 * Thrown by {@link TetherClient#send(byte[])} when the outbox already holds as many unacknowledged
 * messages as its capacity allows. Nothing was queued; nothing else was dropped. Retry after some
 * pending sends have completed. Carries no stack trace: under load it is an expected, frequent
 * signal, not a bug.
 */
public final class OutboxFullException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int capacity;

    OutboxFullException(int capacity) {
        super("outbox full: " + capacity + " unacknowledged messages (capacity: " + capacity
                + "); wait for acknowledgements or raise outboxCapacity", null, false, false);
        this.capacity = capacity;
    }

    /** The outbox capacity, in messages. */
    public int capacity() {
        return capacity;
    }
}
