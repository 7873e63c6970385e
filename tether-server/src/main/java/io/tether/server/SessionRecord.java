package io.tether.server;

import io.tether.protocol.Reason;

import java.util.Objects;

/**
 * One past (or current) session of a device, as the device history keeps it
 * ({@link TetherServer#history(String)}, {@code GET /devices/{id}/history} on the admin endpoint,
 * {@code tether device history ID}). Made from the session's {@link SessionOpened} and
 * {@link SessionClosed} events.
 *
 * <p>A session whose close was never recorded has {@code closedAtMillis} 0 and a null
 * {@code reason}: either it is still open ({@link #live}), or the server stopped without closing
 * it (killed, or the host lost power), and then how it ended is unknown.
 *
 * <p>Bytes and messages per session are not kept: the connection does not count them (its
 * per-device footprint is bounded), and {@code lastSeqAtOpen} with the store's current last seq
 * tells how far the device got.
 *
 * @param deviceId        the device
 * @param sessionId       the session id (its fencing epoch); sessions sort by it
 * @param openedAtMillis  when the handshake completed, epoch milliseconds
 * @param closedAtMillis  when the connection closed, epoch milliseconds; 0 if not recorded
 * @param remote          the device's address as host:port
 * @param heartbeatMillis granted heartbeat interval, 0 = off (or not recorded)
 * @param timeoutMillis   silence after which the session was to be closed, 0 = none
 * @param tookOver        the session displaced a live session of the same device
 * @param resumed         HELLO named the device's previous session id
 * @param lastSeqAtOpen   highest seq stored for the device when the session opened; -1 if the
 *                        open was not recorded (history turned on, or events dropped, in between)
 * @param reason          why it closed; null if the close was not recorded
 * @param errnoName       errno name when an I/O error caused the close (e.g. "ECONNRESET"), else null
 * @param errnoNumber     errno number, or 0 when {@code errnoName} is null
 * @param detail          a human-readable detail of the close, or null
 * @param durationMillis  time from TCP accept to close, or -1 if the close was not recorded
 * @param lateMillis      for deadline reasons (heartbeat): time from the deadline to its
 *                        detection in milliseconds; otherwise -1
 * @param drainedFrames   DATA frames received and stored during the drain of a graceful close
 * @param messagesIn      DATA frames received from the device in this session; -1 if not recorded
 * @param bytesIn         their payload bytes; -1 if not recorded
 * @param messagesOut     DATA and COMMAND frames written to the device; -1 if not recorded
 * @param bytesOut        their payload bytes; -1 if not recorded
 * @param live            the session is open now, on this server (never true when read from a
 *                        store directory by another process)
 */
public record SessionRecord(String deviceId, long sessionId, long openedAtMillis, long closedAtMillis, String remote,
                            int heartbeatMillis, int timeoutMillis, boolean tookOver, boolean resumed,
                            long lastSeqAtOpen, Reason reason, String errnoName, int errnoNumber, String detail,
                            long durationMillis, double lateMillis, int drainedFrames, long messagesIn, long bytesIn,
                            long messagesOut, long bytesOut, boolean live) {

    /** @throws NullPointerException if {@code deviceId} is null */
    public SessionRecord {
        Objects.requireNonNull(deviceId, "deviceId");
    }

    /** Whether the close of this session was recorded. */
    public boolean closed() {
        return closedAtMillis != 0;
    }

    /** This record, marked live or not. */
    SessionRecord withLive(boolean isLive) {
        return isLive == live ? this : new SessionRecord(deviceId, sessionId, openedAtMillis, closedAtMillis, remote,
                heartbeatMillis, timeoutMillis, tookOver, resumed, lastSeqAtOpen, reason, errnoName, errnoNumber, detail,
                durationMillis, lateMillis, drainedFrames, messagesIn, bytesIn, messagesOut, bytesOut, isLive);
    }
}
