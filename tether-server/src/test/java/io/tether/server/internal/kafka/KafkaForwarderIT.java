package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.KafkaOptions;
import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.MemoryFeed;
import io.tether.testkit.kafka.KafkaBroker;
import io.tether.testkit.kafka.ReadCommittedChecker;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.InterruptException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The forwarder against a real Kafka broker (a KRaft node in its own process): what a
 * read_committed consumer sees across a killed broker and a forwarder that stops mid-transaction.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class KafkaForwarderIT {
    private static final int DEVICES = 200;
    private static final int PER_DEVICE = 500;

    /** One broker for the class (a start is ~10 s of the gate); each test has topics and a gateway id of its own. */
    private static KafkaBroker kafka;
    private KafkaForwarder forwarder;
    private KafkaForwarder other;
    private KafkaOptions.Topics topics;
    private String gatewayId;

    @BeforeAll
    static void broker() {
        kafka = KafkaBroker.builder()
                .dataDir(Path.of("target", "kafka", "KafkaForwarderIT-" + System.nanoTime()))
                .start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @BeforeEach
    void names(TestInfo test) {
        String t = test.getTestMethod().orElseThrow().getName().replaceAll("[^A-Za-z0-9]", "").substring(0, 20);
        topics = KafkaOptions.Topics.DEFAULT.withMessages(t + ".messages").withEvents(t + ".events")
                .withCommandResults(t + ".command-results").withOffsets(t + ".offsets");
        gatewayId = "it-gw-" + t;
        if (!kafka.isRunning()) {
            kafka.start(); // a test that failed between its kill and its start
        }
    }

    @AfterEach
    void stop() {
        for (KafkaForwarder f : new KafkaForwarder[] {forwarder, other}) {
            if (f != null) {
                f.close(Duration.ofSeconds(2));
            }
        }
    }

    private KafkaOptions options() {
        return KafkaOptions.builder(kafka.bootstrap()).gatewayId(gatewayId).topics(topics).build();
    }

    private static long seq(ReadCommittedChecker.Entry e) {
        return Long.parseLong(e.headerText("seq"));
    }

    private static long offset(ReadCommittedChecker.Entry e) {
        return Long.parseLong(e.headerText("offset"));
    }

    @Test
    void brokerKilledAndRestartedMidStream_everyMessageAndEventOnceInDeviceOrder() throws Exception {
        MemoryFeed feed = new MemoryFeed(DEVICES * PER_DEVICE + 2 * DEVICES);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        forwarder = KafkaForwarder.create(feed, new KafkaClients(options()), meters, Clock.systemUTC()).start();
        for (int d = 0; d < DEVICES; d++) {
            feed.append(Feed.Kind.EVENT, "dev-" + d, d + 1, 0, 1, ("{\"event\":\"open\",\"device\":\"dev-" + d + "\"}")
                    .getBytes(StandardCharsets.UTF_8));
        }
        byte[] payload = new byte[100];
        // A third before the kill, a third while the broker is down, a third after it is back.
        int[] cut = {PER_DEVICE / 3, 2 * PER_DEVICE / 3, PER_DEVICE};
        int seq = 1;
        for (int phase = 0; phase < 3; phase++) {
            for (; seq <= cut[phase]; seq++) {
                for (int d = 0; d < DEVICES; d++) {
                    feed.appendMessage("dev-" + d, d + 1, seq, System.currentTimeMillis(), payload);
                }
            }
            if (phase == 0) {
                // Mid-stream: entries are in flight, or the next third is about to be, when the
                // broker dies.
                await().atMost(Duration.ofSeconds(60)).until(() -> feed.forwarded() > 1_000);
                kafka.kill();
            } else if (phase == 1) {
                // FAILING once the forwarder has entries that Kafka does not take: waited for
                // after this third is appended, because a forwarder that had caught up before the
                // kill has nothing to send, and so nothing to fail, until then.
                await().atMost(Duration.ofSeconds(60)).until(() -> forwarder.state() == KafkaForwarder.State.FAILING);
                long lag = forwarder.status().lag();
                assertThat(lag).as("lag while the broker is down").isPositive();
                assertThat(meters.get("tether.forwarder.lag").gauge().value()).isEqualTo((double) forwarder.lag());
                kafka.start();
            }
        }
        for (int d = 0; d < DEVICES; d++) {
            feed.append(Feed.Kind.EVENT, "dev-" + d, d + 1, 0, 2, ("{\"event\":\"close\",\"device\":\"dev-" + d + "\"}")
                    .getBytes(StandardCharsets.UTF_8));
        }
        long head = feed.head();
        await().atMost(Duration.ofSeconds(180)).conditionEvaluationListener(c -> {
            if (c.getElapsedTimeInMS() % 5_000 < 100) {
                System.out.println("KafkaForwarderIT: " + forwarder.status());
            }
        }).until(() -> feed.forwarded() == head);
        assertThat(forwarder.status().lag()).isZero();

        int messages = DEVICES * PER_DEVICE;
        try (ReadCommittedChecker m = ReadCommittedChecker.create(kafka.controlBootstrap(), topics.messages());
             ReadCommittedChecker e = ReadCommittedChecker.create(kafka.controlBootstrap(), topics.events())) {
            m.pollUntil(s -> s.total() >= messages && s.caughtUp(), Duration.ofSeconds(90));
            e.pollUntil(s -> s.total() >= 2 * DEVICES && s.caughtUp(), Duration.ofSeconds(30));
            System.out.printf("KafkaForwarderIT: %,d messages and %,d events read_committed from %d devices; "
                            + "%.0f transactions committed, %.0f aborted%n", m.total(), e.total(), m.keys().size(),
                    meters.get("tether.forwarder.transactions").tag("result", "committed").counter().count(),
                    meters.get("tether.forwarder.transactions").tag("result", "aborted").counter().count());
            assertThat(m.total()).isEqualTo(messages);
            assertThat(m.keys()).hasSize(DEVICES);
            assertThat(m.duplicates(KafkaForwarderIT::seq)).isEmpty();
            assertThat(m.outOfOrder(KafkaForwarderIT::seq)).isEmpty();
            for (String device : m.keys()) {
                assertThat(m.records(device)).hasSize(PER_DEVICE);
            }
            assertThat(e.total()).isEqualTo(2 * DEVICES);
            assertThat(e.duplicates(KafkaForwarderIT::offset)).isEmpty();
            for (String device : e.keys()) {
                assertThat(e.records(device)).extracting(ReadCommittedChecker.Entry::valueText)
                        .containsExactly("{\"event\":\"open\",\"device\":\"" + device + "\"}",
                                "{\"event\":\"close\",\"device\":\"" + device + "\"}");
            }
        }
    }

    @Test
    void forwarderStoppedMidTransaction_aNewOneWithTheSameGatewayIdFencesIt_andNothingIsDoubled() throws Exception {
        MemoryFeed feed = new MemoryFeed(DEVICES * PER_DEVICE);
        byte[] payload = new byte[100];
        for (int seq = 1; seq <= 100; seq++) {
            for (int d = 0; d < DEVICES; d++) {
                feed.appendMessage("dev-" + d, 1, seq, System.currentTimeMillis(), payload);
            }
        }
        KafkaClients clients = new KafkaClients(KafkaOptions.builder(kafka.bootstrap()).gatewayId(gatewayId).topics(topics)
                .maxTransactionEntries(1_000).build());
        // The first forwarder freezes inside a transaction after 5,500 sends: 5 transactions
        // committed, the 6th open with 500 records sent, as a process that died there leaves it.
        CountDownLatch frozen = new CountDownLatch(1);
        KafkaSink real = new KafkaSink(clients);
        KafkaForwarder.Sink freezing = new DelegatingSink(real) {
            @Override
            public Producer<byte[], byte[]> newProducer() {
                return freezeAfter(real.newProducer(), 5_500, frozen);
            }
        };
        forwarder = new KafkaForwarder(feed, freezing, topics, gatewayId, 1_000, Duration.ZERO,
                new SimpleMeterRegistry(), Clock.systemUTC()).start();
        assertThat(frozen.await(60, TimeUnit.SECONDS)).as("the first forwarder reached its freeze").isTrue();
        assertThat(feed.forwarded()).isEqualTo(5_000);

        other = KafkaForwarder.create(feed, clients, new SimpleMeterRegistry(), Clock.systemUTC()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> feed.forwarded() == 20_000);
        assertThat(other.position()).isEqualTo(20_000);

        try (ReadCommittedChecker m = ReadCommittedChecker.create(kafka.controlBootstrap(), topics.messages())) {
            m.pollUntil(s -> s.total() >= 20_000 && s.caughtUp(), Duration.ofSeconds(60));
            assertThat(m.total()).isEqualTo(20_000);
            assertThat(m.duplicates(KafkaForwarderIT::seq)).isEmpty();
            assertThat(m.outOfOrder(KafkaForwarderIT::seq)).isEmpty();
        }
        // The old one, woken, is fenced: it must not write anything a read_committed consumer sees.
        forwarder.close(Duration.ofMillis(200));
        forwarder = null;
        try (ReadCommittedChecker m = ReadCommittedChecker.create(kafka.controlBootstrap(), topics.messages())) {
            m.pollUntil(s -> s.caughtUp(), Duration.ofSeconds(30));
            assertThat(m.total()).isEqualTo(20_000);
        }
    }

    @Test
    void restartWithTheSameGatewayId_resumesFromThePositionInKafka_notTheFeedsRecord() throws Exception {
        MemoryFeed feed = new MemoryFeed(10_000);
        for (int seq = 1; seq <= 3_000; seq++) {
            feed.appendMessage("dev-" + (seq % 7), 1, seq, seq, new byte[10]);
        }
        KafkaClients clients = new KafkaClients(options());
        forwarder = KafkaForwarder.create(feed, clients, new SimpleMeterRegistry(), Clock.systemUTC()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> feed.forwarded() == 3_000);
        forwarder.close(Duration.ofSeconds(5));
        forwarder = null;

        // A feed that did not hear of the last commits (as after a crash between the commit
        // and forwarded()): Kafka's position wins, and nothing is sent twice.
        MemoryFeed again = new MemoryFeed(10_000);
        for (int seq = 1; seq <= 3_500; seq++) {
            again.appendMessage("dev-" + (seq % 7), 1, seq, seq, new byte[10]);
        }
        again.forwarded(1_000);
        forwarder = KafkaForwarder.create(again, clients, new SimpleMeterRegistry(), Clock.systemUTC()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> again.forwarded() == 3_500);
        try (ReadCommittedChecker m = ReadCommittedChecker.create(kafka.controlBootstrap(), topics.messages())) {
            m.pollUntil(s -> s.total() >= 3_500 && s.caughtUp(), Duration.ofSeconds(60));
            assertThat(m.total()).isEqualTo(3_500);
            assertThat(m.duplicates(KafkaForwarderIT::offset)).isEmpty();
        }
    }

    /** A producer whose {@code send} blocks, after {@code after} sends, until its thread is interrupted. */
    @SuppressWarnings("unchecked")
    private static Producer<byte[], byte[]> freezeAfter(Producer<byte[], byte[]> real, long after, CountDownLatch frozen) {
        AtomicLong sends = new AtomicLong();
        return (Producer<byte[], byte[]>) Proxy.newProxyInstance(Producer.class.getClassLoader(),
                new Class<?>[] {Producer.class}, (proxy, method, args) -> {
                    if (method.getName().equals("send") && sends.incrementAndGet() > after) {
                        frozen.countDown();
                        try {
                            new CountDownLatch(1).await();
                        } catch (InterruptedException e) {
                            throw new InterruptException(e);
                        }
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static class DelegatingSink implements KafkaForwarder.Sink {
        private final KafkaForwarder.Sink d;

        DelegatingSink(KafkaForwarder.Sink d) {
            this.d = d;
        }

        @Override
        public Producer<byte[], byte[]> newProducer() {
            return d.newProducer();
        }

        @Override
        public void prepareTopics() throws Exception {
            d.prepareTopics();
        }

        @Override
        public long committedPosition() throws Exception {
            return d.committedPosition();
        }

        @Override
        public String describe() {
            return d.describe();
        }

        @Override
        public void close() {
            d.close();
        }
    }
}
