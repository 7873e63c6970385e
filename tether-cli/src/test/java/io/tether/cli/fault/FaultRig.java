package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.testkit.fault.NamespaceProcess;
import io.tether.testkit.fault.NetworkLab;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What every fault test needs: a {@link NetworkLab}, the gateway ({@link FaultServerMain}) in the
 * server namespace, devices ({@link FaultDeviceMain}) in the device namespace, and the JSON
 * events they print. Child output goes to {@code target/fault-logs/<test>/}.
 */
final class FaultRig implements AutoCloseable {
    static final int PORT = 7400;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Child JVMs: small, quick to start, short GC pauses (heartbeat tests have ~25 ms of margin). */
    private static final List<String> JVM = List.of("-Xms32m", "-Xmx128m", "-Xss256k", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-Dio.netty.leakDetection.level="
                    + System.getProperty("io.netty.leakDetection.level", "simple"));

    final NetworkLab lab;
    private final List<NamespaceProcess> children = new ArrayList<>();
    private NamespaceProcess server;

    private FaultRig(String testName) {
        // Every test here measures time bounds of a few hundred ms: keep other work on the host
        // (parallel builds) from starving the children's timers.
        this.lab = NetworkLab.create(Path.of("target", "fault-logs", testName)).childNiceness(-10);
    }

    /** Skips the calling test, loudly, when this machine cannot make a lab (not root, no ip/iptables). */
    static FaultRig create(String testName) {
        Optional<String> why = NetworkLab.unavailableReason();
        if (why.isPresent()) {
            System.err.println("SKIPPED " + testName + ": " + why.get());
        }
        Assumptions.assumeTrue(why.isEmpty(), () -> "fault harness unavailable: " + why.get());
        return new FaultRig(testName);
    }

    /** The gateway at {@value #PORT} on the server namespace's address, with these extra options. */
    NamespaceProcess startServer(String... options) {
        List<String> args = new ArrayList<>(List.of("--bind", lab.server().address().getHostAddress(),
                "--port", String.valueOf(PORT)));
        args.addAll(List.of(options));
        server = start(lab.server().startJava("server", FaultServerMain.class.getName(), jvm("server"), args));
        return server;
    }

    /**
     * Waits until the gateway listens. Devices may be started before: they retry connecting, so
     * the two JVMs start up in parallel.
     */
    JsonNode awaitListening() {
        JsonNode l = awaitEvents(server, "listening", e -> true, 1, Duration.ofSeconds(30)).get(0);
        assertThat(l.get("transport").asText()).as("the gateway runs the epoll transport").isEqualTo("EPOLL");
        return l;
    }

    String serverTarget() {
        return lab.server().address().getHostAddress() + ":" + PORT;
    }

    /** Device addresses: one per device, so a fault can hit one device alone. */
    List<InetAddress> deviceAddresses(int n) {
        List<InetAddress> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(lab.device().addAddress());
        }
        return out;
    }

    /** Starts {@link FaultDeviceMain} in the device namespace; {@code --target} is the gateway unless given. */
    NamespaceProcess startDevices(String label, List<InetAddress> locals, String... options) {
        List<String> args = new ArrayList<>();
        List<String> opts = List.of(options);
        if (!opts.contains("--target")) {
            args.addAll(List.of("--target", serverTarget()));
        }
        args.addAll(List.of("--local", locals.stream().map(InetAddress::getHostAddress).collect(Collectors.joining(","))));
        args.addAll(opts);
        NamespaceProcess p = start(lab.device().startJava(label, FaultDeviceMain.class.getName(), jvm(label), args));
        if (server != null) {
            awaitListening();
        }
        return p;
    }

    /** Any other program of the test class path, in the server namespace. */
    NamespaceProcess startInServerNamespace(String label, String mainClass, List<String> args) {
        return start(lab.server().startJava(label, mainClass, jvm(label), args));
    }

    /** JVM options, plus a GC and safepoint log next to the child's output: pauses explain late timers. */
    private List<String> jvm(String label) {
        List<String> opts = new ArrayList<>(JVM);
        if (lab.logDir() != null) {
            opts.add("-Xlog:gc,safepoint:file=" + lab.logDir().resolve(label + "-jvm.log") + ":uptime,tags");
        }
        return opts;
    }

    private NamespaceProcess start(NamespaceProcess p) {
        children.add(p);
        return p;
    }

    static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + line, e);
        }
    }

    static Predicate<String> isEvent(String name) {
        String tag = "\"event\":\"" + name + "\"";
        return l -> l.contains(tag);
    }

    /** Every event of that name so far that matches. */
    static List<JsonNode> events(NamespaceProcess p, String name, Predicate<JsonNode> match) {
        return p.lines(isEvent(name)).stream().map(FaultRig::json).filter(match).toList();
    }

    /** The first {@code count} events of that name that match, waiting up to {@code timeout}. */
    static List<JsonNode> awaitEvents(NamespaceProcess p, String name, Predicate<JsonNode> match, int count,
                                      Duration timeout) {
        return p.awaitLines(l -> isEvent(name).test(l) && match.test(json(l)), count, timeout,
                "'" + name + "' events").stream().map(FaultRig::json).toList();
    }

    /** Asks the gateway for an audit of its registry against the kernel's socket table. */
    JsonNode audit() {
        return command(server, "audit", "audit");
    }

    /** Asks the gateway for heap use after GC. */
    JsonNode heap() {
        return command(server, "heap", "heap");
    }

    /** Sends a command and waits for the next event of that name. */
    static JsonNode command(NamespaceProcess p, String command, String answer) {
        int before = p.lines(isEvent(answer)).size();
        p.send(command);
        return awaitEvents(p, answer, e -> true, before + 1, Duration.ofSeconds(10)).get(before);
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** Milliseconds from {@code fromNanos} to an event's {@code mono}. */
    static double msSince(long fromNanos, JsonNode event) {
        return (event.get("mono").asLong() - fromNanos) / 1e6;
    }

    /** Fails if a child reported a Netty buffer leak. */
    void assertNoLeaks() {
        for (NamespaceProcess p : children) {
            assertThat(p.errorLines()).as("%s stderr: Netty leak reports", p.label())
                    .noneMatch(l -> l.contains("LEAK:"));
        }
    }

    @Override
    public void close() {
        lab.close();
    }
}
