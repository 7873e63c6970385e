package io.tether.client;

import io.netty.handler.ssl.SslContext;
import io.tether.transport.tls.Tls;

import java.io.UncheckedIOException;
import java.nio.file.Path;
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
    public static final List<String> PROTOCOLS = Tls.PROTOCOLS;

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
        return Tls.clientContext(trustedCertsPem);
    }

    /**
     * Trusts the JDK's default trust store ({@code cacerts}): for a gateway whose certificate comes
     * from a public CA.
     */
    public static SslContext systemTrust() {
        return Tls.clientContextWithSystemTrust();
    }
}
