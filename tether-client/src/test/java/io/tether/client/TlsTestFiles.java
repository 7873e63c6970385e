package io.tether.client;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Self-signed certificates made by the {@code openssl} command line, the way docs/OPERATIONS.md
 * tells operators to make them. Fails with a clear message when openssl is not installed.
 */
final class TlsTestFiles {
    record Pair(Path cert, Path key) {
        /** A server context for a fake gateway presenting this certificate. */
        SslContext serverContext() {
            try {
                return SslContextBuilder.forServer(cert.toFile(), key.toFile()).sslProvider(SslProvider.JDK).build();
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    private TlsTestFiles() {
    }

    /** EC P-256, valid a year; {@code san} e.g. {@code DNS:localhost,IP:127.0.0.1}. */
    static Pair selfSigned(Path dir, String name, String commonName, String san) {
        Path cert = dir.resolve(name + "-cert.pem");
        Path key = dir.resolve(name + "-key.pem");
        List<String> command = List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "365", "-subj", "/CN=" + commonName, "-addext", "subjectAltName=" + san);
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run openssl (" + e.getMessage() + "): these tests need the openssl "
                    + "command line, e.g. apt-get install -y openssl", e);
        }
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("openssl req did not finish within 30 s");
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError("openssl req failed (" + p.exitValue() + "):\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return new Pair(cert, key);
    }
}
