package io.tether.testkit.fault;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs short commands (ip, iptables, tc, ss) with a time bound, capturing their output. */
final class Shell {
    /** No single ip / iptables / tc call takes this long unless the machine is wedged. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);

    private Shell() {
    }

    static ExecResult run(List<String> command) {
        return run(command, null, DEFAULT_TIMEOUT);
    }

    /**
     * @param stdin written to the command's standard input, then closed; null for none
     * @return the result; a command that does not end within {@code timeout} is killed and
     *     reported with exit code -1
     */
    static ExecResult run(List<String> command, String stdin, Duration timeout) {
        Process p;
        try {
            p = new ProcessBuilder(command).start();
        } catch (IOException e) {
            return new ExecResult(command, 127, "", "cannot run " + command.get(0) + ": " + e.getMessage());
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // The command exited before reading its input; its exit code tells the rest.
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                return new ExecResult(command, -1, out.getNow(""), "timed out after " + timeout.toMillis() + " ms");
            }
            return new ExecResult(command, p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new ExecResult(command, -1, "", "interrupted");
        } catch (Exception e) {
            return new ExecResult(command, p.exitValue(), "", "cannot read output: " + e);
        }
    }

    private static CompletableFuture<String> drain(InputStream s) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            try (s) {
                s.transferTo(buf);
            } catch (IOException e) {
                // Stream closed by a kill; keep what was read.
            }
            f.complete(buf.toString(StandardCharsets.UTF_8));
        }, "shell-drain");
        t.setDaemon(true);
        t.start();
        return f;
    }

    static String orThrow(ExecResult r) {
        if (!r.ok()) {
            throw new UncheckedIOException(new IOException(r.describe()));
        }
        return r.stdout();
    }
}
