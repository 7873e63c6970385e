package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.tether.client.ClientGroup;
import io.tether.client.CommandResult;
import io.tether.client.DeviceCommand;
import io.tether.client.TetherClient;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Protocol;
import io.tether.testkit.ChaosProxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.concurrent.TimeUnit.MINUTES;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Commands, end to end under faults: 100 devices (the SDK's {@code onCommand}, through a
 * {@link ChaosProxy}) take 100 commands each, submitted through the HTTP API of a
 * {@code tether serve} process (RocksDB store), while a chaos loop kills the server with SIGKILL
 * and restarts it, takes sessions over with raw version 2 HELLOs (which receive commands and never
 * acknowledge them), resets links and black-holes them. Submitters retry a failed POST with the
 * same idempotency key, as an application should.
 *
 * <p>Then an independent check compares what the devices processed (each device's own log of
 * command seqs and payloads) with the ledger as the API reports it: every command is in a final
 * state or still queued, none is missing or doubled, none was processed twice, and none is
 * DELIVERED (or further) that its device did not process.
 */
class CommandChaosIT {
    private static final int DEVICES = 100;
    private static final int COMMANDS = 100;
    private static final int TOTAL = DEVICES * COMMANDS;
    /** kill -9 and restart when this percentage of all commands was processed by the devices. */
    private static final int[] KILL_AT_PERCENT = {25, 60};
    private static final int MIN_EACH = 5;
    /**
     * Bound on the chaos loop. About 35 s on a quiet machine; generous because a loaded one (a
     * restart took 23 s once) must still reach both kills, which the test requires.
     */
    private static final Duration CHAOS_TIME_BOUND = Duration.ofSeconds(240);
    private static final Duration SETTLE_BOUND = Duration.ofSeconds(120);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private ServerProcess server;
    private ChaosProxy proxy;
    private ClientGroup group;
    private ExecutorService submitters;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private int apiPort;
    private final List<Device> devices = new ArrayList<>();
    private final List<Socket> intruders = new ArrayList<>();
    private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    private final AtomicInteger processed = new AtomicInteger();
    private final AtomicInteger submitted = new AtomicInteger();
    private final AtomicInteger postRetries = new AtomicInteger();
    private long startNanos;

    @AfterEach
    void cleanUp() {
        try {
            if (submitters != null) {
                submitters.shutdownNow();
            }
            for (Device d : devices) {
                d.client.close();
            }
            intruders.forEach(CommandChaosIT::closeQuietly);
            if (proxy != null) {
                proxy.close();
            }
            if (group != null) {
                group.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    @Test
    @Timeout(value = 9, unit = MINUTES)
    void everyCommandEndsOnceAndTrue_throughKill9TakeoverResetAndSilence() throws Exception {
        long seed = Long.getLong("tether.chaos.seed", System.nanoTime());
        Random chaos = new Random(seed);
        startNanos = System.nanoTime();
        apiPort = freePort();
        log("seed %d: %d devices x %d commands, kills at %s%% processed", seed, DEVICES, COMMANDS,
                java.util.Arrays.toString(KILL_AT_PERCENT));
        server = ServerProcess.start(dir,
                "--insecure-no-auth", "--flapping", "off",
                "--api", "127.0.0.1:" + apiPort, "--insecure-no-api-auth", "--api-rate", "0",
                "--heartbeat", "500ms", "--min-heartbeat", "100ms", "--handshake-timeout", "2s",
                "--drain", "300ms", "--shutdown-timeout", "2s");
        proxy = ChaosProxy.start(new InetSocketAddress("127.0.0.1", server.port()));
        group = ClientGroup.create(2);
        for (int i = 0; i < DEVICES; i++) {
            devices.add(new Device(i, seed));
        }
        for (Device d : devices) {
            d.client.connect().get(60, SECONDS);
        }
        log("%d devices connected through the proxy", DEVICES);

        // Four submitters, each for a quarter of the devices, command k of every device before k + 1.
        submitters = Executors.newFixedThreadPool(4);
        List<Future<?>> submitting = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int part = t;
            submitting.add(submitters.submit(() -> {
                for (int k = 1; k <= COMMANDS; k++) {
                    for (int i = part; i < DEVICES; i += 4) {
                        submit(devices.get(i), k);
                    }
                }
                return null;
            }));
        }
        int[] faults = runChaos(chaos, submitting);
        intruders.forEach(CommandChaosIT::closeQuietly);
        intruders.clear();
        for (Future<?> f : submitting) {
            f.get(120, SECONDS);
        }
        log("chaos over: kill -9 %d, takeovers %d, resets %d, blackholes %d; %d submitted, %d processed",
                faults[0], faults[1], faults[2], faults[3], submitted.get(), processed.get());

        Map<String, List<JsonNode>> ledger = settle();
        assertThat(errors).as("what devices and submitters saw").isEmpty();

        // ---- the independent check: devices' own logs against the ledger read through the API
        int succeeded = 0;
        int queued = 0;
        List<String> problems = new ArrayList<>();
        for (Device d : devices) {
            List<JsonNode> cmds = ledger.get(d.id);
            Set<String> keys = new HashSet<>();
            Map<Long, String> payloadBySeq = new HashMap<>();
            for (JsonNode c : cmds) {
                keys.add(c.path("idempotencyKey").asText());
                payloadBySeq.put(c.path("seq").asLong(), c.path("payload").asText());
                String state = c.path("state").asText();
                long seq = c.path("seq").asLong();
                boolean deviceProcessed = d.handled.containsKey(seq);
                switch (state) {
                    case "SUCCEEDED" -> succeeded++;
                    case "QUEUED", "SENT" -> queued++;
                    default -> problems.add(d.id + " seq " + seq + " ended " + state);
                }
                if (state.equals("DELIVERED") || state.equals("SUCCEEDED") || state.equals("FAILED")) {
                    if (!deviceProcessed) {
                        problems.add(d.id + " seq " + seq + " is " + state + " but the device never processed it");
                    }
                }
            }
            if (cmds.size() != COMMANDS || keys.size() != COMMANDS) {
                problems.add(d.id + ": the ledger has " + cmds.size() + " commands with " + keys.size()
                        + " distinct keys (expected " + COMMANDS + ")");
            }
            for (Map.Entry<Long, byte[]> p : d.handled.entrySet()) {
                String inLedger = payloadBySeq.get(p.getKey());
                if (inLedger == null) {
                    problems.add(d.id + " processed seq " + p.getKey() + ", which the ledger does not have");
                } else if (!inLedger.equals(Base64.getEncoder().encodeToString(p.getValue()))) {
                    problems.add(d.id + " seq " + p.getKey() + ": processed payload differs from the ledger's");
                }
            }
            problems.addAll(d.violations);
        }
        log("ledger: %d SUCCEEDED, %d still queued; devices processed %d", succeeded, queued, processed.get());
        System.out.printf("%n=== CommandChaosIT (seed %d) ===%ncommands %d, SUCCEEDED %d, queued %d, processed %d, "
                        + "POST retries %d, kill -9 %d, takeovers %d, resets %d, blackholes %d, server launches %d, %.1f s%n%n",
                seed, TOTAL, succeeded, queued, processed.get(), postRetries.get(), faults[0], faults[1], faults[2],
                faults[3], server.starts(), seconds());
        assertThat(problems).as("ledger vs. devices").isEmpty();
        assertThat(succeeded + queued).isEqualTo(TOTAL);
        assertThat(succeeded).as("every command reached its device within the bound").isEqualTo(TOTAL);
        assertThat(processed.get()).as("each command processed exactly once").isEqualTo(TOTAL);
        assertThat(faults[0]).isEqualTo(KILL_AT_PERCENT.length);
        assertThat(faults[1]).isGreaterThanOrEqualTo(MIN_EACH);
        assertThat(faults[2]).isGreaterThanOrEqualTo(MIN_EACH);
        assertThat(faults[3]).isGreaterThanOrEqualTo(MIN_EACH);
    }

    /** One device: the SDK client and its own log of what it processed. */
    private final class Device {
        final String id;
        final TetherClient client;
        /** seq → payload of each command the handler ran; the handler thread writes, the test reads after settling. */
        final Map<Long, byte[]> handled = Collections.synchronizedMap(new HashMap<>());
        final List<String> violations = new CopyOnWriteArrayList<>();
        private long lastSeq;

        Device(int index, long seed) {
            this.id = "cmd-dev-" + index;
            this.client = TetherClient.builder()
                    .target("127.0.0.1", proxy.port())
                    .deviceId(id)
                    .heartbeat(Duration.ofMillis(500))
                    .backoff(Duration.ofMillis(50), Duration.ofSeconds(1))
                    .connectTimeout(Duration.ofSeconds(2))
                    .group(group)
                    .random(new SplittableRandom(seed * 17 + index))
                    .onCommand(this::handle)
                    .build();
        }

        private CommandResult handle(DeviceCommand c) {
            if (c.seq() <= lastSeq) {
                violations.add(id + ": handler got seq " + c.seq() + " after " + lastSeq);
            }
            lastSeq = c.seq();
            if (handled.put(c.seq(), c.payload()) != null) {
                violations.add(id + ": seq " + c.seq() + " processed twice");
            }
            CommandChaosIT.this.processed.incrementAndGet();
            return CommandResult.succeeded(("done " + c.seq()).getBytes(StandardCharsets.UTF_8));
        }
    }

    // ---- submitting through the API ------------------------------------------------------------

    private void submit(Device d, int k) throws InterruptedException {
        String key = d.id + "-" + k;
        String body = "{\"text\":\"cmd " + k + " for " + d.id + "\",\"idempotencyKey\":\"" + key + "\",\"ttl\":\"1h\"}";
        for (int attempt = 1; ; attempt++) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(api("/v1/devices/" + d.id + "/commands"))
                        .timeout(Duration.ofSeconds(5))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 202 || r.statusCode() == 200) {
                    submitted.incrementAndGet();
                    return;
                }
                if (r.statusCode() != 503) {
                    errors.add("POST " + key + ": " + r.statusCode() + " " + r.body());
                    return;
                }
            } catch (IOException e) {
                // the server is down (kill -9) or restarting: the same key again, later
            }
            postRetries.incrementAndGet();
            if (attempt > 200) {
                errors.add("POST " + key + ": gave up after " + attempt + " attempts");
                return;
            }
            Thread.sleep(100);
        }
    }

    private URI api(String path) {
        return URI.create("http://127.0.0.1:" + apiPort + path);
    }

    /** Waits until every command is final (or the bound passes), then returns each device's commands as the API lists them. */
    private Map<String, List<JsonNode>> settle() throws Exception {
        long deadline = System.nanoTime() + SETTLE_BOUND.toNanos();
        Map<String, List<JsonNode>> ledger;
        while (true) {
            ledger = new HashMap<>();
            int open = 0;
            for (Device d : devices) {
                List<JsonNode> cmds = list(d.id);
                ledger.put(d.id, cmds);
                for (JsonNode c : cmds) {
                    String s = c.path("state").asText();
                    if (!s.equals("SUCCEEDED") && !s.equals("FAILED") && !s.equals("EXPIRED") && !s.equals("CANCELED")) {
                        open++;
                    }
                }
            }
            if (open == 0 || System.nanoTime() > deadline) {
                log("settled: %d commands not final", open);
                return ledger;
            }
            Thread.sleep(500);
        }
    }

    private List<JsonNode> list(String device) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(api("/v1/devices/" + device + "/commands?limit=1000"))
                        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("list %s: %s", device, r.body()).isEqualTo(200);
                List<JsonNode> out = new ArrayList<>();
                JSON.readTree(r.body()).path("commands").forEach(out::add);
                return out;
            } catch (IOException e) {
                if (attempt >= 20) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    // ---- chaos -------------------------------------------------------------------------------

    /** @return kills, takeovers, resets, blackholes */
    private int[] runChaos(Random chaos, List<Future<?>> submitting) throws Exception {
        int[] f = new int[4];
        long deadline = System.nanoTime() + CHAOS_TIME_BOUND.toNanos();
        List<Integer> round = new ArrayList<>();
        while ((submitting.stream().anyMatch(s -> !s.isDone()) || f[0] < KILL_AT_PERCENT.length
                        || Math.min(f[1], Math.min(f[2], f[3])) < MIN_EACH)
                && System.nanoTime() < deadline) {
            if (f[0] < KILL_AT_PERCENT.length && processed.get() >= TOTAL * KILL_AT_PERCENT[f[0]] / 100) {
                int status = server.kill9();
                f[0]++;
                log("kill -9 #%d at %d processed: exit status %d", f[0], processed.get(), status);
                assertThat(status).isEqualTo(ServerProcess.KILLED);
                Thread.sleep(200 + chaos.nextInt(800));
                server.restart();
                log("server relaunched");
                continue;
            }
            if (round.isEmpty()) {
                round.addAll(List.of(1, 2, 3));
                Collections.shuffle(round, chaos);
            }
            int kind = round.remove(0);
            Device d = devices.get(chaos.nextInt(DEVICES));
            if (d.client.isConnected()) {
                ChaosProxy.Link link = proxy.link(d.id);
                if (kind == 1) {
                    if (takeover(d)) {
                        f[1]++;
                    }
                } else if (link != null && kind == 2) {
                    link.reset();
                    f[2]++;
                } else if (link != null) {
                    link.blackhole();
                    f[3]++;
                }
            }
            Thread.sleep(60 + chaos.nextInt(150));
        }
        return f;
    }

    /**
     * A raw version 2 HELLO with the device's id, straight to the server: the device's session is
     * taken over, and this connection receives the device's commands and never acknowledges them.
     * It stays open until the device takes its id back.
     */
    private boolean takeover(Device d) {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 2000);
            s.setSoTimeout(5000);
            ByteBuf hello = Unpooled.buffer();
            FrameCodec.encode(new Frame.Hello(Protocol.VERSION_COMMANDS, 0, 0, d.id, new byte[0]), hello);
            OutputStream out = s.getOutputStream();
            out.write(ByteBufUtil.getBytes(hello));
            out.flush();
            hello.release();
            intruders.add(s);
            return true;
        } catch (IOException e) {
            closeQuietly(s);
            return false;
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already reset by the server
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private void log(String format, Object... args) {
        System.out.printf("[command-chaos %6.2fs] %s%n", seconds(), String.format(format, args));
    }
}
