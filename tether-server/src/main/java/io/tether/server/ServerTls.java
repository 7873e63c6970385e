package io.tether.server;

import io.netty.handler.ssl.SslContext;
import io.tether.transport.tls.Tls;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * TLS on the device port, for {@link TetherServer.Builder#tls(ServerTls)}: the gateway's
 * certificate chain and private key. The JDK's TLS implementation (no native library to ship),
 * TLS 1.3 and 1.2 only. docs/OPERATIONS.md ("TLS") says how to make and install the files.
 *
 * <p>Immutable and thread-safe.
 */
public final class ServerTls {
    private final SslContext context;
    private final String description;

    private ServerTls(SslContext context, String description) {
        this.context = context;
        this.description = description;
    }

    /**
     * Reads a PEM certificate chain (the server's certificate first, then intermediates) and its
     * unencrypted PKCS#8 private key.
     *
     * @throws UncheckedIOException     if a file is missing or unreadable (the message names it)
     * @throws IllegalArgumentException if a file holds no certificate or key of the expected kind,
     *                                  the two are swapped, or the key does not match the
     *                                  certificate (the message says how to fix it)
     */
    public static ServerTls fromPem(Path certificateChainPem, Path privateKeyPem) {
        Objects.requireNonNull(certificateChainPem, "certificateChainPem");
        Objects.requireNonNull(privateKeyPem, "privateKeyPem");
        return new ServerTls(Tls.serverContext(certificateChainPem, privateKeyPem),
                "certificate " + certificateChainPem + ", key " + privateKeyPem);
    }

    /** The files it was read from, for logs. */
    String description() {
        return description;
    }

        SslContext context() {
        return context;
    }

    @Override
    public String toString() {
        return "ServerTls[" + description + "]";
    }
}
