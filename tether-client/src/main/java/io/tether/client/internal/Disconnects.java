package io.tether.client.internal;

import io.netty.channel.unix.Errors;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;

/**
 * Names the {@link Reason} of a connection that ended with an exception, from the exception's type
 * and native error code, never from its message text (messages differ between kernels, libc
 * versions and locales).
 */
public final class Disconnects {
    // Linux errno values; the epoll transport reports them negated in NativeIoException.expectedErr().
    private static final int EPIPE = 32;
    private static final int ECONNRESET = 104;
    private static final int ETIMEDOUT = 110;

    private Disconnects() {
    }

    /**
     * Classifies a failure by walking its cause chain:
     * {@link ProtocolException} → its reason; a native ECONNRESET or EPIPE → {@link Reason#PEER_RESET};
     * a native ETIMEDOUT (TCP keepalive or TCP_USER_TIMEOUT gave up) → {@link Reason#KEEPALIVE_TIMEOUT};
     * anything else → {@link Reason#IO_ERROR}. The NIO transport carries no error codes, so its
     * resets are {@code IO_ERROR}.
     *
     * @param cause the failure, not null
     */
    public static Reason classify(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProtocolException pe) {
                return pe.reason();
            }
            if (t instanceof Errors.NativeIoException ne) {
                return ofErrno(Math.abs(ne.expectedErr()));
            }
        }
        return Reason.IO_ERROR;
    }

    /** The reason for a (positive) Linux errno. */
    static Reason ofErrno(int errno) {
        switch (errno) {
            case ECONNRESET:
            case EPIPE:
                return Reason.PEER_RESET;
            case ETIMEDOUT:
                return Reason.KEEPALIVE_TIMEOUT;
            default:
                return Reason.IO_ERROR;
        }
    }
}
