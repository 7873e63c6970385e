package io.tether.server;

/**
 * A device completed its handshake.
 *
 * @param atMillis        wall-clock time of the event, epoch milliseconds
 * @param deviceId        the device
 * @param sessionId       the new session's id (also its fencing epoch)
 * @param remote          the device's address as host:port
 * @param heartbeatMillis granted heartbeat interval, 0 = off
 * @param timeoutMillis   silence after which the session is closed, 0 = none
 * @param lastSeq         highest seq stored for this device when the session opened
 * @param tookOver        the session displaced a live session of the same device
 * @param resumed         HELLO named the device's previous session id
 * @param protocolVersion the protocol version the device speaks: 1, or 2 for a device that takes commands
 */
public record SessionOpened(long atMillis, String deviceId, long sessionId, String remote, int heartbeatMillis,
                            int timeoutMillis, long lastSeq, boolean tookOver, boolean resumed, int protocolVersion) {

    /** A session of protocol version 1. */
    public SessionOpened(long atMillis, String deviceId, long sessionId, String remote, int heartbeatMillis,
                         int timeoutMillis, long lastSeq, boolean tookOver, boolean resumed) {
        this(atMillis, deviceId, sessionId, remote, heartbeatMillis, timeoutMillis, lastSeq, tookOver, resumed, 1);
    }
}
