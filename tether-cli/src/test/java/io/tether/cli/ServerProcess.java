package io.tether.cli;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code tether serve} as a child process, for tests that need what only a process gives: a
 * {@code kill -9}, a SIGTERM, an exit status, a restart on the same port and data directory.
 *
 * <p>The child runs {@code java -cp <this JVM's class path> io.tether.cli.TetherCommand serve} on
 * 127.0.0.1 and a port chosen once, so every restart listens where devices (or a proxy) already
 * point (the port is found by binding port 0 and letting go of it, since {@code --port 0} would
 * move on every restart; should another process grab it meanwhile, the start fails with the
 * server's message). Its stdout and stderr are appended to {@code serve.log} in the work
 * directory, across restarts; being on the test class path, it logs per {@code logback-test.xml}
 * (warnings and errors). Not thread-safe: one test thread drives it. {@link #close()} kills the
 * child if it is still running; call it from cleanup so a failed test never leaves a server behind.
 */
final class ServerProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Exit status of a JVM killed by SIGKILL: 128 + 9. */
    static final int KILLED = 137;

    private final int port;
    private final Path dataDir;
    private final Path eventsFile;
    private final Path logFile;
    private final List<String> extraArgs;
    private Process process;
    private int starts;
    /** Kills the child if the test JVM exits without {@link #close()} (e.g. a surefire timeout). */
    private final Thread killOnExit = new Thread(this::killNow, "kill-tether-serve");

    private ServerProcess(Path workDir, List<String> extraArgs) throws IOException {
        this.port = freePort();
        this.dataDir = workDir.resolve("data");
        this.eventsFile = workDir.resolve("events.jsonl");
        this.logFile = workDir.resolve("serve.log");
        this.extraArgs = List.copyOf(extraArgs);
    }

    /**
     * Starts a server whose store, event file and log live in {@code workDir}, and waits until it
     * accepts connections.
     *
     * @param extraArgs further {@code serve} flags, e.g. {@code --heartbeat 500ms}
     */
    static ServerProcess start(Path workDir, String... extraArgs) throws IOException {
        ServerProcess p = new ServerProcess(workDir, List.of(extraArgs));
        Runtime.getRuntime().addShutdownHook(p.killOnExit);
        try {
            p.launch();
        } catch (IOException | RuntimeException | Error e) {
            p.close();
            throw e;
        }
        return p;
    }

    int port() {
        return port;
    }

    Path dataDir() {
        return dataDir;
    }

    Path eventsFile() {
        return eventsFile;
    }

    /** How many times the child was launched (1 after {@link #start}). */
    int starts() {
        return starts;
    }

    /** Resident set size of the server process, in bytes (from /proc/PID/status). */
    long rssBytes() throws IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for " + process.pid());
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /**
     * Launches the child again on the same port and data directory, and waits until it accepts.
     *
     * @throws IllegalStateException if the previous child is still running
     */
    void restart() throws IOException {
        if (isAlive()) {
            throw new IllegalStateException("server still running (pid " + process.pid() + ")");
        }
        launch();
    }

    /** {@code kill -9}, then waits for the child to be gone; returns its exit status (137). */
    int kill9() throws InterruptedException {
        process.destroyForcibly();
        return awaitExit(Duration.ofSeconds(10));
    }

    /** Sends SIGTERM (what {@link Process#destroy()} does on Linux) and returns at once. */
    void sigterm() {
        process.destroy();
    }

    /**
     * Waits for the child to exit.
     *
     * @return its exit status
     * @throws AssertionError if it is still running after {@code timeout} (with the log's tail)
     */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("tether serve (pid " + process.pid() + ") still running after " + timeout
                    + "\n" + logTail(40));
        }
        return process.exitValue();
    }

    /** Close events in the events file, all runs, counted by reason (sorted by name). */
    Map<String, Integer> closesByReason() throws IOException {
        Map<String, Integer> byReason = new TreeMap<>();
        for (JsonNode e : events()) {
            if ("close".equals(e.path("event").asText())) {
                byReason.merge(e.path("reason").asText(), 1, Integer::sum);
            }
        }
        return byReason;
    }

    /**
     * Every event of every run. A line cut short by a {@code kill -9} (the event writer died
     * mid-write) is skipped: the events file is a diagnostic, not a record of delivery.
     */
    List<JsonNode> events() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(eventsFile)) {
            return out;
        }
        for (String line : Files.readAllLines(eventsFile, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(JSON.readTree(line));
            } catch (IOException torn) {
                // skipped, see above
            }
        }
        return out;
    }

    /** The last {@code n} lines of the child's stdout and stderr, all runs. */
    String logTail(int n) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return "--- serve.log (last " + n + " lines) ---\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            return "(no serve.log: " + e + ")";
        }
    }

    /** Kills the child if it still runs, and waits for it. Idempotent. */
    @Override
    public void close() {
        killNow();
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException | IllegalArgumentException alreadyExitingOrRemoved) {
            // the hook runs, or ran, anyway
        }
    }

    private void killNow() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void launch() throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // As ./tether runs it.
                "-Xms64m", "-Xss256k", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                "-cp", System.getProperty("java.class.path"),
                TetherCommand.class.getName(), "serve",
                "--bind", "127.0.0.1",
                "--port", String.valueOf(port),
                "--data-dir", dataDir.toString(),
                "--events", eventsFile.toString()));
        cmd.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        String args = String.join(" ", cmd.subList(cmd.indexOf(TetherCommand.class.getName()), cmd.size()));
        Files.writeString(logFile, "=== launch " + (starts + 1) + ": " + args + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        process = pb.start();
        starts++;
        Process p = process;
        // A JVM start plus RocksDB open takes a second or two; a loaded CI machine, much longer.
        await("tether serve accepting on port " + port)
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    if (!p.isAlive()) {
                        throw new AssertionError("tether serve exited with status " + p.exitValue()
                                + " before accepting\n" + logTail(40));
                    }
                    return accepts();
                });
    }

    /**
     * Whether something listens on the port. Only the child can: the previous one is gone before a
     * relaunch. The probe connection closes without a HELLO, which the server logs as a close
     * without a device id.
     */
    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
