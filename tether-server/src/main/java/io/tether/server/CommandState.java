package io.tether.server;

/**
 * Where a command is in its life. The order of the constants is the order of the life:
 *
 * <pre>
 * QUEUED ──▶ SENT ──▶ DELIVERED ──▶ SUCCEEDED | FAILED
 *   │  ▲       │
 *   │  └───────┘  the connection ended before the device acknowledged: back to the head of the queue
 *   ├──▶ EXPIRED   its TTL passed before delivery (never sent afterwards)
 *   └──▶ CANCELED  canceled before it was sent
 * </pre>
 *
 * DELIVERED means the device acknowledged the command (it processed it, and will not process it
 * again); a result from the device is optional and moves it on to SUCCEEDED or FAILED.
 */
public enum CommandState {
    /** Stored; not yet written to a connection of the device (or sent, and the connection ended unacknowledged). */
    QUEUED,
    /** Written to the device's current connection; not yet acknowledged. */
    SENT,
    /** The device acknowledged it. */
    DELIVERED,
    /** The device answered that it succeeded. Final. */
    SUCCEEDED,
    /** The device answered that it failed. Final. */
    FAILED,
    /** Its TTL passed before the device acknowledged it. Final. */
    EXPIRED,
    /** Canceled before it was sent. Final. */
    CANCELED;

    /** Whether nothing can change this command any more. */
    public boolean isFinal() {
        return this == SUCCEEDED || this == FAILED || this == EXPIRED || this == CANCELED;
    }

    /** Whether the device has acknowledged it: DELIVERED, SUCCEEDED or FAILED. */
    public boolean isDelivered() {
        return this == DELIVERED || this == SUCCEEDED || this == FAILED;
    }
}
