package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.cli.TetherCommand;
import io.tether.testkit.fault.Fault;
import io.tether.testkit.fault.Match;
import io.tether.testkit.fault.NamespaceProcess;
import io.tether.testkit.fault.NetworkLab;
import io.tether.testkit.kafka.KafkaBroker;
import io.tether.testkit.kafka.ReadCommittedChecker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14, end to end with real parts: 200 devices ({@code tether sim}, paced) send 500 messages
 * each to {@code tether serve --kafka}, which forwards them to a real one-node Kafka broker. The
 * gateway runs in the lab's server namespace, the devices and the broker in the device namespace
 * (the broker on an address of its own, so a fault can cut the gateway from the broker and leave
 * the devices alone). While the devices send, the test kills the gateway with SIGKILL and
 * restarts it, stops and starts the broker, and cuts the network between gateway and broker with
 * iptables, then kills the gateway once more. Once every message is acknowledged, a checker that
 * reads {@code tether.messages} and {@code tether.events} with {@code read_committed} finds every
 * message exactly once, in per-device seq order, and one open and one close for every session.
 */
class KafkaChaosIT {
    private static final int DEVICES = 200;
    private static final int MESSAGES = 500;
    private static final int TOTAL = DEVICES * MESSAGES;
    private static final int PORT = 7400;
    /** 500 messages 60 ms apart: about 30 s of sending, 3,300 messages/s in all. */
    private static final String INTERVAL = "60ms";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ToLongFunction<ReadCommittedChecker.Entry> SEQ = e -> Long.parseLong(e.headerText("seq"));
    private static final List<String> JVM = List.of("-Xms64m", "-Xmx384m", "-Xss256k", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1");

    private NetworkLab lab;
    private KafkaBroker kafka;
    private NamespaceProcess gateway;
    private NamespaceProcess sim;
    private final List<ReadCommittedChecker> checkers = new ArrayList<>();
    private long startNanos;

    @AfterEach
    void cleanUp() {
        for (ReadCommittedChecker c : checkers) {
            c.close();
        }
        if (sim != null) {
            sim.kill();
        }
        if (gateway != null) {
            gateway.kill();
        }
        if (kafka != null) {
            kafka.close();
        }
        if (lab != null) {
            lab.close();
        }
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void everyAcknowledgedMessage_isInKafkaExactlyOnce_inOrder_throughKill9BrokerRestartAndANetworkCut() throws Exception {
        Optional<String> why = NetworkLab.unavailableReason();
        Assumptions.assumeTrue(why.isEmpty(), () -> "fault harness unavailable: " + why.get());
        startNanos = System.nanoTime();
        Path work = fresh(Path.of("target", "kafka-chaos"));
        lab = NetworkLab.create(work.resolve("logs"));
        InetAddress brokerAddress = lab.device().addAddress();
        kafka = KafkaBroker.builder().dataDir(work.resolve("kafka")).namespace(lab.device())
                .host(brokerAddress.getHostAddress()).start();
        kafka.createTopics("tether.messages", "tether.events", "tether.command-results");
        log("broker up at %s in %s (%d ms)", kafka.bootstrap(), lab.device().name(), kafka.lastStartDuration().toMillis());

        Path dataDir = work.resolve("data");
        startGateway(dataDir);
        String target = lab.server().address().getHostAddress() + ":" + PORT;
        sim = lab.device().startJava("sim", TetherCommand.class.getName(), JVM, List.of("sim", "--target", target,
                "--devices", String.valueOf(DEVICES), "--messages", String.valueOf(MESSAGES), "--interval", INTERVAL,
                "--heartbeat", "2s", "--duration", "300s", "--stop-when-acked"));

        Thread.sleep(5_000);
        killAndRestart(dataDir, "kill -9 #1");
        Thread.sleep(3_000);
        log("broker stop");
        kafka.stop();
        Thread.sleep(3_000);
        kafka.start();
        log("broker started again (%d ms)", kafka.lastStartDuration().toMillis());
        try (Fault cut = lab.device().blackhole(Match.address(brokerAddress))) {
            log("network cut between gateway and broker: %s", cut);
            Thread.sleep(8_000);
        }
        log("network restored");
        Thread.sleep(2_000);
        killAndRestart(dataDir, "kill -9 #2");

        String summary = sim.awaitLine(l -> l.startsWith("{") && l.contains("\"messagesAcked\""), Duration.ofSeconds(240),
                "the simulator's summary");
        JsonNode s = JSON.readTree(summary);
        log("sim: %s", summary);
        assertThat(s.get("messagesAcked").asLong()).as("messages the devices saw acknowledged").isEqualTo(TOTAL);
        sim.stop(Duration.ofSeconds(30));

        ReadCommittedChecker messages = checker("tether.messages");
        messages.pollUntil(st -> st.total() >= TOTAL, Duration.ofSeconds(120));
        messages.poll(Duration.ofSeconds(2));   // anything beyond TOTAL would be a duplicate
        Map<String, List<ReadCommittedChecker.Entry>> byDevice = messages.recordsByKey();
        int missing = 0;
        int wrongSize = 0;
        for (int d = 0; d < DEVICES; d++) {
            List<ReadCommittedChecker.Entry> got = byDevice.getOrDefault("sim-" + d, List.of());
            for (int seq = 1; seq <= MESSAGES; seq++) {
                int i = seq - 1;
                if (i >= got.size() || SEQ.applyAsLong(got.get(i)) != seq) {
                    missing++;
                }
            }
            wrongSize += (int) got.stream().filter(e -> e.value().length != 100).count();
        }
        Map<String, List<ReadCommittedChecker.Entry>> duplicates = messages.duplicates(SEQ);
        Map<String, List<ReadCommittedChecker.Entry>> outOfOrder = messages.outOfOrder(SEQ);

        // Every session: one open and one close. The gateway stops gracefully first, so the
        // sessions still open are closed and their events forwarded.
        gateway.stop(Duration.ofSeconds(20));
        startGateway(dataDir);
        ReadCommittedChecker events = checker("tether.events");
        Map<Long, int[]> sessions = new TreeMap<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        do {
            events.poll(Duration.ofSeconds(1));
            sessions = sessionEvents(events);
        } while (System.nanoTime() < deadline && sessions.values().stream().anyMatch(c -> c[0] != 1 || c[1] != 1));
        long unclean = events.recordsByKey().values().stream().flatMap(List::stream)
                .filter(e -> e.valueText().contains("\"unclean\":true")).count();
        long badSessions = sessions.values().stream().filter(c -> c[0] != 1 || c[1] != 1).count();
        Map<Long, int[]> finalSessions = sessions;
        long messageSessions = byDevice.values().stream().flatMap(List::stream)
                .map(e -> Long.parseLong(e.headerText("session"))).distinct()
                .filter(id -> !sessionsHave(id, finalSessions)).count();

        System.out.printf("%n=== KafkaChaosIT: device messages and session events in Kafka, read_committed ===%n");
        System.out.printf("devices x messages        %d x %d = %d, acknowledged (sim) %d%n", DEVICES, MESSAGES, TOTAL,
                s.get("messagesAcked").asLong());
        System.out.printf("tether.messages           %d records, %d devices; missing %d, duplicates %d devices, "
                        + "out of order %d devices, wrong size %d%n", messages.total(), byDevice.size(), missing,
                duplicates.size(), outOfOrder.size(), wrongSize);
        System.out.printf("tether.events             %d records, %d sessions; not exactly one open + one close: %d; "
                        + "closed at restart after kill -9 (unclean): %d; message sessions without events: %d%n",
                events.total(), sessions.size(), badSessions, unclean, messageSessions);
        System.out.printf("faults                    kill -9 x2, broker stop/start x1, network cut 8 s x1%n");
        System.out.printf("elapsed                   %.1f s%n%n", (System.nanoTime() - startNanos) / 1e9);

        assertThat(messages.total()).isEqualTo(TOTAL);
        assertThat(missing).isZero();
        assertThat(duplicates).isEmpty();
        assertThat(outOfOrder).isEmpty();
        assertThat(wrongSize).isZero();
        assertThat(badSessions).as("sessions without exactly one open and one close").isZero();
        assertThat(unclean).as("sessions closed by a restart after kill -9").isPositive();
        assertThat(messageSessions).as("sessions that carried messages but have no events").isZero();
    }

    private void startGateway(Path dataDir) {
        gateway = lab.server().startJava("gateway", TetherCommand.class.getName(), JVM, List.of("serve",
                "--insecure-no-auth", "--bind", lab.server().address().getHostAddress(), "--port", String.valueOf(PORT),
                "--data-dir", dataDir.toAbsolutePath().toString(), "--kafka", kafka.bootstrap(), "--flapping", "off",
                "--heartbeat", "2s", "--drain", "300ms", "--shutdown-timeout", "5s"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!lab.server().exec("ss", "-Hltn", "sport = :" + PORT).stdout().contains(":" + PORT)) {
            assertThat(gateway.isAlive()).as("the gateway runs: %s", gateway.errorLines()).isTrue();
            assertThat(System.nanoTime()).as("the gateway listens within 60 s").isLessThan(deadline);
            sleep(100);
        }
        log("gateway listening in %s", lab.server().name());
    }

    private void killAndRestart(Path dataDir, String what) {
        gateway.kill();
        log("%s of the gateway", what);
        sleep(500);
        startGateway(dataDir);
    }

    private ReadCommittedChecker checker(String topic) {
        ReadCommittedChecker c = ReadCommittedChecker.create(kafka.controlBootstrap(), topic);
        checkers.add(c);
        return c;
    }

    /** Session id → {opens, closes} from the events' JSON. */
    private static Map<Long, int[]> sessionEvents(ReadCommittedChecker events) throws IOException {
        Map<Long, int[]> out = new HashMap<>();
        for (List<ReadCommittedChecker.Entry> list : events.recordsByKey().values()) {
            for (ReadCommittedChecker.Entry e : list) {
                JsonNode j = JSON.readTree(e.value());
                String kind = j.path("event").asText();
                if (!kind.equals("open") && !kind.equals("close")) {
                    continue;
                }
                int[] c = out.computeIfAbsent(j.path("session").asLong(), k -> new int[2]);
                c[kind.equals("open") ? 0 : 1]++;
            }
        }
        return out;
    }

    private static boolean sessionsHave(long id, Map<Long, int[]> sessions) {
        int[] c = sessions.get(id);
        return c != null && c[0] == 1 && c[1] == 1;
    }

    private static Path fresh(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        return Files.createDirectories(dir);
    }

    private void log(String format, Object... args) {
        System.out.printf("[%6.1f s] %s%n", (System.nanoTime() - startNanos) / 1e9, String.format(format, args));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
