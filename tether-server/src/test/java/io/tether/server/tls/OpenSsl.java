package io.tether.server.tls;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the {@code openssl} command line: key and certificate generation for the tests, and
 * {@code s_client} as an independent TLS client. Fails with a clear message when openssl is not
 * installed (CI installs it).
 */
final class OpenSsl {
    record Result(int exitCode, String output) {
    }

    record Pair(Path cert, Path key) {
    }

    private OpenSsl() {
    }

    /**
     * A self-signed EC P-256 certificate and its PKCS#8 key, exactly as docs/OPERATIONS.md tells
     * operators to make one.
     *
     * @param san e.g. {@code DNS:localhost,IP:127.0.0.1}
     */
    static Pair selfSigned(Path dir, String name, String commonName, String san) {
        Path cert = dir.resolve(name + "-cert.pem");
        Path key = dir.resolve(name + "-key.pem");
        Result r = run(Path.of("."), 30, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "365",
                "-subj", "/CN=" + commonName, "-addext", "subjectAltName=" + san);
        if (r.exitCode != 0) {
            throw new AssertionError("openssl req failed (" + r.exitCode + "):\n" + r.output);
        }
        return new Pair(cert, key);
    }

    /** Runs {@code openssl args...} with stdin at EOF, bounded by {@code timeoutSeconds}; output and error merged. */
    static Result run(Path workDir, long timeoutSeconds, String... args) {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new AssertionError("cannot run openssl (" + e.getMessage() + "): these tests need the openssl "
                    + "command line, e.g. apt-get install -y openssl", e);
        }
        try {
            // The outputs here are a few KB, under the pipe's buffer: reading after exit cannot deadlock.
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("openssl " + String.join(" ", args) + " did not finish within "
                        + timeoutSeconds + " s; output so far:\n"
                        + new String(p.getInputStream().readNBytes(p.getInputStream().available()), StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new AssertionError(e);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
