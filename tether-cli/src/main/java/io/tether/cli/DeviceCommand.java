package io.tether.cli;

import io.tether.server.DeviceHistory;
import io.tether.server.SessionRecord;
import io.tether.server.StoreReader;
import io.tether.transport.HostPort;
import io.tether.transport.KeepAlive;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code tether device}: what the gateway knows about one device.
 *
 * <pre>
 * tether device history truck-42                       # from the admin endpoint, 127.0.0.1:7401
 * tether device history truck-42 --admin 10.0.0.5:7401 --admin-key-env TETHER_ADMIN_KEY --json
 * tether device history truck-42 --data-dir /var/lib/tether   # from the store, read-only
 * </pre>
 *
 * <p>An instance serves one invocation; it is not thread-safe.
 */
@Command(name = "device", mixinStandardHelpOptions = true,
        description = "What the gateway knows about one device.",
        subcommands = {DeviceCommand.History.class})
public final class DeviceCommand implements Callable<Integer> {
    static final int EXIT_FOUND = 0;
    static final int EXIT_NO_HISTORY = 1;
    static final int EXIT_ERROR = 2;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("tether device: missing subcommand (history)");
        spec.commandLine().usage(err);
        err.flush();
        return EXIT_ERROR;
    }

    /** {@code tether device history ID}: the device's last sessions, newest first. */
    @Command(name = "history", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                "Prints the device's last sessions, newest first: when each opened and closed, from where, its heartbeat,"
                        + " and why it ended (reason, errno, how late a timeout was detected).",
                "Reads a running server's admin endpoint (tether serve --admin), or with --data-dir the store itself,"
                        + " read-only (works while the server runs).",
                "Exit status: 0 sessions shown; 1 the device has no history; 2 usage error, or the server or store"
                        + " cannot be read."
            })
    static final class History implements Callable<Integer> {
        /** For tests: where --admin-key-env is looked up. */
        static Function<String, String> environment = System::getenv;

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ID", description = "The device's id.")
        String device;

        @Option(names = "--admin", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7401",
                description = "The server's admin endpoint (tether serve --admin) (default: ${DEFAULT-VALUE}).")
        String admin;

        @Option(names = "--admin-key-env", paramLabel = "VAR",
                description = "Environment variable holding a key of the server's --admin-keys file, sent as a Bearer token.")
        String keyEnv;

        @Option(names = "--admin-key-file", paramLabel = "FILE",
                description = "File holding that key (surrounding whitespace ignored); instead of --admin-key-env.")
        Path keyFile;

        @Option(names = "--data-dir", paramLabel = "DIR",
                description = "Read the store directory (serve's --data-dir) instead of asking the server.")
        Path dataDir;

        @Option(names = "--json", description = "Print the JSON of GET /devices/ID/history (one line) instead of a table.")
        boolean json;

        @Option(names = "--timeout", paramLabel = "D", converter = DurationConverter.class, defaultValue = "5s",
                description = "Bound on connecting and on the answer (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                DeviceHistory h = dataDir != null ? fromStore(err) : fromServer(err);
                if (h == null) {
                    return EXIT_ERROR;
                }
                if (json) {
                    out.println(h.toJson());
                } else {
                    print(h, out);
                }
                return h.sessions().isEmpty() ? EXIT_NO_HISTORY : EXIT_FOUND;
            } finally {
                out.flush();
                err.flush();
            }
        }

        private DeviceHistory fromStore(PrintWriter err) {
            if (keyEnv != null || keyFile != null) {
                err.println("tether device history: --data-dir reads the store; --admin-key-env and --admin-key-file are for --admin");
                return null;
            }
            try (StoreReader reader = StoreReader.openReadOnly(dataDir)) {
                return new DeviceHistory(device, -1, reader.history(device));
            } catch (NoSuchFileException e) {
                err.println("tether device history: --data-dir " + dataDir + ": no such directory");
            } catch (IOException | UncheckedIOException e) {
                err.println("tether device history: " + e.getMessage());
            } catch (IllegalArgumentException e) {
                err.println("tether device history: " + e.getMessage());
            }
            return null;
        }

        private DeviceHistory fromServer(PrintWriter err) {
            URI base;
            String key;
            try {
                String v = admin.strip();
                v = v.startsWith("http://") ? v.substring("http://".length()) : v;
                v = v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
                InetSocketAddress a = HostPort.resolve("--admin", v);
                base = URI.create("http://" + HostPort.format(a.getAddress().getHostAddress(), a.getPort()));
                key = key();
            } catch (IllegalArgumentException e) {
                err.println("tether device history: " + e.getMessage());
                return null;
            }
            URI uri = base.resolve("/devices/" + URLEncoder.encode(device, StandardCharsets.UTF_8) + "/history");
            HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(timeout).GET();
            if (key != null) {
                req.header("Authorization", "Bearer " + key);
            }
            HttpResponse<String> res;
            try {
                res = HttpClient.newBuilder().connectTimeout(timeout).build().send(req.build(), HttpResponse.BodyHandlers.ofString());
            } catch (ConnectException e) {
                err.println("tether device history: cannot reach the admin endpoint at " + base + " (connection refused or "
                        + "unreachable). Is `tether serve --admin " + admin + "` running? Or read the store with --data-dir DIR.");
                return null;
            } catch (HttpConnectTimeoutException e) {
                err.println("tether device history: cannot reach the admin endpoint at " + base + ": no answer to connect within "
                        + timeout.toMillis() + " ms");
                return null;
            } catch (HttpTimeoutException e) {
                err.println("tether device history: " + uri + " did not answer within " + timeout.toMillis() + " ms");
                return null;
            } catch (IOException e) {
                err.println("tether device history: " + uri + ": " + e);
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                err.println("tether device history: interrupted");
                return null;
            }
            if (res.statusCode() == 401) {
                err.println("tether device history: the admin endpoint at " + base + " wants a key"
                        + (key == null ? ": give --admin-key-env VAR or --admin-key-file FILE" : ", and refused this one")
                        + " (a key of its --admin-keys file)");
                return null;
            }
            if (res.statusCode() == 404) {
                err.println("tether device history: " + base + " has no device history (a server older than this tether?)");
                return null;
            }
            if (res.statusCode() != 200) {
                err.println("tether device history: " + uri + " answered HTTP " + res.statusCode() + ": " + res.body());
                return null;
            }
            try {
                return DeviceHistory.parse(res.body());
            } catch (IOException e) {
                err.println("tether device history: " + uri + " is not a Tether admin endpoint: " + e.getMessage());
                return null;
            }
        }

        /** @throws IllegalArgumentException naming the flag, if the key cannot be had */
        private String key() {
            if (keyEnv != null && keyFile != null) {
                throw new IllegalArgumentException("--admin-key-env and --admin-key-file: choose one");
            }
            if (keyEnv != null) {
                String k = environment.apply(keyEnv);
                if (k == null || k.isBlank()) {
                    throw new IllegalArgumentException("--admin-key-env " + keyEnv + ": the variable is not set");
                }
                return k.strip();
            }
            if (keyFile != null) {
                try {
                    return Files.readString(keyFile).strip();
                } catch (IOException e) {
                    throw new IllegalArgumentException("--admin-key-file " + keyFile + ": cannot read it (" + e.getMessage() + ")");
                }
            }
            return null;
        }

        private static void print(DeviceHistory h, PrintWriter out) {
            if (h.sessions().isEmpty()) {
                out.println("device " + h.deviceId() + ": no sessions in its history"
                        + (h.keep() == 0 ? " (the server keeps none: --history-sessions 0)" : ""));
                return;
            }
            out.println("device " + h.deviceId() + ": " + h.sessions().size() + " session" + (h.sessions().size() == 1 ? "" : "s")
                    + ", newest first" + (h.keep() > 0 ? " (the server keeps " + h.keep() + ")" : ""));
            out.printf("%-24s  %-24s  %-9s  %-21s  %-9s  %-18s  %-12s  %-9s  %-23s  %s%n", "OPENED", "CLOSED", "DURATION",
                    "REMOTE", "HEARTBEAT", "REASON", "ERRNO", "LATE", "IN/OUT MSGS (BYTES)", "DETAIL");
            for (SessionRecord r : h.sessions()) {
                String closed = r.live() ? "open now" : r.closed() ? Instant.ofEpochMilli(r.closedAtMillis()).toString() : "not recorded";
                String reason = r.reason() != null ? r.reason().name() : r.live() ? "-" : "? (server stopped)";
                String duration = r.durationMillis() >= 0 ? KeepAlive.format(Duration.ofMillis(r.durationMillis())) : "-";
                String heartbeat = r.heartbeatMillis() > 0 ? KeepAlive.format(Duration.ofMillis(r.heartbeatMillis())) : "off";
                String late = r.lateMillis() >= 0 ? String.format(java.util.Locale.ROOT, "%.1fms", r.lateMillis()) : "-";
                String detail = r.tookOver() && r.detail() != null ? "took over a live session; " + r.detail()
                        : r.tookOver() ? "took over a live session" : r.detail() == null ? "" : r.detail();
                String traffic = r.messagesIn() < 0 ? "-" : r.messagesIn() + "/" + r.messagesOut()
                        + " (" + r.bytesIn() + "/" + r.bytesOut() + ")";
                out.printf("%-24s  %-24s  %-9s  %-21s  %-9s  %-18s  %-12s  %-9s  %-23s  %s%n",
                        Instant.ofEpochMilli(r.openedAtMillis()), closed, duration, r.remote(), heartbeat, reason,
                        r.errnoName() == null ? "-" : r.errnoName(), late, traffic, detail.isEmpty() ? "-" : detail);
            }
        }
    }
}
