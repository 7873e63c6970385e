package io.tether.cli;

import io.tether.cli.trace.CaptureFormatException;
import io.tether.cli.trace.Trace;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tether trace}: the life story of every TCP connection in a packet capture — handshake,
 * Tether frames, who closed and how, keepalive probes, retransmissions, zero windows, the drain
 * window — and a verdict naming the case (clean close, power loss detected by heartbeat or by
 * keepalive, takeover, NAT/middlebox silence, peer reset, refused, server busy…). The analysis
 * lives in {@link io.tether.cli.trace}.
 *
 * <p>Exit codes: 0 when at least one connection was shown, 1 when the capture has none (on the
 * port, of the device), 2 for a file that is not a capture, cannot be read, or wrong usage.
 */
@Command(
        name = "trace",
        mixinStandardHelpOptions = true,
        description = {
            "Tells the life story of every TCP connection in a capture (pcap or pcapng, e.g. from tcpdump -w):"
                    + " handshake, Tether frames (HELLO's device id, BYE's reason), who closed first and how,"
                    + " half-open periods, keepalive probes, retransmissions and their back-off, zero windows, the drain"
                    + " window, and a verdict naming the case.",
            "With --live, captures the port with tcpdump for --seconds first."
        })
public final class TraceCommand implements Callable<Integer> {
    static final int EXIT_NONE = 1;
    static final int EXIT_USAGE = 2;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE", description = "The capture: pcap or pcapng.")
    private Path file;

    @Option(names = "--port", paramLabel = "P", description = "The Tether server's port (default: every TCP connection;"
            + " the device is then the side that sent the SYN).")
    private int port;

    @Option(names = "--device", paramLabel = "ID", description = "Only connections whose HELLO carried this device id.")
    private String device;

    @Option(names = "--json", description = "One JSON document instead of text.")
    private boolean json;

    @Option(names = "--live", description = "Capture with tcpdump (must be installed; needs root or CAP_NET_RAW) first.")
    private boolean live;

    @Option(names = "--seconds", paramLabel = "S", description = "With --live: how long to capture (default: ${DEFAULT-VALUE}).")
    private int seconds = 10;

    @Option(names = "--interface", paramLabel = "IF", description = "With --live: the interface (default: ${DEFAULT-VALUE}).")
    private String iface = "any";

    @Option(names = "--write", paramLabel = "FILE", description = "With --live: keep the capture in FILE (default: a temporary file, deleted).")
    private Path write;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (port < 0 || port > 65535) {
            err.println("tether trace: --port " + port + " (expected: 1 to 65535)");
            return EXIT_USAGE;
        }
        if (live) {
            if (file != null) {
                err.println("tether trace: give a FILE or --live, not both (with --live, --write FILE keeps the capture)");
                return EXIT_USAGE;
            }
            if (port == 0) {
                err.println("tether trace: --live needs --port P, the Tether server's port");
                return EXIT_USAGE;
            }
            if (seconds < 1 || seconds > 86_400) {
                err.println("tether trace: --seconds " + seconds + " (expected: 1 to 86400)");
                return EXIT_USAGE;
            }
            return live(out, err);
        }
        if (file == null) {
            err.println("tether trace: which capture? Give FILE (pcap or pcapng, e.g. from tcpdump -w FILE), or --live --port P");
            return EXIT_USAGE;
        }
        return analyse(file, out, err);
    }

    private int analyse(Path capture, PrintWriter terminal, PrintWriter err) {
        // picocli's writer flushes every line: one write(2) per line would cost more than the analysis
        PrintWriter out = new PrintWriter(new java.io.BufferedWriter(terminal, 1 << 16), false);
        try {
            Trace.Result r = Trace.run(capture, port, device, json, out);
            out.flush();
            if (r.truncated()) {
                err.println("tether trace: " + capture + " is truncated (it ends in the middle of a packet, "
                        + r.truncatedBytes() + " bytes left over); the complete packets before that were analysed");
            }
            if (r.shown() == 0) {
                err.println("tether trace: " + (r.portPackets() == 0
                        ? "no TCP " + (port == 0 ? "" : "on port " + port + " ") + "in " + capture + " (" + r.packets() + " packets, "
                        + r.tcpPackets() + " TCP" + (port == 0 ? "" : "; is the port right?") + ")"
                        : "no connection of device " + device + " in " + capture + " (" + r.connections() + " connections)"));
                return EXIT_NONE;
            }
            return 0;
        } catch (NoSuchFileException e) {
            err.println("tether trace: " + capture + ": no such file");
            return EXIT_USAGE;
        } catch (CaptureFormatException e) {
            out.flush();
            terminal.flush();
            err.println("tether trace: " + e.getMessage());
            return EXIT_USAGE;
        } catch (IOException e) {
            err.println("tether trace: cannot read " + capture + ": " + e.getMessage());
            return EXIT_USAGE;
        } finally {
            out.flush();
        }
    }

    private int live(PrintWriter out, PrintWriter err) {
        String tcpdump = onPath("tcpdump");
        if (tcpdump == null) {
            err.println("tether trace: --live needs tcpdump, which is not installed (Debian/Ubuntu: apt-get install tcpdump)."
                    + " Or capture elsewhere and run: tether trace FILE");
            return EXIT_USAGE;
        }
        Path target = write;
        try {
            if (target == null) {
                target = Files.createTempFile("tether-trace-", ".pcap");
            }
            List<String> cmd = new ArrayList<>(List.of(tcpdump, "-i", iface, "-s", "0", "-U", "-n", "-w", target.toString(),
                    "tcp", "port", String.valueOf(port)));
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // The S seconds count from when tcpdump says it is listening, not from when it was started.
            java.util.concurrent.CountDownLatch listening = new java.util.concurrent.CountDownLatch(1);
            StringBuilder said = new StringBuilder();
            Thread reader = new Thread(() -> {
                try (java.io.BufferedReader r = new java.io.BufferedReader(
                        new java.io.InputStreamReader(p.getErrorStream(), java.nio.charset.StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (said) {
                            said.append(line).append('\n');
                        }
                        if (line.contains("listening on")) {
                            listening.countDown();
                        }
                    }
                } catch (IOException e) {
                    // tcpdump ended
                }
            }, "tcpdump-stderr");
            reader.setDaemon(true);
            reader.start();
            boolean ready = false;
            for (int i = 0; i < 100 && !ready && p.isAlive(); i++) {
                ready = listening.await(100, TimeUnit.MILLISECONDS);
            }
            if (!ready) {
                p.destroyForcibly();
                synchronized (said) {
                    err.println("tether trace: tcpdump did not start capturing (does it run as root or with CAP_NET_RAW, and"
                            + " does interface " + iface + " exist?): " + said.toString().strip());
                }
                return EXIT_USAGE;
            }
            err.println("tether trace: capturing port " + port + " on " + iface + " for " + seconds + " s ...");
            err.flush();
            if (p.waitFor(seconds, TimeUnit.SECONDS)) {
                synchronized (said) {
                    err.println("tether trace: tcpdump stopped by itself (exit " + p.exitValue() + "): " + said.toString().strip());
                }
                return EXIT_USAGE;
            }
            p.destroy(); // SIGTERM: tcpdump flushes and closes the file
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return analyse(target, out, err);
        } catch (IOException e) {
            err.println("tether trace: cannot run tcpdump: " + e.getMessage());
            return EXIT_USAGE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_USAGE;
        } finally {
            if (write == null && target != null) {
                try {
                    Files.deleteIfExists(target);
                } catch (IOException e) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }

    private static String onPath(String program) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(List.of((path == null ? "" : path).split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String d : dirs) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return Path.of(d, program).toString();
            }
        }
        return null;
    }
}
