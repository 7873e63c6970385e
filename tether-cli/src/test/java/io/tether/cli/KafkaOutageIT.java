package io.tether.cli;

import io.tether.client.ClientGroup;
import io.tether.client.TetherClient;
import io.tether.testkit.kafka.KafkaBroker;
import io.tether.testkit.kafka.ReadCommittedChecker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 14: what a Kafka outage does to {@code tether serve --kafka} (a process, a real broker on
 * loopback, devices through the SDK). Devices keep getting ACKs while the broker is down and the
 * forwarder's lag says so, then drains; retention gives the disk back; {@code --max-store-bytes}
 * stops ACKs instead of dropping; {@code --ack-after kafka} acknowledges nothing Kafka does not
 * have, through a kill -9. Each test has its own topics on the one broker of the class.
 */
class KafkaOutageIT {
    private static final ToLongFunction<ReadCommittedChecker.Entry> SEQ = e -> Long.parseLong(e.headerText("seq"));
    private static final Pattern LAG = Pattern.compile("(?m)^tether_forwarder_lag(?:\\{[^}]*})? ([0-9.eE+]+)$");
    private static KafkaBroker kafka;

    @TempDir
    Path dir;

    private ServerProcess server;
    private int adminPort;
    private ClientGroup group;
    private ScheduledExecutorService pacer;
    private final List<Device> devices = new ArrayList<>();
    private final List<ReadCommittedChecker> checkers = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private final long startNanos = System.nanoTime();

    @BeforeAll
    static void broker() throws IOException {
        Path data = Path.of("target", "kafka", "KafkaOutageIT");
        if (Files.exists(data)) {
            try (Stream<Path> all = Files.walk(data)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        kafka = KafkaBroker.builder().dataDir(data).start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @AfterEach
    void cleanUp() {
        if (pacer != null) {
            pacer.shutdownNow();
        }
        for (Device d : devices) {
            d.client.close();
        }
        if (group != null) {
            group.close();
        }
        for (ReadCommittedChecker c : checkers) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
        if (!kafka.isRunning()) {
            kafka.start();
        }
    }

    // ---- broker down under load ------------------------------------------------------------------

    /**
     * How long the broker stays down: 30 s in the test gate, 60 s for issue 14's figure
     * ({@code -Dtether.kafkaOutage.seconds=60}); a multiple of 10 (the lag is sampled every 10 s).
     */
    private static final int OUTAGE_SECONDS = Math.max(10, Integer.getInteger("tether.kafkaOutage.seconds", 30) / 10 * 10);

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void brokerDown_devicesKeepGettingAcks_lagRisesAndDrains_thenRetentionShrinksTheStore() throws Exception {
        String topics = startServer("down", "--retention", "10s");
        startDevices(40, 1_000);
        for (Device d : devices) {
            d.sendEvery(100);   // 400 messages/s, 1 KB each
        }
        Thread.sleep(5_000);
        awaitLag(0, Duration.ofSeconds(30));
        log("broker up: %d acked, lag 0", acked());

        kafka.stop();
        int ackedAtStop = acked();
        log("broker stopped at %d acked", ackedAtStop);
        List<Double> lagDuringOutage = new ArrayList<>();
        for (int i = 0; i < OUTAGE_SECONDS / 10; i++) {
            Thread.sleep(10_000);
            lagDuringOutage.add(lag());
            log("broker down %d s: %d acked, lag %.0f entries", (i + 1) * 10, acked(), lagDuringOutage.get(i));
        }
        int ackedInOutage = acked() - ackedAtStop;
        long peakBytes = sizeOf(server.dataDir());
        String health = get("/health");
        kafka.start();
        log("broker started again (%d ms); store %d bytes", kafka.lastStartDuration().toMillis(), peakBytes);
        for (Device d : devices) {
            d.stopSending();
        }
        long drainStart = System.nanoTime();
        awaitAllAcked(Duration.ofSeconds(60));
        awaitLag(0, Duration.ofSeconds(120));
        double drainSeconds = (System.nanoTime() - drainStart) / 1e9;
        int sent = acked();
        log("lag 0 again %.1f s after the broker came back; %d messages acked in all", drainSeconds, sent);

        // Retention (10 s) deletes what is forwarded; a compaction at most 10 s later frees the disk.
        long[] after = new long[1];
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(2))
                .until(() -> (after[0] = sizeOf(server.dataDir())) < peakBytes / 2);

        ReadCommittedChecker messages = checker(topics + ".messages");
        messages.pollUntil(st -> st.total() >= sent, Duration.ofSeconds(60));
        messages.poll(Duration.ofSeconds(1));
        String warnings = String.join("\n", Files.readAllLines(server.dataDir().resolveSibling("serve.log")));

        System.out.printf("%n=== KafkaOutageIT: broker down %d s under 400 msg/s ===%n", OUTAGE_SECONDS);
        System.out.printf("acked during the outage   %d (of %d in all)%n", ackedInOutage, sent);
        System.out.printf("lag every 10 s (entries)  %s%n", lagDuringOutage);
        System.out.printf("drained to lag 0 in       %.1f s%n", drainSeconds);
        System.out.printf("store on disk             %d bytes at the end of the outage, %d after retention%n", peakBytes,
                after[0]);
        System.out.printf("in Kafka (read_committed) %d records; duplicates %d devices; out of order %d devices%n%n",
                messages.total(), messages.duplicates(SEQ).size(), messages.outOfOrder(SEQ).size());

        assertThat(ackedInOutage).as("ACKs while Kafka was down").isGreaterThan(400 * OUTAGE_SECONDS / 2);
        assertThat(lagDuringOutage).isSorted().last().asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.DOUBLE)
                .isGreaterThan(ackedInOutage * 0.9);
        assertThat(health).contains("FAILING");
        assertThat(warnings.lines().filter(l -> l.contains("WARN") && l.contains("entries waiting")).count())
                .as("WARN lines for the outage: one per state change, not per retry").isBetween(1L, 3L);
        assertThat(after[0]).isLessThan(peakBytes / 2);
        assertExactlyOnce(messages);
    }

    // ---- --max-store-bytes ----------------------------------------------------------------------

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void maxStoreBytes_withTheBrokerDown_stopsAcks_dropsNothing_andDevicesResumeWhenItReturns() throws Exception {
        kafka.stop();
        String topics = startServer("bound", "--max-store-bytes", "256k");
        startDevices(20, 1_000);
        for (Device d : devices) {
            d.sendNow(100);   // 2,000 messages of 1 KB: 2 MB, eight times the bound
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> get("/health").contains("backlog"));
        Thread.sleep(2_000);   // ACKs of what was stored before the bound are on their way
        int plateau = acked();
        Thread.sleep(5_000);
        int stillAcked = acked();
        log("bound reached: %d acked, then %d after 5 s; /health: %s", plateau, stillAcked, get("/health"));

        kafka.start();
        awaitAllAcked(Duration.ofSeconds(120));
        log("broker back: all %d acked", acked());
        ReadCommittedChecker messages = checker(topics + ".messages");
        messages.pollUntil(st -> st.total() >= 2_000, Duration.ofSeconds(60));
        messages.poll(Duration.ofSeconds(1));

        System.out.printf("%n=== KafkaOutageIT: --max-store-bytes 256k with the broker down ===%n");
        System.out.printf("acked before the bound    %d of 2000 (then %d 5 s later)%n", plateau, stillAcked);
        System.out.printf("after the broker returned %d acked; in Kafka %d%n%n", acked(), messages.total());

        assertThat(plateau).as("the bound stopped ACKs well before everything").isLessThan(1_000);
        assertThat(stillAcked).as("no ACK while above the bound").isEqualTo(plateau);
        assertThat(acked()).isEqualTo(2_000);
        assertExactlyOnce(messages);
        assertThat(messages.total()).isEqualTo(2_000);
    }

    // ---- --ack-after kafka --------------------------------------------------------------------

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void ackAfterKafka_noAckWhileTheBrokerIsDown_andNothingAcknowledgedIsMissingAfterAKill9() throws Exception {
        kafka.stop();
        String topics = startServer("ackafter", "--ack-after", "kafka");
        startDevices(20, 1_000);
        for (Device d : devices) {
            d.sendNow(10);
        }
        Thread.sleep(5_000);
        int ackedWhileDown = acked();
        log("broker down: %d of 200 acked after 5 s", ackedWhileDown);
        kafka.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> acked() == 200);
        log("broker up: all 200 acked");

        for (Device d : devices) {
            d.sendEvery(20);   // 1,000 messages/s
        }
        Thread.sleep(3_000);
        int ackedAtKill = acked();
        int status = server.kill9();
        log("kill -9 (status %d) at %d acked", status, ackedAtKill);
        List<String> ackedKeys = new ArrayList<>(acknowledged);   // everything the devices saw acknowledged
        Thread.sleep(500);
        server.restart();
        Thread.sleep(3_000);
        for (Device d : devices) {
            d.stopSending();
        }
        awaitAllAcked(Duration.ofSeconds(60));

        ReadCommittedChecker messages = checker(topics + ".messages");
        int total = acked();
        messages.pollUntil(st -> st.total() >= total, Duration.ofSeconds(60));
        messages.poll(Duration.ofSeconds(1));
        java.util.Set<String> inKafka = new java.util.HashSet<>();
        for (Map.Entry<String, List<ReadCommittedChecker.Entry>> e : messages.recordsByKey().entrySet()) {
            for (ReadCommittedChecker.Entry r : e.getValue()) {
                inKafka.add(e.getKey() + "#" + r.headerText("seq"));
            }
        }
        long missing = ackedKeys.stream().filter(k -> !inKafka.contains(k)).count();

        System.out.printf("%n=== KafkaOutageIT: --ack-after kafka ===%n");
        System.out.printf("acked with the broker down  %d of 200 in 5 s%n", ackedWhileDown);
        System.out.printf("acked before kill -9        %d; of those missing from Kafka: %d%n", ackedKeys.size(), missing);
        System.out.printf("in all                      %d acked, %d in Kafka%n%n", total, messages.total());

        assertThat(ackedWhileDown).isZero();
        assertThat(status).isEqualTo(ServerProcess.KILLED);
        assertThat(ackedKeys.size()).isGreaterThan(200);
        assertThat(missing).isZero();
        assertExactlyOnce(messages);
        assertThat(messages.total()).isEqualTo(total);
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** Starts the gateway with topics of its own ({@code name}.messages, …); returns the prefix. */
    private String startServer(String name, String... extra) throws IOException {
        String prefix = "outage-" + name;
        adminPort = PrometheusServer.freePort();
        List<String> args = new ArrayList<>(List.of("--insecure-no-auth", "--flapping", "off",
                "--admin", "127.0.0.1:" + adminPort, "--kafka", kafka.bootstrap(),
                "--kafka-topic-messages", prefix + ".messages", "--kafka-topic-events", prefix + ".events",
                "--kafka-topic-command-results", prefix + ".command-results"));
        args.addAll(List.of(extra));
        if (kafka.isRunning()) {
            kafka.createTopics(prefix + ".messages", prefix + ".events", prefix + ".command-results");
        }
        server = ServerProcess.start(Files.createDirectories(dir.resolve(name)), args.toArray(String[]::new));
        return prefix;
    }

    private final ConcurrentLinkedQueue<String> acknowledged = new ConcurrentLinkedQueue<>();
    private final AtomicInteger ackCount = new AtomicInteger();
    private final AtomicInteger issued = new AtomicInteger();

    private int acked() {
        return ackCount.get();
    }

    private void startDevices(int n, int payloadBytes) throws Exception {
        group = ClientGroup.create(2);
        pacer = Executors.newScheduledThreadPool(1);
        List<CompletableFuture<Void>> up = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Device d = new Device("dev-" + i, payloadBytes);
            devices.add(d);
            up.add(d.client.connect());
        }
        CompletableFuture.allOf(up.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    }

    private final class Device {
        final String id;
        final TetherClient client;
        final byte[] payload;
        private volatile java.util.concurrent.ScheduledFuture<?> task;

        Device(String id, int payloadBytes) {
            this.id = id;
            this.payload = new byte[payloadBytes];
            this.client = TetherClient.builder().target("127.0.0.1", server.port()).deviceId(id)
                    .heartbeat(Duration.ofSeconds(2)).backoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                    .outboxCapacity(100_000).group(group).build();
        }

        void sendNow(int n) {
            for (int i = 0; i < n; i++) {
                send();
            }
        }

        void sendEvery(long millis) {
            task = pacer.scheduleAtFixedRate(this::send, (long) (Math.random() * millis), millis, TimeUnit.MILLISECONDS);
        }

        void stopSending() {
            if (task != null) {
                task.cancel(false);
            }
        }

        private void send() {
            issued.incrementAndGet();
            client.send(payload).whenComplete((seq, e) -> {
                if (e == null) {
                    acknowledged.add(id + "#" + seq);
                    ackCount.incrementAndGet();
                }
            });
        }
    }

    private void awaitAllAcked(Duration bound) {
        await().atMost(bound).until(() -> acked() == issued.get());
    }

    private double lag() throws Exception {
        Matcher m = LAG.matcher(get("/metrics"));
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private void awaitLag(double value, Duration bound) {
        await().atMost(bound).pollInterval(Duration.ofMillis(500)).until(() -> lag() == value);
    }

    private String get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return r.body();
    }

    private ReadCommittedChecker checker(String topic) {
        ReadCommittedChecker c = ReadCommittedChecker.create(kafka.bootstrap(), topic);
        checkers.add(c);
        return c;
    }

    /** Every device's records: seqs 1, 2, 3, … each once, in order. */
    private static void assertExactlyOnce(ReadCommittedChecker messages) {
        assertThat(messages.duplicates(SEQ)).as("duplicates").isEmpty();
        assertThat(messages.outOfOrder(SEQ)).as("out of order").isEmpty();
        for (Map.Entry<String, List<ReadCommittedChecker.Entry>> e : messages.recordsByKey().entrySet()) {
            List<ReadCommittedChecker.Entry> list = e.getValue();
            for (int i = 0; i < list.size(); i++) {
                assertThat(SEQ.applyAsLong(list.get(i))).as("%s record %d", e.getKey(), i).isEqualTo(i + 1);
            }
        }
    }

    private static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private void log(String format, Object... args) {
        System.out.printf("[%6.1f s] %s%n", (System.nanoTime() - startNanos) / 1e9, String.format(format, args));
    }
}
