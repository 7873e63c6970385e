package io.tether.protocol;

/**
 * Why a connection ended. One enum serves both the wire (the reason byte of a BYE frame) and the
 * server's close accounting, so a reason logged by the server and a reason seen by a device are
 * spelled the same way.
 *
 * <p>Reasons marked {@code local} describe something only the observing side can know (the peer
 * vanished, the kernel reported an error); they are never sent in a BYE because nobody would read
 * it.
 */
public enum Reason {
    /** The sender of BYE is leaving in an orderly way. */
    NORMAL(0x00, true),
    /** local: the peer closed its side (FIN, read returned EOF). */
    PEER_CLOSED(0x01, false),
    /** local: the peer reset the connection (RST, ECONNRESET / EPIPE). */
    PEER_RESET(0x02, false),
    /** Nothing arrived within heartbeat interval x multiplier. */
    HEARTBEAT_TIMEOUT(0x03, true),
    /** local: the kernel gave up on the peer (TCP keepalive or TCP_USER_TIMEOUT, ETIMEDOUT). */
    KEEPALIVE_TIMEOUT(0x04, false),
    /** HELLO was not complete within the handshake deadline. */
    HANDSHAKE_TIMEOUT(0x05, true),
    /** A newer connection claimed the same device id. */
    TAKEN_OVER(0x06, true),
    /** A frame broke the protocol (unknown type, bad field, wrong first frame, trailing bytes). */
    PROTOCOL_ERROR(0x07, true),
    /** A frame's length field exceeded the negotiated maximum. */
    FRAME_TOO_LARGE(0x08, true),
    /** The server is shutting down; reconnect after the hint. */
    SERVER_SHUTDOWN(0x09, true),
    /** local: an I/O error that is none of the above; the errno says which. */
    IO_ERROR(0x0A, false),
    /** The credential in HELLO was missing, wrong, expired or replayed. */
    AUTH_FAILED(0x0B, true),
    /** The peer did not read what was sent to it and the per-connection write buffer filled. */
    SLOW_CONSUMER(0x0C, true),
    /** A DATA frame skipped sequence numbers (seq &gt; last stored + 1). */
    SEQ_GAP(0x0D, true),
    /** The server refuses new connections for now (connection limit or rate limit). */
    SERVER_BUSY(0x0E, true),
    /** The device connected too often within a window and is refused for a while. */
    FLAPPING(0x0F, true),
    /** The frame version byte is not one this side speaks. */
    UNSUPPORTED_VERSION(0x10, true),
    /**
     * The server cannot store messages for now (its disk is full or below its free-space
     * threshold, or it has no file descriptors left); it recovers by itself. Reconnect after the
     * hint and resend what was not acknowledged.
     */
    STORE_UNAVAILABLE(0x11, true);

    private static final Reason[] BY_CODE = new Reason[256];

    static {
        for (Reason r : values()) {
            BY_CODE[r.code] = r;
        }
    }

    private final int code;
    private final boolean onWire;

    Reason(int code, boolean onWire) {
        this.code = code;
        this.onWire = onWire;
    }

    /** The reason byte used in a BYE frame. */
    public int code() {
        return code;
    }

    /** Whether this reason is ever sent in a BYE (false for reasons only the observer can know). */
    public boolean onWire() {
        return onWire;
    }

    /**
     * Looks up a reason by its wire code.
     *
     * @return the reason, or {@code null} if the code is not assigned
     */
    public static Reason ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
