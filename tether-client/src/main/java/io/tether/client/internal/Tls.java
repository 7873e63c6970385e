package io.tether.client.internal;

import io.netty.channel.Channel;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import java.net.InetSocketAddress;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;

/**
 * The client's TLS handler and the wording of TLS failures. Failures are told apart by exception
 * type, not message text; the JDK's message is appended for the details.
 */
public final class Tls {
    private Tls() {
    }

    /**
     * The handler to put first in the pipeline: its engine knows the target's host and port (for
     * SNI and session resumption) and verifies that the server's certificate names that host or IP
     * address, whatever the context was built with. Its own handshake timer is off: the client's
     * connect timeout already bounds TCP connect + TLS handshake + WELCOME, and reports
     * HANDSHAKE_TIMEOUT.
     */
    public static SslHandler handler(SslContext context, Channel channel, InetSocketAddress target) {
        SslHandler handler = context.newHandler(channel.alloc(), target.getHostString(), target.getPort());
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(params);
        handler.setHandshakeTimeoutMillis(0);
        return handler;
    }

    /**
     * If {@code t} is a TLS failure, an exception that says in plain words what went wrong with
     * which server (the original is its cause): an {@link SSLHandshakeException} for a failed
     * handshake, else an {@link SSLException}. Null if {@code t} is no TLS failure.
     */
    public static SSLException describe(Throwable t, InetSocketAddress target) {
        SSLException ssl = find(t, SSLException.class);
        if (ssl == null) {
            return null;
        }
        String server = target.getHostString() + ":" + target.getPort();
        String what;
        boolean handshake = true;
        if (ssl instanceof NotSslRecordException) {
            what = "the server did not answer with TLS (is TLS enabled on the gateway's port?)";
        } else if (find(t, CertPathBuilderException.class) != null || find(t, CertPathValidatorException.class) != null) {
            what = "the server's certificate is not trusted (not issued by a trusted certificate, expired or "
                    + "not yet valid): " + rootMessage(t);
        } else if (find(t, CertificateException.class) != null) {
            what = "the server's certificate was rejected (its subjectAltName must name " + target.getHostString()
                    + "): " + rootMessage(t);
        } else {
            what = String.valueOf(ssl.getMessage());
            handshake = ssl instanceof SSLHandshakeException;
        }
        SSLException e = handshake
                ? new SSLHandshakeException("TLS handshake with " + server + " failed: " + what)
                : new SSLException("TLS connection with " + server + " failed: " + what);
        e.initCause(t);
        return e;
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 16; depth++) {
            root = root.getCause();
        }
        return String.valueOf(root.getMessage());
    }
}
