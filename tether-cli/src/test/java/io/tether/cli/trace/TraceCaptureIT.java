package io.tether.cli.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.cli.TetherCommand;
import io.tether.testkit.fault.Match;
import io.tether.testkit.fault.NamespaceProcess;
import io.tether.testkit.fault.NetworkLab;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tether trace} on captures made here: {@code tcpdump} in the lab's server namespace
 * records a real gateway ({@code tether serve}) and hand-written devices ({@link TraceDeviceMain})
 * through real kernel faults (iptables DROP for a power loss), one scenario per test. Each test
 * checks the verdict, then that every connection's packet counts, SYN/FIN/RST counts, bytes,
 * keepalive probes, retransmissions, zero windows and first/last packet times agree with
 * {@code tshark} on the same file, and with its {@code -z conv,tcp} table. Needs root, tcpdump
 * and tshark; skipped, saying why, without them.
 */
class TraceCaptureIT {
    static final int PORT = 7400;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> JVM = List.of("-Xms32m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private NetworkLab lab;
    private Process tcpdump;
    private Path file;
    private String name;
    private NamespaceProcess devices;
    private InetAddress devAddress;
    private final List<String> tcpdumpErr = new ArrayList<>();

    @BeforeEach
    void setUp(TestInfo info) throws Exception {
        name = info.getTestMethod().orElseThrow().getName();
        Assumptions.assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> "no network lab: " + NetworkLab.unavailableReason().get());
        Assumptions.assumeTrue(onPath("tcpdump") && TsharkView.available(), "tcpdump and tshark are needed (.ci/run installs them)");
        Path logs = Path.of("target", "fault-logs", "TraceCaptureIT." + name);
        lab = NetworkLab.create(logs);
        file = logs.toAbsolutePath().resolve("capture.pcap");
        Files.deleteIfExists(file);
        startTcpdump();
        devAddress = lab.device().addAddress();
        devices = lab.device().startJava("devices", TraceDeviceMain.class.getName(), JVM,
                List.of(lab.server().address().getHostAddress() + ":" + PORT));
        devices.awaitLine("ready"::equals, Duration.ofSeconds(30), "device program ready");
    }

    @AfterEach
    void tearDown() throws Exception {
        stopTcpdump();
        if (lab != null) {
            lab.close();
        }
    }

    private static boolean onPath(String program) {
        for (String d : (System.getenv("PATH") + ":/usr/sbin:/usr/bin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    private void startTcpdump() throws Exception {
        tcpdump = new ProcessBuilder("ip", "netns", "exec", lab.server().name(), "tcpdump", "-i", lab.server().link(), "-s", "0",
                "-U", "-n", "-w", file.toString(), "tcp", "port", String.valueOf(PORT)).start();
        BufferedReader err = new BufferedReader(new InputStreamReader(tcpdump.getErrorStream(), StandardCharsets.UTF_8));
        Thread t = new Thread(() -> {
            try {
                String l;
                while ((l = err.readLine()) != null) {
                    synchronized (tcpdumpErr) {
                        tcpdumpErr.add(l);
                        tcpdumpErr.notifyAll();
                    }
                }
            } catch (IOException e) {
                // tcpdump ended
            }
        }, "tcpdump-stderr");
        t.setDaemon(true);
        t.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        synchronized (tcpdumpErr) {
            while (tcpdumpErr.stream().noneMatch(l -> l.contains("listening on"))) {
                long left = deadline - System.nanoTime();
                assertThat(left).as("tcpdump started (stderr: %s)", tcpdumpErr).isPositive();
                assertThat(tcpdump.isAlive()).as("tcpdump runs (stderr: %s)", tcpdumpErr).isTrue();
                tcpdumpErr.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    private void stopTcpdump() throws InterruptedException {
        if (tcpdump != null && tcpdump.isAlive()) {
            tcpdump.destroy(); // SIGTERM: tcpdump writes what it has and exits
            if (!tcpdump.waitFor(10, TimeUnit.SECONDS)) {
                tcpdump.destroyForcibly();
            }
        }
    }

    private NamespaceProcess startServer(String... options) {
        List<String> args = new ArrayList<>(List.of("serve", "--bind", lab.server().address().getHostAddress(), "--port",
                String.valueOf(PORT), "--store", "memory", "--insecure-no-auth"));
        args.addAll(List.of(options));
        NamespaceProcess server = lab.server().startJava("server", TetherCommand.class.getName(), JVM, args);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // the test's logback configuration keeps the server's INFO lines quiet: ask the kernel instead
        while (!lab.server().exec("ss", "-Hltn", "sport = :" + PORT).stdout().contains(":" + PORT)) {
            assertThat(server.isAlive()).as("server runs: %s", server.errorLines()).isTrue();
            assertThat(System.nanoTime()).as("server listening within 30 s: %s", server.errorLines()).isLessThan(deadline);
            sleep(50);
        }
        return server;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String device(String command, String answerPrefix) {
        int before = devices.lines(l -> l.startsWith(answerPrefix)).size();
        devices.send(command);
        return devices.awaitLines(l -> l.startsWith(answerPrefix), before + 1, Duration.ofSeconds(30), answerPrefix).get(before);
    }

    private int connect(String conn, String deviceId, int heartbeatMs, String mode) {
        String line = device("connect " + conn + " " + deviceId + " " + heartbeatMs + " " + mode + " " + devAddress.getHostAddress(),
                "connected " + conn);
        return Integer.parseInt(line.split(" ")[2]);
    }

    static JsonNode trace(Path file) throws Exception {
        StringWriter w = new StringWriter();
        Trace.run(file, PORT, null, true, new PrintWriter(w));
        return JSON.readTree(w.toString());
    }

    /** Analyses the growing capture every 200 ms until {@code done} holds, for at most {@code timeout}. */
    private JsonNode awaitTrace(Predicate<JsonNode> done, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode t = null;
        while (System.nanoTime() < deadline) {
            if (Files.exists(file)) {
                t = trace(file);
                if (done.test(t)) {
                    return t;
                }
            }
            sleep(200);
        }
        throw new AssertionError("capture never showed " + what + " within " + timeout + "; last analysis: " + t);
    }

    static JsonNode byDevicePort(JsonNode trace, int port) {
        for (JsonNode c : trace.get("connections")) {
            if (c.get("device").get("port").asInt() == port) {
                return c;
            }
        }
        throw new AssertionError("no connection from device port " + port + " in " + trace);
    }

    static boolean closed(JsonNode trace, int port) {
        for (JsonNode c : trace.get("connections")) {
            if (c.get("device").get("port").asInt() == port) {
                return c.get("close").has("closedAt");
            }
        }
        return false;
    }

    /** Stops the capture, prints both views, and compares every connection with tshark. */
    private JsonNode finish() throws Exception {
        sleep(300); // the last ACKs of a close
        stopTcpdump();
        JsonNode t = trace(file);
        // The same capture as pcapng (editcap, from Wireshark): the same stories, field for field.
        Path ng = file.resolveSibling("capture.pcapng");
        TsharkView.run("editcap", "-F", "pcapng", file.toString(), ng.toString());
        JsonNode tng = trace(ng);
        assertThat(tng.get("summary").get("format").asText()).isEqualTo("pcapng");
        assertThat(tng.get("connections")).as("pcapng analysis = pcap analysis").isEqualTo(t.get("connections"));
        StringWriter text = new StringWriter();
        Trace.run(file, PORT, null, false, new PrintWriter(text));
        System.out.println("=== " + name + ": tether trace " + file + "\n" + text);
        TsharkView ts = TsharkView.of(file);
        System.out.println("=== " + name + ": tshark -q -z conv,tcp\n" + ts.convText);
        assertThat(t.get("summary").get("truncated").asBoolean()).as("capture complete").isFalse();
        assertThat(t.get("connections")).as("connections: tether trace vs tshark streams").hasSize(ts.streams.size());
        assertThat(ts.conversations).as("tshark conv,tcp rows").hasSize(ts.streams.size());
        for (JsonNode c : t.get("connections")) {
            int stream = c.get("id").asInt();
            Map<Integer, TsharkView.Dir> dirs = ts.streams.get(stream);
            assertThat(dirs).as("tshark stream %d", stream).isNotNull();
            int devPort = c.get("device").get("port").asInt();
            compare(stream, "device", c.get("sides").get("device"), dirs.getOrDefault(devPort, new TsharkView.Dir()));
            compare(stream, "server", c.get("sides").get("server"), dirs.getOrDefault(PORT, new TsharkView.Dir()));
            TsharkView.Conv conv = ts.conversations.stream()
                    .filter(v -> v.a().endsWith(":" + devPort) || v.b().endsWith(":" + devPort)).findFirst().orElseThrow();
            int dev = c.get("sides").get("device").get("packets").asInt();
            int srv = c.get("sides").get("server").get("packets").asInt();
            boolean aIsDevice = conv.a().endsWith(":" + devPort);
            assertThat(conv.frames()).as("#%d conv,tcp total frames", stream).isEqualTo(dev + srv);
            assertThat(aIsDevice ? conv.framesFromA() : conv.framesToA()).as("#%d conv,tcp frames from the device", stream).isEqualTo(dev);
            assertThat(conv.relStart()).as("#%d conv,tcp relative start", stream).isCloseTo(c.get("startAt").asDouble(),
                    org.assertj.core.data.Offset.offset(1e-5));
            assertThat(conv.duration()).as("#%d conv,tcp duration", stream).isCloseTo(c.get("durationSeconds").asDouble(),
                    org.assertj.core.data.Offset.offset(1e-4));
            System.out.printf("#%d agrees with tshark: device %d packets (SYN %d FIN %d RST %d, %d retransmissions, %d keepalives),"
                            + " server %d packets (SYN %d FIN %d RST %d, %d retransmissions, %d keepalives); start %.6f s, duration %.6f s%n",
                    stream, dev, dirs.getOrDefault(devPort, new TsharkView.Dir()).syn, dirs.getOrDefault(devPort, new TsharkView.Dir()).fin,
                    dirs.getOrDefault(devPort, new TsharkView.Dir()).rst, dirs.getOrDefault(devPort, new TsharkView.Dir()).retransmissions,
                    dirs.getOrDefault(devPort, new TsharkView.Dir()).keepalives, srv,
                    dirs.getOrDefault(PORT, new TsharkView.Dir()).syn, dirs.getOrDefault(PORT, new TsharkView.Dir()).fin,
                    dirs.getOrDefault(PORT, new TsharkView.Dir()).rst, dirs.getOrDefault(PORT, new TsharkView.Dir()).retransmissions,
                    dirs.getOrDefault(PORT, new TsharkView.Dir()).keepalives, conv.relStart(), conv.duration());
        }
        return t;
    }

    private static void compare(int stream, String side, JsonNode mine, TsharkView.Dir ts) {
        String as = "#" + stream + " " + side + " ";
        assertThat(mine.get("packets").asInt()).as(as + "packets").isEqualTo(ts.packets);
        assertThat(mine.get("bytes").asLong()).as(as + "bytes").isEqualTo(ts.bytes);
        assertThat(mine.get("syn").asInt()).as(as + "SYN").isEqualTo(ts.syn);
        assertThat(mine.get("fin").asInt()).as(as + "FIN").isEqualTo(ts.fin);
        assertThat(mine.get("rst").asInt()).as(as + "RST").isEqualTo(ts.rst);
        assertThat(mine.get("retransmissions").get("count").asInt()).as(as + "retransmissions").isEqualTo(ts.retransmissions);
        assertThat(mine.get("keepalive").get("probes").asInt()).as(as + "keepalive probes").isEqualTo(ts.keepalives);
        assertThat(mine.get("zeroWindow").get("segments").asInt()).as(as + "zero windows").isEqualTo(ts.zeroWindows);
        if (ts.packets > 0) {
            assertThat(mine.get("firstAt").asDouble()).as(as + "first packet, s").isCloseTo(ts.first, org.assertj.core.data.Offset.offset(1e-5));
            assertThat(mine.get("lastAt").asDouble()).as(as + "last packet, s").isCloseTo(ts.last, org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    static String verdict(JsonNode c) {
        return c.get("verdict").get("code").asText();
    }

    /** Heartbeat 1 s (timeout 1.5 s), drain 500 ms; the device pings, then loses power (every packet of its address dropped). */
    @Test
    void powerLossWithHeartbeat_serverByeHeartbeatTimeout() throws Exception {
        startServer("--heartbeat", "1s", "--drain", "500ms");
        int port = connect("d1", "meter-1", 1000, "ping");
        sleep(2500); // two PINGs
        lab.device().blackhole(Match.address(devAddress));
        awaitTrace(t -> closed(t, port), Duration.ofSeconds(20), "the server's RST");
        JsonNode c = byDevicePort(finish(), port);
        assertThat(verdict(c)).isEqualTo("power-loss-heartbeat");
        assertThat(c.get("device").get("id").asText()).isEqualTo("meter-1");
        assertThat(c.get("bye").get("server").get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        assertThat(c.get("sides").get("device").get("frames").get("PING").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(c.get("drain").get("windowMs").asDouble()).as("drain, ms").isBetween(450.0, 1500.0);
        assertThat(c.get("halfOpen").get("silent").asText()).isEqualTo("device");
        // BYE after the last PING: timeout 1500 ms, at most ~1 heartbeat late
        double silence = c.get("bye").get("server").get("at").asDouble() - c.get("sides").get("device").get("lastFrameAt").asDouble();
        assertThat(silence).as("last PING -> BYE, s").isBetween(1.4, 2.7);
    }

    /** Heartbeats off, keepalive 1 s idle, 1 s interval, 2 probes: the kernel probes the dead device and resets. */
    @Test
    void powerLossWithKeepaliveOnly_unansweredProbesThenReset() throws Exception {
        startServer("--heartbeat", "0", "--keepalive", "1s,1s,2");
        int port = connect("d1", "meter-2", 0, "silent");
        lab.device().blackhole(Match.address(devAddress));
        awaitTrace(t -> closed(t, port), Duration.ofSeconds(20), "the server's RST");
        JsonNode c = byDevicePort(finish(), port);
        assertThat(verdict(c)).isEqualTo("power-loss-keepalive");
        assertThat(c.get("welcome").get("heartbeatMs").asInt()).isZero();
        JsonNode ka = c.get("sides").get("server").get("keepalive");
        // probes sent before the DROP was in place are answered; the last two (the count) are not
        assertThat(ka.get("probes").asInt() - ka.get("answered").asInt()).as("unanswered probes").isGreaterThanOrEqualTo(2);
        assertThat(c.get("sides").get("server").get("rst").asInt()).isPositive();
        assertThat(c.has("bye") && c.get("bye").has("server")).as("no BYE: the kernel ended it").isFalse();
    }

    /** The device loses power on one connection and, rebooted, connects again with the same id before the server noticed. */
    @Test
    void rebootTakeover_oldConnectionGetsByeTakenOver() throws Exception {
        startServer("--heartbeat", "10s");
        int old = connect("d1", "tracker-9", 10_000, "silent");
        lab.device().blackhole(Match.localPort(old));
        device("abandon d1", "abandoned d1");
        int fresh = connect("d2", "tracker-9", 10_000, "silent");
        awaitTrace(t -> closed(t, old), Duration.ofSeconds(20), "the old connection's RST");
        JsonNode t = finish();
        JsonNode c = byDevicePort(t, old);
        assertThat(verdict(c)).isEqualTo("taken-over");
        assertThat(c.get("bye").get("server").get("reason").asText()).isEqualTo("TAKEN_OVER");
        assertThat(c.get("takenOverBy").asInt()).isEqualTo(byDevicePort(t, fresh).get("id").asInt());
        assertThat(verdict(byDevicePort(t, fresh))).isEqualTo("open");
    }

    /** The device closes with SO_LINGER 0: an RST, no BYE. */
    @Test
    void peerReset() throws Exception {
        startServer("--heartbeat", "10s");
        int port = connect("d1", "pos-3", 10_000, "silent");
        device("rst d1", "reset d1");
        awaitTrace(t -> closed(t, port), Duration.ofSeconds(20), "the device's RST");
        JsonNode c = byDevicePort(finish(), port);
        assertThat(verdict(c)).isEqualTo("peer-reset");
        assertThat(c.get("close").get("first").asText()).isEqualTo("device");
        assertThat(c.get("close").get("how").asText()).isEqualTo("RST");
    }

    /** BYE NORMAL and FIN from the device; the server closes with FIN. */
    @Test
    void finCleanClose() throws Exception {
        startServer("--heartbeat", "10s");
        int port = connect("d1", "pos-4", 10_000, "silent");
        device("bye d1", "closed d1");
        awaitTrace(t -> closed(t, port), Duration.ofSeconds(20), "both FINs");
        JsonNode c = byDevicePort(finish(), port);
        assertThat(verdict(c)).isEqualTo("clean-close");
        assertThat(c.get("bye").get("device").get("reason").asText()).isEqualTo("NORMAL");
        // who sends the first FIN is a race: the server closes as soon as it reads the BYE
        assertThat(c.get("close").get("how").asText()).isEqualTo("FIN");
        assertThat(c.get("sides").get("server").get("fin").asInt()).isEqualTo(1);
        assertThat(c.get("sides").get("device").get("fin").asInt()).isEqualTo(1);
        assertThat(c.get("sides").get("device").get("rst").asInt() + c.get("sides").get("server").get("rst").asInt()).isZero();
    }

    /** Nothing listens on the port: the server's kernel answers the SYN with RST. */
    @Test
    void connectionRefused() throws Exception {
        device("connect d1 x 0 once " + devAddress.getHostAddress(), "refused d1");
        awaitTrace(t -> t.get("connections").size() == 1, Duration.ofSeconds(20), "the SYN and RST");
        JsonNode t = finish();
        JsonNode c = t.get("connections").get(0);
        assertThat(verdict(c)).isEqualTo("refused");
        assertThat(c.get("handshake").get("refused").asBoolean()).isTrue();
        assertThat(c.get("sides").get("server").get("rst").asInt()).isEqualTo(1);
    }

    /** --max-connections 1: the second device gets BYE SERVER_BUSY with a reconnect hint. */
    @Test
    void serverBusy() throws Exception {
        startServer("--heartbeat", "10s", "--max-connections", "1");
        connect("d1", "meter-a", 10_000, "silent");
        String bye = device("connect d2 meter-b 10000 silent " + devAddress.getHostAddress(), "bye d2");
        assertThat(bye).isEqualTo("bye d2 SERVER_BUSY");
        JsonNode t = awaitTrace(x -> x.get("connections").size() == 2 && x.get("connections").get(1).get("close").has("closedAt"),
                Duration.ofSeconds(20), "the refused connection's close");
        JsonNode c = finish().get("connections").get(1);
        assertThat(verdict(c)).isEqualTo("server-busy");
        assertThat(c.get("bye").get("server").get("reason").asText()).isEqualTo("SERVER_BUSY");
        assertThat(c.get("bye").get("server").get("reconnectAfterMs").asInt()).isPositive();
        assertThat(t.get("connections").get(0).get("verdict").get("code").asText()).isEqualTo("open");
    }

    /**
     * NAT/middlebox silence: an SDK device (heartbeat 1 s, which remembers its session id) whose
     * path goes silent both ways for 5 s. The gateway times the session out (BYE
     * HEARTBEAT_TIMEOUT, unanswered), the device's SDK gives up on the dead server too and
     * retries (its SYNs are dropped); when the path is back, it connects resuming the old session.
     * The old connection's verdict is therefore not power loss.
     */
    @Test
    void pathSilentThenSameSessionResumed_isMiddleboxSilence() throws Exception {
        startServer("--heartbeat", "1s", "--drain", "500ms");
        NamespaceProcess sdk = lab.device().startJava("sdk", io.tether.cli.fault.FaultDeviceMain.class.getName(), JVM,
                List.of("--target", lab.server().address().getHostAddress() + ":" + PORT, "--local", devAddress.getHostAddress(),
                        "--devices", "1", "--mode", "sdk", "--id-prefix", "car-", "--heartbeat-ms", "1000", "--backoff-ms", "300,1000"));
        sdk.awaitLine(l -> l.contains("\"event\":\"connected\""), Duration.ofSeconds(30), "SDK connected");
        JsonNode first = awaitTrace(t -> t.get("connections").size() == 1 && t.get("connections").get(0).has("welcome"),
                Duration.ofSeconds(20), "the first WELCOME");
        int oldPort = first.get("connections").get(0).get("device").get("port").asInt();
        sleep(1500);
        try (var silence = lab.device().blackhole(Match.address(devAddress))) {
            sleep(5000);
        }
        JsonNode t = awaitTrace(x -> byDevicePortOrNull(x, oldPort) != null && byDevicePortOrNull(x, oldPort).has("resumedBy"),
                Duration.ofSeconds(30), "a HELLO resuming the first session");
        JsonNode c = byDevicePort(finish(), oldPort);
        assertThat(verdict(c)).isEqualTo("middlebox-silence");
        assertThat(c.get("bye").get("server").get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        JsonNode all = trace(file);
        JsonNode resumed = all.get("connections").get(c.get("resumedBy").asInt());
        assertThat(resumed.get("hello").get("resumeSession").asText()).isEqualTo(c.get("welcome").get("sessionId").asText());
        System.out.println("verdicts: " + all.get("summary").get("verdicts") + " (t: " + t.get("summary").get("verdicts") + ")");
    }

    static JsonNode byDevicePortOrNull(JsonNode trace, int port) {
        for (JsonNode c : trace.get("connections")) {
            if (c.get("device").get("port").asInt() == port) {
                return c;
            }
        }
        return null;
    }

    /**
     * The drain window: a device whose application went silent (no PING) but whose TCP is alive
     * gets BYE HEARTBEAT_TIMEOUT and the half-close, sends two DATA frames after the FIN, and is
     * reset when the 1 s drain ends.
     */
    @Test
    void drainWindow_deviceSendsAfterServerFin_thenRst() throws Exception {
        startServer("--heartbeat", "1s", "--drain", "1s");
        int port = connect("d1", "meter-5", 1000, "drainer");
        devices.awaitLine(("drained d1")::equals, Duration.ofSeconds(10), "DATA sent after the BYE");
        awaitTrace(t -> closed(t, port) && byDevicePort(t, port).get("sides").get("server").get("rst").asInt() > 0,
                Duration.ofSeconds(20), "the server's RST");
        JsonNode c = byDevicePort(finish(), port);
        assertThat(verdict(c)).isEqualTo("heartbeat-timeout-device-alive");
        JsonNode drain = c.get("drain");
        assertThat(drain.get("deviceFrames").asInt()).isEqualTo(2);
        assertThat(drain.get("windowMs").asDouble()).as("drain, ms").isBetween(950.0, 1500.0);
        assertThat(c.get("sides").get("device").get("lastDataSeq").asInt()).isEqualTo(2);
        assertThat(c.get("verdict").get("text").asText()).doesNotContain("-0.");
    }
}
