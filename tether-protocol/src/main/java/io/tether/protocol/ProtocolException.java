package io.tether.protocol;

/**
 * A peer broke the wire protocol. Carries the {@link Reason} the connection must be closed with
 * ({@link Reason#PROTOCOL_ERROR}, {@link Reason#FRAME_TOO_LARGE} or
 * {@link Reason#UNSUPPORTED_VERSION}). Stack traces are omitted: the cause is the peer's input,
 * not our code, and a flood of bad frames must not cost a stack walk each.
 */
public final class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Reason reason;

    public ProtocolException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
