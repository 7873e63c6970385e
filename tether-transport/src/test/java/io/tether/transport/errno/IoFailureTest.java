package io.tether.transport.errno;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import io.netty.channel.ChannelException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class IoFailureTest {

    @BeforeAll
    static void loadNativeTransport() {
        // Constructing Netty's native exceptions initialises io.netty.channel.unix.Errors, which
        // needs the JNI library that the epoll transport loads.
        Epoll.ensureAvailability();
    }

    @Test
    void nativeEconnreset_isPeerReset() {
        IoFailure f = IoFailure.classify(Errors.newIOException("recvAddress", -104));

        assertThat(f).isEqualTo(new IoFailure(Reason.PEER_RESET, Errno.ECONNRESET));
        assertThat(f.errnoName()).isEqualTo("ECONNRESET");
        assertThat(f.errnoNumber()).isEqualTo(104);
    }

    @Test
    void nativeEpipe_isPeerReset() {
        assertThat(IoFailure.classify(new Errors.NativeIoException("sendAddress", -32)))
                .isEqualTo(new IoFailure(Reason.PEER_RESET, Errno.EPIPE));
    }

    @Test
    void nativeEtimedout_isKeepaliveTimeout() {
        assertThat(IoFailure.classify(new Errors.NativeIoException("writevAddresses", -110)))
                .isEqualTo(new IoFailure(Reason.KEEPALIVE_TIMEOUT, Errno.ETIMEDOUT));
    }

    @Test
    void otherNativeErrnos_areIoErrorWithTheirErrno() {
        assertThat(IoFailure.classify(new Errors.NativeIoException("write", -113)))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.EHOSTUNREACH));
        assertThat(IoFailure.classify(new Errors.NativeIoException("bind", -98)))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.EADDRINUSE));
        assertThat(IoFailure.classify(new Errors.NativeIoException("accept", -24)))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.EMFILE));
    }

    @Test
    void nativeErrnoTetherDoesNotKnow_isIoErrorWithoutErrno() {
        IoFailure f = IoFailure.classify(new Errors.NativeIoException("write", -121)); // EREMOTEIO

        assertThat(f).isEqualTo(new IoFailure(Reason.IO_ERROR, null));
        assertThat(f.errnoName()).isNull();
        assertThat(f.errnoNumber()).isEqualTo(-1);
    }

    @Test
    void nativeCodeDeepInACauseChain_isFound() {
        Throwable chain = new ChannelException("pipeline",
                new IOException("wrapper", new Errors.NativeIoException("recvAddress", -104)));

        assertThat(IoFailure.classify(chain)).isEqualTo(new IoFailure(Reason.PEER_RESET, Errno.ECONNRESET));
    }

    @Test
    void closedChannelCausedByAReset_carriesTheReset() {
        // What Netty hands to writes queued after a write failed: a ClosedChannelException whose
        // cause is the first failure.
        ClosedChannelException closed = new ClosedChannelException();
        closed.initCause(new Errors.NativeIoException("sendAddress", -104));

        assertThat(IoFailure.classify(closed).errno()).isEqualTo(Errno.ECONNRESET);
    }

    @Test
    void nativeCode_winsOverAnOuterTypeGuess() {
        ConnectException outer = new ConnectException("annotated");
        outer.initCause(new Errors.NativeIoException("finishConnect", -113));

        assertThat(IoFailure.classify(outer).errno()).isEqualTo(Errno.EHOSTUNREACH);
    }

    @Test
    void nativeConnectException_isReadByReflection() throws Exception {
        // Package-private in Netty; 4.2.18 no longer throws it, but its errno must be read when it is.
        Class<?> type = Class.forName("io.netty.channel.unix.Errors$NativeConnectException");
        Constructor<?> ctor = type.getDeclaredConstructor(String.class, int.class);
        ctor.setAccessible(true);
        Throwable etimedout = (Throwable) ctor.newInstance("finishConnect", -110);

        // By type alone a ConnectException would be ECONNREFUSED; the code says ETIMEDOUT.
        assertThat(IoFailure.classify(etimedout).errno()).isEqualTo(Errno.ETIMEDOUT);
    }

    @Test
    void resetMessageWithoutNativeCode_hasNoErrno() {
        // The message is exactly what the NIO transport produces for ECONNRESET; it is not parsed.
        IoFailure f = IoFailure.classify(new IOException("Connection reset by peer"));

        assertThat(f).isEqualTo(new IoFailure(Reason.IO_ERROR, null));
        assertThat(f.errnoName()).isNull();
        assertThat(f.errnoNumber()).isEqualTo(-1);
        assertThat(IoFailure.classify(new SocketException("Connection reset")).errno()).isNull();
        assertThat(IoFailure.classify(new IOException("Broken pipe")).errno()).isNull();
    }

    @Test
    void jdkConnectException_isEconnrefused() {
        assertThat(IoFailure.classify(new ConnectException("Connection refused")))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.ECONNREFUSED));
        assertThat(IoFailure.classify(new PortUnreachableException()).errno()).isEqualTo(Errno.ECONNREFUSED);
    }

    @Test
    void noRouteToHost_isEhostunreach() {
        // Netty 4.2.18 throws NoRouteToHostException for both ENETUNREACH and EHOSTUNREACH on
        // connect, without a code: the two cannot be told apart, EHOSTUNREACH is reported.
        assertThat(IoFailure.classify(new NoRouteToHostException()))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.EHOSTUNREACH));
    }

    @Test
    void javaSideTimeouts_areEtimedoutButNotKeepaliveTimeout() {
        // ConnectTimeoutException extends ConnectException; it must not be read as ECONNREFUSED.
        assertThat(IoFailure.classify(new ConnectTimeoutException("connection timed out: /10.0.0.1:7000")))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.ETIMEDOUT));
        assertThat(IoFailure.classify(new SocketTimeoutException("Read timed out")))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, Errno.ETIMEDOUT));
    }

    @Test
    void otherTypeImpliedErrnos() {
        assertThat(IoFailure.classify(new BindException("Address already in use")).errno())
                .isEqualTo(Errno.EADDRINUSE);
        assertThat(IoFailure.classify(new NotYetConnectedException()).errno()).isEqualTo(Errno.ENOTCONN);
    }

    @Test
    void closedChannelWithoutCause_isIoErrorWithoutErrno() {
        assertThat(IoFailure.classify(new ClosedChannelException()))
                .isEqualTo(new IoFailure(Reason.IO_ERROR, null));
    }

    @Test
    void cyclicCauseChain_terminates() {
        IOException a = new IOException("a");
        IOException b = new IOException("b", a);
        a.initCause(b);

        assertThat(IoFailure.classify(a)).isEqualTo(new IoFailure(Reason.IO_ERROR, null));
    }

    @Test
    void nullArguments_areRejected() {
        assertThatNullPointerException().isThrownBy(() -> IoFailure.classify(null));
        assertThatNullPointerException().isThrownBy(() -> new IoFailure(null, Errno.EPIPE));
    }

    // ---- protocol failures and TLS (the SDK's former Disconnects and Tls classification) ------

    @Test
    void protocolException_givesItsReason_evenWrappedByTheDecoder() {
        IoFailure f = IoFailure.classify(new DecoderException(new ProtocolException(Reason.FRAME_TOO_LARGE, "big")));

        assertThat(f).isEqualTo(new IoFailure(Reason.FRAME_TOO_LARGE, null));
    }

    @Test
    void resetOfAClosedChannel_isPeerReset_theWayTheSdkReportsIt() {
        ClosedChannelException closed = new ClosedChannelException();
        closed.initCause(Errors.newIOException("writevAddresses", -32));

        assertThat(IoFailure.classify(closed).reason()).isEqualTo(Reason.PEER_RESET);
        assertThat(IoFailure.classify(Errors.newIOException("readAddress", -113)).reason()).isEqualTo(Reason.IO_ERROR);
    }

    @Test
    void tlsProblems_areToldApartByType() {
        assertThat(IoFailure.tlsProblem(new DecoderException(new NotSslRecordException("not an SSL/TLS record: 0a0b"))))
                .isEqualTo(IoFailure.TlsProblem.NOT_TLS);
        SSLHandshakeException untrusted = new SSLHandshakeException("PKIX path building failed");
        untrusted.initCause(new CertPathBuilderException("unable to find valid certification path"));
        assertThat(IoFailure.tlsProblem(new DecoderException(untrusted))).isEqualTo(IoFailure.TlsProblem.UNTRUSTED_CERTIFICATE);
        SSLHandshakeException wrongName = new SSLHandshakeException("No subject alternative names matching");
        wrongName.initCause(new CertificateException("No subject alternative names matching IP address 127.0.0.1"));
        assertThat(IoFailure.tlsProblem(wrongName)).isEqualTo(IoFailure.TlsProblem.REJECTED_CERTIFICATE);
        assertThat(IoFailure.tlsProblem(new SSLHandshakeException("no cipher suites in common")))
                .isEqualTo(IoFailure.TlsProblem.HANDSHAKE);
        assertThat(IoFailure.tlsProblem(new SSLException("bad record MAC"))).isEqualTo(IoFailure.TlsProblem.OTHER);
        assertThat(IoFailure.tlsProblem(new IOException("TLS handshake failed"))).as("message text is never read").isNull();
    }
}
