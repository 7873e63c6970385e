package io.tether.transport.errno;

import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.unix.Errors;
import io.netty.handler.ssl.NotSslRecordException;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;
import java.lang.reflect.Method;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.channels.NotYetConnectedException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An I/O failure reduced to what an operator needs: the close {@link Reason} and, when it can be
 * known, the Linux {@link Errno}.
 *
 * <p>{@link #classify(Throwable)} reads the errno from the exception's type and Netty's native
 * error code, never from message text: message text differs between JDKs, locales and transports,
 * and a rule that parses it breaks silently. When no native code is present (NIO transport, JDK
 * exceptions) the errno is inferred from the exception type where the type implies one, and is
 * {@code null} otherwise.
 *
 * <p>A {@link ProtocolException} in the chain (a frame the peer got wrong, possibly wrapped in
 * Netty's {@code DecoderException}) gives its own reason, without errno. {@link #tlsProblem}
 * tells TLS failures apart, by type as well. This is the one classification of the gateway, the
 * device SDK and the command line.
 *
 * <p>Records are immutable; this class is thread-safe.
 *
 * @param reason the close reason; never {@code null}
 * @param errno the errno, or {@code null} when the failure carries none that Tether knows
 */
public record IoFailure(Reason reason, Errno errno) {

    private static final Logger log = LoggerFactory.getLogger(IoFailure.class);

    /** Guards against pathological or cyclic cause chains. */
    private static final int MAX_CAUSE_DEPTH = 32;

    /**
     * {@code Errors$NativeConnectException} is package-private in Netty and carries the errno of a
     * failed connect in a package-private {@code expectedErr()}. Netty 4.2.18 no longer throws it
     * (connect failures there are plain {@link ConnectException} / {@link NoRouteToHostException}),
     * but other Netty versions may; read it when present, fall back to the type when not.
     */
    private static final Class<?> NATIVE_CONNECT_EXCEPTION;

    private static final Method NATIVE_CONNECT_EXPECTED_ERR;

    static {
        Class<?> type = null;
        Method expectedErr = null;
        try {
            type = Class.forName("io.netty.channel.unix.Errors$NativeConnectException", false,
                    IoFailure.class.getClassLoader());
            expectedErr = type.getDeclaredMethod("expectedErr");
            expectedErr.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            // Absent class, renamed method or a module boundary: type-only classification still works.
            log.debug("Netty's NativeConnectException errno is not readable; connect failures are"
                    + " classified by exception type only", e);
            type = null;
            expectedErr = null;
        }
        NATIVE_CONNECT_EXCEPTION = type;
        NATIVE_CONNECT_EXPECTED_ERR = expectedErr;
    }

    /**
     * @throws NullPointerException if {@code reason} is {@code null}
     */
    public IoFailure {
        Objects.requireNonNull(reason, "reason");
    }

    /**
     * Classifies an I/O failure. The whole cause chain is searched: first for a
     * {@link ProtocolException} or a native error code (the outermost one wins), then for an
     * exception type that implies an errno.
     *
     * <p>Reason mapping: a {@link ProtocolException} gives its reason ({@code PROTOCOL_ERROR},
     * {@code FRAME_TOO_LARGE}, ...) with a {@code null} errno; ECONNRESET and EPIPE give {@link Reason#PEER_RESET}; ETIMEDOUT reported
     * by the kernel (keepalive or TCP_USER_TIMEOUT gave up) gives {@link Reason#KEEPALIVE_TIMEOUT};
     * everything else gives {@link Reason#IO_ERROR}. Timeouts raised by a Java-side timer
     * ({@link ConnectTimeoutException}, {@link SocketTimeoutException}) carry ETIMEDOUT but stay
     * {@link Reason#IO_ERROR}: the kernel did not give up on a peer.
     *
     * <p>Type-only inferences, used when no native code is available: {@link ConnectException}
     * gives ECONNREFUSED, {@link NoRouteToHostException} gives EHOSTUNREACH (Netty throws it for
     * ENETUNREACH too, so the two are not told apart), {@link PortUnreachableException} gives
     * ECONNREFUSED, {@link BindException} gives EADDRINUSE, {@link NotYetConnectedException}
     * gives ENOTCONN. A plain {@link java.io.IOException} gives IO_ERROR with a {@code null} errno.
     *
     * @param t the failure, as seen in {@code exceptionCaught} or a failed future
     * @return the classification; never {@code null}
     * @throws NullPointerException if {@code t} is {@code null}
     */
    public static IoFailure classify(Throwable t) {
        Objects.requireNonNull(t, "t");
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int depth = 0;
        for (Throwable c = t; c != null && depth < MAX_CAUSE_DEPTH && seen.add(c); c = c.getCause(), depth++) {
            if (c instanceof ProtocolException pe) {
                return new IoFailure(pe.reason(), null);
            }
            int code = nativeErrno(c);
            if (code > 0) {
                Errno errno = Errno.byNumber(code).orElse(null);
                return new IoFailure(reasonForKernelErrno(errno), errno);
            }
        }
        seen.clear();
        depth = 0;
        for (Throwable c = t; c != null && depth < MAX_CAUSE_DEPTH && seen.add(c); c = c.getCause(), depth++) {
            Errno errno = errnoImpliedByType(c);
            if (errno != null) {
                Reason reason = errno == Errno.ETIMEDOUT ? Reason.IO_ERROR : reasonForKernelErrno(errno);
                return new IoFailure(reason, errno);
            }
        }
        return new IoFailure(Reason.IO_ERROR, null);
    }

    /** What went wrong in a TLS failure, told apart by exception type, never by message text. */
    public enum TlsProblem {
        /** The peer did not speak TLS: plaintext, another protocol, or TLS off on the other side. */
        NOT_TLS,
        /** The peer's certificate chain is not trusted: unknown issuer, expired, not yet valid. */
        UNTRUSTED_CERTIFICATE,
        /** The peer's certificate was rejected otherwise, e.g. it does not name the host dialled. */
        REJECTED_CERTIFICATE,
        /** Another handshake failure (no common protocol version or cipher suite, an alert). */
        HANDSHAKE,
        /** A TLS failure after the handshake (a bad record, an alert). */
        OTHER
    }

    /**
     * Classifies a TLS failure.
     *
     * @param t the failure, as seen in {@code exceptionCaught} or a failed future
     * @return the problem, or {@code null} if no {@link SSLException} is in the cause chain
     * @throws NullPointerException if {@code t} is {@code null}
     */
    public static TlsProblem tlsProblem(Throwable t) {
        Objects.requireNonNull(t, "t");
        SSLException ssl = find(t, SSLException.class);
        if (ssl == null) {
            return null;
        }
        if (ssl instanceof NotSslRecordException) {
            return TlsProblem.NOT_TLS;
        }
        if (find(t, CertPathBuilderException.class) != null || find(t, CertPathValidatorException.class) != null) {
            return TlsProblem.UNTRUSTED_CERTIFICATE;
        }
        if (find(t, CertificateException.class) != null) {
            return TlsProblem.REJECTED_CERTIFICATE;
        }
        return ssl instanceof SSLHandshakeException ? TlsProblem.HANDSHAKE : TlsProblem.OTHER;
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int depth = 0;
        for (Throwable c = t; c != null && depth < MAX_CAUSE_DEPTH && seen.add(c); c = c.getCause(), depth++) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    /** The errno's symbolic name, e.g. "ECONNRESET", or {@code null} when the errno is unknown. */
    public String errnoName() {
        return errno == null ? null : errno.name();
    }

    /** The errno's positive number, e.g. 104, or -1 when the errno is unknown. */
    public int errnoNumber() {
        return errno == null ? -1 : errno.number();
    }

    private static Reason reasonForKernelErrno(Errno errno) {
        if (errno == null) {
            return Reason.IO_ERROR;
        }
        return switch (errno) {
            case ECONNRESET, EPIPE -> Reason.PEER_RESET;
            case ETIMEDOUT -> Reason.KEEPALIVE_TIMEOUT;
            default -> Reason.IO_ERROR;
        };
    }

    /** The positive errno carried by a Netty native exception, or 0 if {@code t} carries none. */
    private static int nativeErrno(Throwable t) {
        if (t instanceof Errors.NativeIoException) {
            // Netty stores the negated errno, as returned by its JNI calls.
            return -((Errors.NativeIoException) t).expectedErr();
        }
        if (NATIVE_CONNECT_EXCEPTION != null && NATIVE_CONNECT_EXCEPTION.isInstance(t)) {
            try {
                return -(Integer) NATIVE_CONNECT_EXPECTED_ERR.invoke(t);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return 0;
            }
        }
        return 0;
    }

    private static Errno errnoImpliedByType(Throwable t) {
        // ConnectTimeoutException extends ConnectException: test it first.
        if (t instanceof ConnectTimeoutException || t instanceof SocketTimeoutException) {
            return Errno.ETIMEDOUT;
        }
        if (t instanceof NoRouteToHostException) {
            return Errno.EHOSTUNREACH;
        }
        if (t instanceof PortUnreachableException || t instanceof ConnectException) {
            return Errno.ECONNREFUSED;
        }
        if (t instanceof BindException) {
            return Errno.EADDRINUSE;
        }
        if (t instanceof NotYetConnectedException) {
            // Netty's epoll transport turns a native ENOTCONN into this type.
            return Errno.ENOTCONN;
        }
        return null;
    }
}
