package io.tether.cli;

import io.tether.server.ConnectionInfo;
import io.tether.server.SessionsSnapshot;
import io.tether.server.SocketAudit;
import io.tether.transport.HostPort;
import io.tether.transport.kernel.KernelSocket;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code tether sockets}: what the kernel holds on the gateway's port, read from
 * {@code /proc/net/tcp} and {@code tcp6} of this process's network namespace (so
 * {@code ip netns exec NS tether sockets ...} shows that namespace), and, with {@code --admin},
 * audited against a running server's connections: ghosts (kernel ESTABLISHED sockets no
 * connection owns) and orphans (sessions with no ESTABLISHED socket).
 *
 * <pre>
 * tether sockets --port 7400
 * tether sockets --admin 127.0.0.1:7401 --json
 * </pre>
 *
 * <p>Exit codes: 0 when the port is clean (no ghost, no orphan, no CLOSE_WAIT), 1 when it is not,
 * 2 for wrong usage or when the table or the server cannot be read. An instance serves one
 * invocation; it is not thread-safe.
 */
@Command(name = "sockets", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Counts the server side of TCP connections on a port by state, from /proc/net/tcp{,6} of this network"
                    + " namespace (use `ip netns exec NS tether sockets ...` for another one).",
            "With --admin, compares them with a running server's connections: ghosts are kernel ESTABLISHED"
                    + " sockets no connection owns, orphans are sessions with no ESTABLISHED socket.",
            "Exit status: 0 clean; 1 ghosts, orphans or CLOSE_WAIT present; 2 usage or I/O error."
        })
public final class SocketsCommand implements Callable<Integer> {

    static final int EXIT_CLEAN = 0;
    static final int EXIT_FINDINGS = 1;
    static final int EXIT_ERROR = 2;

    /** States shown in the table even when 0; others appear only when some socket is in them. */
    private static final List<TcpState> ALWAYS_SHOWN = List.of(TcpState.SYN_RECV, TcpState.ESTABLISHED,
            TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.FIN_WAIT1, TcpState.FIN_WAIT2, TcpState.CLOSING,
            TcpState.TIME_WAIT);

    @Spec
    CommandSpec spec;

    @Option(names = "--port", paramLabel = "P",
            description = "The gateway's device port. Optional with --admin (the server says which).")
    Integer port;

    @Option(names = "--admin", paramLabel = "HOST:PORT",
            description = "A running server's admin endpoint (tether serve --admin ...), e.g. 127.0.0.1:7401.")
    String admin;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Option(names = "--timeout", paramLabel = "D", converter = DurationConverter.class, defaultValue = "5s",
            description = "Bound on each request to --admin (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    /** For tests: a directory laid out like /proc/net. */
    @Option(names = "--proc-net", paramLabel = "DIR", hidden = true)
    Path procNet = SocketTable.PROC_NET;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            SocketAudit.Report report = admin == null ? kernelOnly(err) : audited(err);
            if (report == null) {
                return EXIT_ERROR;
            }
            if (json) {
                out.println(report.toJson());
            } else {
                print(report, out);
            }
            return report.healthy() ? EXIT_CLEAN : EXIT_FINDINGS;
        } catch (IOException e) {
            err.println("tether sockets: cannot read the kernel's socket table: " + e.getMessage());
            return EXIT_ERROR;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private SocketAudit.Report kernelOnly(PrintWriter err) throws IOException {
        if (port == null) {
            err.println("tether sockets: give --port P, or --admin HOST:PORT of a running server");
            return null;
        }
        if (port < 1 || port > 65535) {
            err.println("tether sockets: --port " + port + " (expected: 1 to 65535)");
            return null;
        }
        return SocketAudit.kernelOnly(port, SocketTable.read(procNet));
    }

    private SocketAudit.Report audited(PrintWriter err) throws IOException {
        URI base;
        try {
            String v = admin.strip();
            v = v.startsWith("http://") ? v.substring("http://".length()) : v;
            v = v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
            InetSocketAddress a = HostPort.resolve("--admin", v);
            base = URI.create("http://" + HostPort.format(a.getAddress().getHostAddress(), a.getPort()));
        } catch (IllegalArgumentException e) {
            err.println("tether sockets: " + e.getMessage());
            return null;
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build();
        // The server's list is read before and after the kernel's, so a device connecting or
        // leaving during the read is neither a ghost nor an orphan (SocketAudit#audit).
        SessionsSnapshot before = fetch(http, base, err);
        if (before == null) {
            return null;
        }
        int p = port == null ? before.port() : port;
        if (p != before.port()) {
            err.println("tether sockets: --port " + p + " but the server at " + base + " listens on " + before.port());
            return null;
        }
        SocketTable table = SocketTable.read(procNet);
        SessionsSnapshot after = fetch(http, base, err);
        if (after == null) {
            return null;
        }
        return SocketAudit.audit(p, before.connections(), table, after.connections(), after.sessions());
    }

    /** GET /sessions; prints why and returns null if the server cannot be asked. */
    private SessionsSnapshot fetch(HttpClient http, URI base, PrintWriter err) {
        URI uri = base.resolve("/sessions");
        HttpResponse<String> res;
        try {
            res = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            err.println("tether sockets: cannot reach the admin endpoint at " + base + " (connection refused or unreachable)."
                    + " Is `tether serve --admin " + admin + "` running, in this network namespace?");
            return null;
        } catch (HttpConnectTimeoutException e) {
            err.println("tether sockets: cannot reach the admin endpoint at " + base + ": no answer to connect within " + timeout.toMillis() + " ms");
            return null;
        } catch (HttpTimeoutException e) {
            err.println("tether sockets: " + uri + " did not answer within " + timeout.toMillis() + " ms");
            return null;
        } catch (IOException e) {
            err.println("tether sockets: " + uri + ": " + e);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("tether sockets: interrupted");
            return null;
        }
        if (res.statusCode() != 200) {
            err.println("tether sockets: " + uri + " answered HTTP " + res.statusCode() + ": " + res.body());
            return null;
        }
        try {
            return SessionsSnapshot.parse(res.body());
        } catch (IOException e) {
            err.println("tether sockets: " + uri + " is not a Tether admin endpoint: " + e.getMessage());
            return null;
        }
    }

    private static void print(SocketAudit.Report r, PrintWriter out) {
        out.println("port " + r.port() + ", server side, this network namespace:");
        out.printf("  %-12s %6s%n", "STATE", "COUNT");
        for (TcpState s : TcpState.values()) {
            int n = r.count(s);
            if (s != TcpState.LISTEN && (n > 0 || ALWAYS_SHOWN.contains(s))) {
                out.printf("  %-12s %6d%n", s.name(), n);
            }
        }
        if (!r.acceptQueue().isEmpty()) {
            out.println("accept queue: " + r.acceptQueue().size() + " (ESTABLISHED, not yet accepted by the server)");
        }
        if (r.compared()) {
            out.println("sessions: " + r.sessions() + ", handshaking: " + r.handshaking().size());
            for (KernelSocket g : r.ghosts()) {
                out.println("  ghost   " + addr(g.remote()) + "  inode " + g.inode() + "  (kernel ESTABLISHED, no connection)");
            }
            for (SocketAudit.Orphan o : r.orphans()) {
                ConnectionInfo c = o.connection();
                out.println("  orphan  " + addr(c.remote()) + "  device " + c.deviceId() + "  session " + c.sessionId()
                        + "  (kernel: " + (o.kernelState() == null ? "no socket" : o.kernelState().name()) + ")");
            }
            out.println("ghosts: " + r.ghosts().size());
            out.println("orphans: " + r.orphans().size());
        } else {
            out.println("ghosts: unknown (give --admin HOST:PORT to compare with the server's sessions)");
            out.println("orphans: unknown (give --admin HOST:PORT to compare with the server's sessions)");
        }
        out.println("CLOSE_WAIT: " + r.closeWait());
    }

    private static String addr(InetSocketAddress a) {
        if (a == null) {
            return "?";
        }
        String host = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
