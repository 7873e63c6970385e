package io.tether.client;

/**
 * Thrown by {@link TetherClient#send(byte[])} when the outbox already holds as many unacknowledged
 * messages as its capacity allows. It is thrown on the caller's thread, before anything is queued
 * or written: the rejected message was not taken, and nothing already queued was dropped. Retry
 * after some pending sends have completed. Carries no stack trace: under load it is an expected,
 * frequent signal, not a bug.
 */
public final class OutboxFullException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int capacity;
    private final int pending;

    OutboxFullException(int capacity, int pending) {
        super("outbox full: " + pending + " unacknowledged messages pending (capacity: " + capacity
                + "); the message was not queued and nothing was dropped; retry once acknowledgements"
                + " complete pending sends, or raise outboxCapacity", null, false, false);
        this.capacity = capacity;
        this.pending = pending;
    }

    /** The outbox capacity, in messages. */
    public int capacity() {
        return capacity;
    }

    /**
     * Unacknowledged messages held when the send was refused; at least {@link #capacity()}, more
     * only if messages reloaded from an {@link TetherClient.Builder#outboxFile outbox file} exceeded it.
     */
    public int pending() {
        return pending;
    }
}
