package io.tether.transport.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.tether.transport.HostPort;
import io.tether.transport.errno.IoFailure;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TLS for the device port, both ends: server and client {@link SslContext}s from PEM files, the
 * {@link SslHandler}s that go first in a connection's pipeline, and TLS failures in words.
 *
 * <p><b>Loading.</b> Contexts are built by Netty's {@link SslContextBuilder}, and PEM is parsed by
 * Netty's reader; this class only wraps them with messages a person can act on (which file, what
 * was found in it, what was expected, the {@code openssl} command that converts it), from a look
 * at the files' PEM headers.
 *
 * <p><b>Provider.</b> The JDK's own TLS implementation ({@link SslProvider#JDK}): nothing native to
 * ship, and it stays in step with the JDK's security updates. OpenSSL through
 * {@code netty-tcnative-boringssl-static} is cheaper per handshake; it is the switch to make if
 * handshake CPU ever matters (reconnect storms of many thousands of devices), see
 * docs/OPERATIONS.md, "TLS".
 *
 * <p><b>Protocols.</b> TLS 1.3 and TLS 1.2 only; older versions are refused in the handshake.
 *
 * <p><b>Deadline.</b> The TLS handshake counts inside the server's handshake timeout, which starts
 * at TCP accept; {@link SslHandler}'s own handshake timer is off for such connections, so a stalled
 * TLS handshake ends the way every other stalled handshake ends (HANDSHAKE_TIMEOUT).
 *
 * <p>Thread-safe: a context is immutable and shared by all connections.
 */
public final class Tls {
    /** The protocol versions offered and accepted, newest first. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** A PEM header; only looked at to say what a file holds when it is not what was expected. */
    private static final Pattern PEM_HEADER = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----");

    private Tls() {
    }

    /**
     * A server context from a PEM certificate chain and a PEM PKCS#8 private key, using the JDK
     * provider and TLS 1.2/1.3 only. Both files are read once, here: to use a renewed certificate,
     * build a new context and restart the server.
     *
     * @param certChainPem the server's certificate first, then any intermediates
     *                     ({@code -----BEGIN CERTIFICATE-----} blocks)
     * @param keyPem       the certificate's private key, unencrypted PKCS#8
     *                     ({@code -----BEGIN PRIVATE KEY-----}). A PKCS#1 ({@code BEGIN RSA PRIVATE
     *                     KEY}), SEC1 ({@code BEGIN EC PRIVATE KEY}) or encrypted key is refused with
     *                     the {@code openssl pkcs8 -topk8 -nocrypt} command that converts it.
     * @throws UncheckedIOException     if a file is missing or unreadable (the message names it)
     * @throws IllegalArgumentException if a file does not hold what it should (no certificate, a key
     *                                  in another format, a key that does not belong to the
     *                                  certificate), with what was found and what was expected
     */
    public static SslContext serverContext(Path certChainPem, Path keyPem) {
        X509Certificate[] chain = readServerCertificates(certChainPem);
        PrivateKey key = readPrivateKey(keyPem);
        checkKeyMatches(key, chain[0], certChainPem, keyPem);
        try {
            return SslContextBuilder.forServer(key, chain)
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .build();
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("TLS: cannot build a server context from " + certChainPem + " and "
                    + keyPem + ": " + e.getMessage(), e);
        }
    }

    /**
     * The handler to put first in a connection's pipeline.
     *
     * @param context          a server context, e.g. from {@link #serverContext}
     * @param channel          the accepted channel
     * @param handshakeTimeout the TLS handshake's own timeout; {@link Duration#ZERO} = none. Zero is
     *                         right for a connection with a handshake deadline of its own (from TCP
     *                         accept to HELLO, which then bounds the TLS handshake too): a second
     *                         timer would close a stalled connection first, by another path, and the
     *                         close would not be recorded as HANDSHAKE_TIMEOUT.
     */
    public static SslHandler handler(SslContext context, Channel channel, Duration handshakeTimeout) {
        SslHandler handler = context.newHandler(channel.alloc());
        handler.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
        return handler;
    }

    /**
     * A client context trusting exactly the certificates in a PEM file (the CA that issued the
     * gateway's certificate, or a self-signed gateway certificate itself; the JDK's trust store is
     * not consulted), JDK provider, TLS 1.2/1.3 only, HTTPS-style endpoint identification on.
     *
     * @param trustedCertsPem one or more {@code -----BEGIN CERTIFICATE-----} blocks
     * @throws UncheckedIOException     if the file is missing or unreadable (the message names it)
     * @throws IllegalArgumentException if it holds no PEM certificate (a key file, DER, garbage)
     */
    public static SslContext clientContext(Path trustedCertsPem) {
        X509Certificate[] trusted = readTrustedCertificates(trustedCertsPem);
        return clientContext(SslContextBuilder.forClient().trustManager(trusted), "trusting " + trustedCertsPem);
    }

    /** A client context trusting the JDK's default trust store ({@code cacerts}); see {@link #clientContext(Path)}. */
    public static SslContext clientContextWithSystemTrust() {
        return clientContext(SslContextBuilder.forClient(), "with the JDK's default trust store");
    }

    private static SslContext clientContext(SslContextBuilder builder, String what) {
        try {
            return builder.sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .endpointIdentificationAlgorithm("HTTPS")
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("TLS: cannot build a client context " + what + ": " + e.getMessage(), e);
        }
    }

    /**
     * The client's handler, to put first in the pipeline: its engine knows the target's host and
     * port (for SNI and session resumption) and verifies that the server's certificate names that
     * host or IP address, whatever the context was built with. Its own handshake timer is off: the
     * caller's connect deadline bounds TCP connect + TLS handshake + the protocol's handshake.
     */
    public static SslHandler clientHandler(SslContext context, Channel channel, InetSocketAddress target) {
        SslHandler handler = context.newHandler(channel.alloc(), target.getHostString(), target.getPort());
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(params);
        handler.setHandshakeTimeoutMillis(0);
        return handler;
    }

    /**
     * If {@code t} is a TLS failure of a client, an exception that says in plain words what went
     * wrong with which server (the original is its cause): an {@link SSLHandshakeException} for a
     * failed handshake, else an {@link SSLException}. Null if {@code t} is no TLS failure. The kind
     * is told by {@link IoFailure#tlsProblem}, from exception types.
     */
    public static SSLException describeClientFailure(Throwable t, InetSocketAddress server) {
        IoFailure.TlsProblem problem = IoFailure.tlsProblem(t);
        if (problem == null) {
            return null;
        }
        String what = switch (problem) {
            case NOT_TLS -> "the server did not answer with TLS (is TLS enabled on the gateway's port?)";
            case UNTRUSTED_CERTIFICATE -> "the server's certificate is not trusted (not issued by a trusted certificate,"
                    + " expired or not yet valid): " + rootMessage(t);
            case REJECTED_CERTIFICATE -> "the server's certificate was rejected (its subjectAltName must name "
                    + server.getHostString() + "): " + rootMessage(t);
            case HANDSHAKE, OTHER -> String.valueOf(sslMessage(t));
        };
        String at = HostPort.format(server.getHostString(), server.getPort());
        SSLException e = problem == IoFailure.TlsProblem.OTHER
                ? new SSLException("TLS connection with " + at + " failed: " + what)
                : new SSLHandshakeException("TLS handshake with " + at + " failed: " + what);
        e.initCause(t);
        return e;
    }

    private static String sslMessage(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof SSLException) {
                return t.getMessage();
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

    // ---- PEM --------------------------------------------------------------------------------

    private static X509Certificate[] readServerCertificates(Path file) {
        byte[] bytes = readBytes(file, "certificate");
        List<String> types = pemTypes(bytes, file, "certificate");
        if (!types.contains("CERTIFICATE")) {
            String found = types.isEmpty() ? "no PEM block" : "found -----BEGIN " + types.get(0) + "-----";
            String hint = types.stream().anyMatch(t -> t.endsWith("PRIVATE KEY"))
                    ? " (is this the key file? certificate and key may be swapped)" : "";
            throw new IllegalArgumentException("TLS certificate file " + file + ": " + found + hint
                    + " (expected: one or more -----BEGIN CERTIFICATE----- blocks, the server's certificate first)");
        }
        return certificates(bytes, file, "certificate");
    }

    private static X509Certificate[] readTrustedCertificates(Path file) {
        byte[] bytes = readBytes(file, "trusted certificate");
        List<String> types = pemTypes(bytes, null, null);
        if (!types.contains("CERTIFICATE")) {
            String hint = types.stream().anyMatch(t -> t.endsWith("PRIVATE KEY"))
                    ? " (this is a private key: devices need only the certificate, never the key)" : "";
            throw new IllegalArgumentException("TLS trusted certificate file " + file + ": no -----BEGIN CERTIFICATE-----"
                    + " block" + hint + " (expected: the PEM certificate of the gateway's CA, or of a self-signed gateway)");
        }
        return certificates(bytes, file, "trusted certificate");
    }

    private static X509Certificate[] certificates(byte[] pem, Path file, String what) {
        try {
            return NettyPem.certificates(new ByteArrayInputStream(pem));
        } catch (CertificateException | RuntimeException e) {
            throw new IllegalArgumentException("TLS " + what + " file " + file + ": not a valid X.509 certificate ("
                    + e.getMessage() + ")", e);
        }
    }

    private static PrivateKey readPrivateKey(Path file) {
        byte[] bytes = readBytes(file, "key");
        List<String> types = pemTypes(bytes, file, "key");
        String keyType = types.stream().filter(t -> t.endsWith("PRIVATE KEY")).findFirst().orElse(null);
        if (keyType == null) {
            String found = types.isEmpty() ? "no PEM block" : "found -----BEGIN " + types.get(0) + "-----";
            String hint = types.contains("CERTIFICATE")
                    ? " (is this the certificate file? certificate and key may be swapped)" : "";
            throw new IllegalArgumentException("TLS key file " + file + ": " + found + hint
                    + " (expected: -----BEGIN PRIVATE KEY-----, unencrypted PKCS#8)");
        }
        switch (keyType) {
            case "PRIVATE KEY":
                break;
            case "ENCRYPTED PRIVATE KEY":
                throw new IllegalArgumentException("TLS key file " + file + ": found -----BEGIN ENCRYPTED PRIVATE KEY-----"
                        + " (expected: unencrypted PKCS#8, -----BEGIN PRIVATE KEY-----); " + convertCommand(file)
                        + " (it asks for the passphrase) and protect the file by its permissions instead");
            default:
                // "RSA PRIVATE KEY" (PKCS#1), "EC PRIVATE KEY" (SEC1): what older tools write.
                throw new IllegalArgumentException("TLS key file " + file + ": found -----BEGIN " + keyType
                        + "----- (expected: PKCS#8, -----BEGIN PRIVATE KEY-----); " + convertCommand(file));
        }
        try {
            return NettyPem.privateKey(new ByteArrayInputStream(bytes));
        } catch (Exception e) {
            throw new IllegalArgumentException("TLS key file " + file
                    + ": not a readable PKCS#8 key (expected: an unencrypted EC or RSA key; " + e.getMessage() + ")", e);
        }
    }

    /**
     * A key that does not belong to the certificate would only show up later, as a handshake
     * failure on every device; signing with the key and verifying with the certificate catches
     * it at start.
     */
    private static void checkKeyMatches(PrivateKey key, X509Certificate cert, Path certFile, Path keyFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return; // unusual key type: the handshake will tell
        }
        byte[] probe = "tether tls key check".getBytes(StandardCharsets.US_ASCII);
        boolean matches;
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new IllegalArgumentException("TLS key file " + keyFile + " does not belong to the certificate "
                    + cert.getSubjectX500Principal() + " in " + certFile
                    + " (expected: the private key the certificate was issued for)");
        }
    }

    private static String convertCommand(Path key) {
        return "convert it with: openssl pkcs8 -topk8 -nocrypt -in " + key + " -out " + key + ".pkcs8";
    }

    private static byte[] readBytes(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("TLS " + what + " file " + file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new UncheckedIOException("TLS " + what + " file " + file + ": permission denied", e);
        } catch (IOException e) {
            throw new UncheckedIOException("TLS " + what + " file " + file + ": cannot be read (" + e + ")", e);
        }
    }

    /**
     * The types of the PEM blocks in a file, in order ({@code CERTIFICATE}, {@code PRIVATE KEY},
     * ...). With a {@code file}, content that is not text is refused as binary (DER).
     */
    private static List<String> pemTypes(byte[] bytes, Path file, String what) {
        String text;
        try {
            text = StandardCharsets.US_ASCII.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            if (file != null) {
                throw new IllegalArgumentException("TLS " + what + " file " + file
                        + ": binary content (expected: PEM text; convert DER with openssl x509/pkey -inform DER)", e);
            }
            text = new String(bytes, StandardCharsets.ISO_8859_1);
        }
        Matcher m = PEM_HEADER.matcher(text);
        List<String> types = new ArrayList<>();
        while (m.find()) {
            types.add(m.group(1));
        }
        return types;
    }

    /**
     * Netty's PEM reader, reached through {@link SslContext}'s protected helpers: the one PEM
     * parser of the project. Never instantiated.
     */
    private abstract static class NettyPem extends SslContext {
        static X509Certificate[] certificates(InputStream in) throws CertificateException {
            return toX509Certificates(in);
        }

        static PrivateKey privateKey(InputStream in) throws Exception {
            return toPrivateKey(in, null);
        }
    }
}
