package io.tether.client;

import io.netty.handler.ssl.SslContext;
import io.tether.transport.tls.Tls;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * TLS for {@link TetherClient.Builder#tls(ClientTls)}: what the client trusts. The JDK's TLS
 * implementation (no native library to ship), TLS 1.3 and 1.2 only. The client verifies the
 * server's certificate chain and that the certificate names the host or IP address given to
 * {@link TetherClient.Builder#target} (HTTPS-style endpoint identification).
 *
 * <p>Immutable and thread-safe: build one and share it between all the clients of a process
 * (building one reads the file each time).
 */
public final class ClientTls {
    /** The protocol versions offered, newest first. */
    public static final List<String> PROTOCOLS = Tls.PROTOCOLS;

    private final SslContext context;
    private final String description;

    ClientTls(SslContext context, String description) {
        this.context = Objects.requireNonNull(context, "context");
        this.description = description;
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
    public static ClientTls trusting(Path trustedCertsPem) {
        Objects.requireNonNull(trustedCertsPem, "trustedCertsPem");
        return new ClientTls(Tls.clientContext(trustedCertsPem), "trusting " + trustedCertsPem);
    }

    /**
     * Trusts the JDK's default trust store ({@code cacerts}): for a gateway whose certificate comes
     * from a public CA.
     */
    public static ClientTls systemTrust() {
        return new ClientTls(Tls.clientContextWithSystemTrust(), "trusting the JDK's default trust store");
    }

    SslContext context() {
        return context;
    }

    @Override
    public String toString() {
        return "ClientTls[" + description + "]";
    }
}
