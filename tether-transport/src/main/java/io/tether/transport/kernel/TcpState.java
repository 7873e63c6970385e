package io.tether.transport.kernel;

/**
 * A TCP socket state as the Linux kernel numbers it in {@code /proc/net/tcp} (the {@code st}
 * column, two hex digits) and in {@code include/net/tcp_states.h}.
 *
 * <p>Immutable and thread-safe, like every enum.
 */
public enum TcpState {
    /** Connected; data flows both ways. */
    ESTABLISHED(0x01),
    /** Our SYN is out, no SYN+ACK yet (a client connecting). */
    SYN_SENT(0x02),
    /** A SYN arrived and SYN+ACK was sent; waiting for the final ACK. */
    SYN_RECV(0x03),
    /** We closed (sent FIN) and wait for its ACK. */
    FIN_WAIT1(0x04),
    /** Our FIN was acknowledged; waiting for the peer's FIN. */
    FIN_WAIT2(0x05),
    /** Both sides closed; the socket lingers for 2 x MSL to absorb stray segments. */
    TIME_WAIT(0x06),
    /** Not connected (a socket being torn down, or never connected). */
    CLOSE(0x07),
    /**
     * The peer sent FIN and the application has not closed its side yet. Many of these on a server
     * port mean the application does not react to EOF.
     */
    CLOSE_WAIT(0x08),
    /** The peer closed first, then we closed; waiting for the ACK of our FIN. */
    LAST_ACK(0x09),
    /** A listening socket. */
    LISTEN(0x0A),
    /** Both sides sent FIN at the same time. */
    CLOSING(0x0B),
    /** A request socket for a connection in the SYN queue (kernel 4.4+). */
    NEW_SYN_RECV(0x0C);

    private static final TcpState[] BY_CODE = new TcpState[0x0D];

    static {
        for (TcpState s : values()) {
            BY_CODE[s.code] = s;
        }
    }

    private final int code;

    TcpState(int code) {
        this.code = code;
    }

    /** The kernel's numeric state, 0x01 to 0x0C. */
    public int code() {
        return code;
    }

    /**
     * Looks up a state by the kernel's numeric code.
     *
     * @return the state, or {@code null} if the code is not one of 0x01 to 0x0C
     */
    public static TcpState ofCode(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
