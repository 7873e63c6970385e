package io.tether.server;

import io.tether.protocol.Reason;

/**
 * A live, handshaken device connection as the registry sees it. Implementations are thread-safe:
 * {@link #kick} may be called from any thread and hops to the connection's own event loop.
 */
public interface Session {
    String deviceId();

    /** Fencing epoch, assigned by {@link SessionRegistry#claim}; also the session id sent in WELCOME. */
    long epoch();

    /**
     * Called by the registry, inside its atomic claim, with this session's new epoch: before any
     * other thread can find the session. Not for other callers.
     */
    void assignEpoch(long epoch);

    /** The peer address as host:port. */
    String remote();

    /**
     * Closes this session because of {@code reason} (e.g. {@link Reason#TAKEN_OVER}). Returns at
     * once; the close happens on the session's event loop. Idempotent.
     */
    void kick(Reason reason);

    /**
     * Queues a downlink message to the device.
     *
     * @return false if the session is no longer open
     */
    boolean send(byte[] payload);
}
