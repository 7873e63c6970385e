package io.tether.server;

import io.tether.protocol.Reason;

/**
 * A connection ended. Exactly one per accepted connection.
 *
 * @param atMillis       wall-clock time at which the connection was closed, epoch milliseconds
 * @param deviceId       the device, or {@code null} if the handshake never completed
 * @param sessionId      the session id, or 0 if the handshake never completed
 * @param remote         the peer's address as host:port
 * @param reason         the one reason for this close
 * @param errnoName      errno name when an I/O error caused the close (e.g. "ECONNRESET"), else null
 * @param errnoNumber    errno number, or 0 when {@code errnoName} is null
 * @param detail         a human-readable detail (e.g. the protocol violation), or null
 * @param durationMillis time from TCP accept to close
 * @param lateMillis     for deadline reasons (heartbeat, handshake): time from the deadline to
 *                       its detection, in milliseconds; otherwise -1
 * @param drainedFrames  DATA frames received and stored during the drain of a graceful close
 * @param claimedDevice  the device id the connection's HELLO named, whether or not it was
 *                       admitted (e.g. for {@link Reason#AUTH_FAILED}); null if no HELLO arrived
 * @param authCause      for {@link Reason#AUTH_FAILED}: why, as an
 *                       {@link Authenticator.Verdict} name (e.g. "BAD_MAC"); otherwise null
 * @param messagesIn     DATA frames received from the device on this connection (duplicates included)
 * @param bytesIn        their payload bytes
 * @param messagesOut    DATA and COMMAND frames written to the device on this connection
 * @param bytesOut       their payload bytes
 */
public record SessionClosed(long atMillis, String deviceId, long sessionId, String remote, Reason reason,
                            String errnoName, int errnoNumber, String detail, long durationMillis,
                            double lateMillis, int drainedFrames, String claimedDevice, String authCause,
                            long messagesIn, long bytesIn, long messagesOut, long bytesOut) {

    /** A close without traffic figures (all 0). */
    public SessionClosed(long atMillis, String deviceId, long sessionId, String remote, Reason reason,
                         String errnoName, int errnoNumber, String detail, long durationMillis,
                         double lateMillis, int drainedFrames, String claimedDevice, String authCause) {
        this(atMillis, deviceId, sessionId, remote, reason, errnoName, errnoNumber, detail, durationMillis, lateMillis,
                drainedFrames, claimedDevice, authCause, 0, 0, 0, 0);
    }
}
