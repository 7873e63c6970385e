package io.tether.testkit.fault;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A process running inside a lab namespace, typically a JVM started with
 * {@link Namespace#startJava}. Its standard output is collected line by line for the test to wait
 * on; its standard error goes to the test's standard error with a {@code [label]} prefix. Both are
 * also written to {@code <label>.log} in the lab's log directory, when there is one.
 *
 * <p>Every wait is bounded: it fails with an {@link AssertionError} naming what it waited for and
 * showing the last lines of output, or at once if the process exits first.
 *
 * <p>Thread-safe.
 */
public final class NamespaceProcess implements AutoCloseable {
    private static final int TAIL = 15;

    private final String label;
    private final Process process;
    private final BufferedWriter stdin;
    private final Writer log;
    private final List<String> out = new ArrayList<>();
    private final List<String> err = new ArrayList<>();
    private final Thread outReader;
    private final Thread errReader;
    private boolean outEnded;

    NamespaceProcess(String label, List<String> command, Path logDir) {
        this.label = label;
        try {
            this.process = new ProcessBuilder(command).start();
            this.log = logDir == null ? null
                    : Files.newBufferedWriter(logDir.resolve(label + ".log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + label + ": " + String.join(" ", command), e);
        }
        logLine("cmd", String.join(" ", command));
        this.stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        this.outReader = reader(process.getInputStream(), true);
        this.errReader = reader(process.getErrorStream(), false);
    }

    private Thread reader(InputStream s, boolean isOut) {
        Thread t = new Thread(() -> {
            PrintStream console = System.err;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(s, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    logLine(isOut ? "out" : "err", line);
                    synchronized (this) {
                        (isOut ? out : err).add(line);
                        notifyAll();
                    }
                    if (!isOut) {
                        console.println("[" + label + "] " + line);
                    }
                }
            } catch (IOException e) {
                // The process was killed; what was read is kept.
            } finally {
                synchronized (this) {
                    if (isOut) {
                        outEnded = true;
                    }
                    notifyAll();
                }
            }
        }, label + (isOut ? "-out" : "-err"));
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void logLine(String stream, String line) {
        if (log == null) {
            return;
        }
        synchronized (log) {
            try {
                log.write(String.format("%.3f %s %s%n", System.nanoTime() / 1e6, stream, line));
                log.flush();
            } catch (IOException e) {
                // A log file is a convenience; the test goes on without it.
            }
        }
    }

    public String label() {
        return label;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Writes one line to the process's standard input. */
    public void send(String line) {
        logLine("in", line);
        try {
            synchronized (stdin) {
                stdin.write(line);
                stdin.write('\n');
                stdin.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(label + " does not take input any more (exited: "
                    + !process.isAlive() + ")" + tail(), e);
        }
    }

    /** Every line of standard output so far. */
    public synchronized List<String> lines() {
        return List.copyOf(out);
    }

    /** Every line of standard error so far. */
    public synchronized List<String> errorLines() {
        return List.copyOf(err);
    }

    /** The lines so far that match. */
    public synchronized List<String> lines(Predicate<String> match) {
        return out.stream().filter(match).toList();
    }

    /**
     * The first line of standard output (since the start) that matches, waiting for it up to
     * {@code timeout}.
     *
     * @throws AssertionError if none comes in time or the process ends first
     */
    public String awaitLine(Predicate<String> match, Duration timeout, String what) {
        return awaitLines(match, 1, timeout, what).get(0);
    }

    /**
     * The first {@code count} lines of standard output (since the start) that match, waiting for
     * them up to {@code timeout}.
     *
     * @throws AssertionError if fewer come in time or the process ends first
     */
    public List<String> awaitLines(Predicate<String> match, int count, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (true) {
                List<String> found = new ArrayList<>(count);
                for (String l : out) {
                    if (match.test(l)) {
                        found.add(l);
                        if (found.size() == count) {
                            return found;
                        }
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || outEnded) {
                    throw new AssertionError(label + ": " + (outEnded ? "exited" : "waited " + timeout.toMillis() + " ms")
                            + " with " + found.size() + " of " + count + " line(s) for " + what + tail());
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(label + ": interrupted while waiting for " + what, e);
                }
            }
        }
    }

    private synchronized String tail() {
        StringBuilder s = new StringBuilder();
        s.append("\n  last stdout lines of ").append(label).append(':');
        for (String l : out.subList(Math.max(0, out.size() - TAIL), out.size())) {
            s.append("\n    ").append(l);
        }
        s.append("\n  last stderr lines:");
        for (String l : err.subList(Math.max(0, err.size() - TAIL), err.size())) {
            s.append("\n    ").append(l);
        }
        return s.toString();
    }

    /**
     * Ends the process: closes its standard input (the lab's programs exit on EOF), waits up to
     * {@code grace}, then kills it. Idempotent.
     */
    public void stop(Duration grace) {
        try {
            synchronized (stdin) {
                stdin.close();
            }
        } catch (IOException e) {
            // Already gone.
        }
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroy();
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
            outReader.join(2000);
            errReader.join(2000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        if (log != null) {
            synchronized (log) {
                try {
                    log.close();
                } catch (IOException e) {
                    // Nothing to do.
                }
            }
        }
    }

    /** {@link #stop(Duration)} with a 3 s grace. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(3));
    }

    /** Kills the process at once (SIGKILL), without a chance to clean up. */
    public void kill() {
        process.destroyForcibly();
    }

    @Override
    public String toString() {
        return label + "[pid " + process.pid() + "]";
    }
}
