package io.tether.client;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

/**
 * Client TLS contexts for {@link TetherClient.Builder#tls(SslContext)}: the JDK's TLS
 * implementation (no native library to ship), TLS 1.3 and 1.2 only. Whatever context is used, the
 * client verifies the server's certificate chain and that the certificate names the host or IP
 * address given to {@link TetherClient.Builder#target} (HTTPS-style endpoint identification).
 *
 * <p>A context is immutable and thread-safe: build one and share it between all the clients of a
 * process (building one parses the files each time).
 */
public final class ClientTls {
    /** The protocol versions offered, newest first. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    private ClientTls() {
    }

    /**
     * Trusts exactly the certificates in a PEM file: the CA that issued the gateway's certificate,
     * or, for a self-signed gateway certificate, that certificate itself. The JDK's default trust
     * store is not consulted.
     *
     * @param trustedCertsPem one or more {@code -----BEGIN CERTIFICATE-----} blocks
     * @throws UncheckedIOException     if the file is missing or unreadable (the message names it)
     * @throws IllegalArgumentException if it holds no PEM certificate (a key file, DER, garbage)
     */
    public static SslContext trusting(Path trustedCertsPem) {
        X509Certificate[] trusted = readCertificates(trustedCertsPem);
        return build(SslContextBuilder.forClient().trustManager(trusted), "trusting " + trustedCertsPem);
    }

    /**
     * Trusts the JDK's default trust store ({@code cacerts}): for a gateway whose certificate comes
     * from a public CA.
     */
    public static SslContext systemTrust() {
        return build(SslContextBuilder.forClient(), "with the JDK's default trust store");
    }

    private static SslContext build(SslContextBuilder builder, String what) {
        try {
            return builder.sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .endpointIdentificationAlgorithm("HTTPS")
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("TLS: cannot build a client context " + what + ": " + e.getMessage(), e);
        }
    }

    private static X509Certificate[] readCertificates(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("TLS trusted certificate file " + file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new UncheckedIOException("TLS trusted certificate file " + file + ": permission denied", e);
        } catch (IOException e) {
            throw new UncheckedIOException("TLS trusted certificate file " + file + ": cannot be read (" + e + ")", e);
        }
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        if (!text.contains("-----BEGIN CERTIFICATE-----")) {
            String hint = text.contains("PRIVATE KEY-----")
                    ? " (this is a private key: devices need only the certificate, never the key)" : "";
            throw new IllegalArgumentException("TLS trusted certificate file " + file + ": no -----BEGIN CERTIFICATE-----"
                    + " block" + hint + " (expected: the PEM certificate of the gateway's CA, or of a self-signed gateway)");
        }
        try {
            Collection<? extends Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
            return certs.stream().map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
        } catch (CertificateException e) {
            throw new IllegalArgumentException("TLS trusted certificate file " + file + ": not a valid PEM certificate ("
                    + e.getMessage() + ")", e);
        }
    }
}
