package io.tether.testkit.kafka;

import io.tether.testkit.fault.Fault;
import io.tether.testkit.fault.Match;
import io.tether.testkit.fault.NamespaceProcess;
import io.tether.testkit.fault.NetworkLab;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A real broker: transactions, a clean restart, a kill -9, a failed start, and an iptables cut. */
class KafkaBrokerIT {
    private static final String TOPIC = "events";
    private static final int DEVICES = 10;
    private static final ToLongFunction<ReadCommittedChecker.Entry> SEQ = e -> Long.parseLong(e.headerText("seq"));

    /** A new, empty data directory under target/kafka (a previous run's is removed). */
    private static Path freshDir(String name) throws IOException {
        Path dir = Path.of("target", "kafka", name);
        if (Files.exists(dir)) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        return dir;
    }

    private static KafkaProducer<String, String> transactionalProducer(KafkaBroker kafka) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-producer");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
        producer.initTransactions();
        return producer;
    }

    /**
     * One transaction: for each device, the seqs {@code [from, to)}, interleaved across devices
     * as a gateway would send them; committed or aborted.
     */
    private static void transaction(KafkaProducer<String, String> producer, int from, int to, boolean commit) {
        producer.beginTransaction();
        for (int seq = from; seq < to; seq++) {
            for (int d = 0; d < DEVICES; d++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(TOPIC, "device-" + d,
                        (commit ? "committed " : "aborted ") + seq);
                r.headers().add("seq", String.valueOf(seq).getBytes(StandardCharsets.UTF_8));
                producer.send(r);
            }
        }
        if (commit) {
            producer.commitTransaction();
        } else {
            producer.flush(); // the aborted records are in the log, marked aborted, not just dropped
            producer.abortTransaction();
        }
    }

    /** Reads everything committed and checks it is exactly seqs 0 to perDevice-1 of each device, once, in order. */
    private static void assertCommitted(KafkaBroker kafka, int perDevice) {
        try (ReadCommittedChecker c = ReadCommittedChecker.create(kafka.controlBootstrap(), TOPIC)) {
            ReadCommittedChecker.Stats s = c.pollUntil(st -> st.caughtUp() && st.total() >= DEVICES * perDevice,
                    Duration.ofSeconds(30));
            assertThat(s.total()).as("records read").isEqualTo(DEVICES * perDevice);
            assertThat(c.keys()).hasSize(DEVICES);
            assertThat(c.duplicates(SEQ)).as("duplicates").isEmpty();
            assertThat(c.outOfOrder(SEQ)).as("out of order").isEmpty();
            assertThat(c.keysInManyPartitions()).isEmpty();
            List<Long> expected = IntStream.range(0, perDevice).mapToObj(i -> (long) i).toList();
            for (int d = 0; d < DEVICES; d++) {
                List<ReadCommittedChecker.Entry> rs = c.records("device-" + d);
                assertThat(rs.stream().mapToLong(SEQ).boxed().toList()).as("seqs of device-" + d).isEqualTo(expected);
                assertThat(rs).allSatisfy(e -> assertThat(e.valueText()).startsWith("committed "));
            }
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void committedTransactions_readOnceInOrder_acrossStopStartAndKill() throws Exception {
        long t0 = System.nanoTime();
        try (KafkaBroker kafka = KafkaBroker.builder().dataDir(freshDir("KafkaBrokerIT-transactions")).start()) {
            System.err.println("KafkaBrokerIT: first start (format + start) took " + kafka.lastStartDuration().toMillis() + " ms");
            kafka.createTopics(TOPIC);
            try (KafkaProducer<String, String> producer = transactionalProducer(kafka)) {
                transaction(producer, 0, 30, true);
                transaction(producer, 30, 40, false); // 100 records, aborted
                transaction(producer, 30, 60, true);
                transaction(producer, 60, 100, true); // 1,000 committed in all
            }
            assertCommitted(kafka, 100);

            kafka.stop();
            assertThat(kafka.isRunning()).isFalse();
            kafka.start();
            System.err.println("KafkaBrokerIT: restart after stop took " + kafka.lastStartDuration().toMillis() + " ms");
            assertCommitted(kafka, 100);
            try (KafkaProducer<String, String> producer = transactionalProducer(kafka)) {
                transaction(producer, 100, 110, true);
            }
            assertCommitted(kafka, 110);

            kafka.kill();
            assertThat(kafka.isRunning()).isFalse();
            kafka.start();
            System.err.println("KafkaBrokerIT: restart after kill took " + kafka.lastStartDuration().toMillis() + " ms");
            assertCommitted(kafka, 110);
            try (KafkaProducer<String, String> producer = transactionalProducer(kafka)) {
                transaction(producer, 110, 120, true);
            }
            assertCommitted(kafka, 120);
        }
        System.err.println("KafkaBrokerIT: transactions test took " + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void portInUse_startFailsWithTheBrokersLog() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            KafkaBroker.Builder b = KafkaBroker.builder().dataDir(freshDir("KafkaBrokerIT-port-in-use"))
                    .port(taken.getLocalPort());
            assertThatThrownBy(b::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("did not come up")
                    .hasMessageContaining("exited with code")
                    .hasMessageContaining("broker.log, last lines:");
            assertThat(Files.readString(Path.of("target/kafka/KafkaBrokerIT-port-in-use/broker.log")))
                    .contains("Address already in use");
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void dropBetweenProducerAndBroker_timesOutSends_untilRemoved() throws Exception {
        NetworkLab.unavailableReason().ifPresent(r -> System.err.println("SKIPPED KafkaBrokerIT namespace test: " + r));
        assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> NetworkLab.unavailableReason().get());
        try (NetworkLab lab = NetworkLab.create(Path.of("target", "fault-logs", "KafkaBrokerIT-drop"))) {
            // The broker on an address of its own in the device namespace: a fault on that address
            // cuts it alone; the producer plays the gateway, in the server namespace.
            InetAddress brokerAddress = lab.device().addAddress();
            try (KafkaBroker kafka = KafkaBroker.builder().dataDir(freshDir("KafkaBrokerIT-drop"))
                    .namespace(lab.device()).host(brokerAddress.getHostAddress()).start()) {
                System.err.println("KafkaBrokerIT: start in a namespace took " + kafka.lastStartDuration().toMillis() + " ms");
                kafka.createTopics("drop");
                NamespaceProcess producer = lab.server().startJava("producer", ProducerMain.class.getName(),
                        List.of("-Xmx128m", "-XX:TieredStopAtLevel=1"), List.of(kafka.bootstrap(), "drop"));
                producer.awaitLine("ready"::equals, Duration.ofSeconds(30), "producer ready");
                producer.send("send 1");
                producer.awaitLine(l -> l.startsWith("acked 1") || l.startsWith("failed 1"), Duration.ofSeconds(30), "send 1");
                assertThat(producer.lines()).contains("acked 1");

                Fault drop = lab.device().blackhole(Match.address(brokerAddress));
                try {
                    long cut = System.nanoTime();
                    producer.send("send 2");
                    String two = producer.awaitLine(l -> l.startsWith("acked 2") || l.startsWith("failed 2"),
                            Duration.ofSeconds(30), "send 2 to end");
                    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cut);
                    assertThat(two).startsWith("failed 2").contains("TimeoutException");
                    // delivery.timeout.ms is 5 s; 1 s of slack below for timer granularity, and the
                    // send really did wait on the network rather than fail at once.
                    assertThat(took).as("ms until the send failed").isBetween(4_000L, 20_000L);
                } finally {
                    drop.close();
                }

                producer.send("send 3");
                producer.awaitLine(l -> l.startsWith("acked 3") || l.startsWith("failed 3"), Duration.ofSeconds(30), "send 3");
                assertThat(producer.lines()).as("after the DROP is removed").contains("acked 3");

                // The test JVM reads through the side door, which the cut never touched.
                try (ReadCommittedChecker c = ReadCommittedChecker.create(kafka.controlBootstrap(), "drop")) {
                    c.pollUntil(s -> s.caughtUp() && s.total() >= 2, Duration.ofSeconds(30));
                    // Record 2 may or may not be there: its request may have reached the broker
                    // by a TCP retransmission after the DROP went, after the producer gave up on it.
                    List<String> values = c.records("k").stream().map(ReadCommittedChecker.Entry::valueText).toList();
                    assertThat(values).containsSubsequence("1", "3").containsOnlyOnce("1", "3");
                }
            }
        }
    }
}
