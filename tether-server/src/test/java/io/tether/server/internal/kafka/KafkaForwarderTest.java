package io.tether.server.internal.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.KafkaOptions;
import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.MemoryFeed;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The forwarder's state machine on Kafka's MockProducer, whose {@code history()} holds only the
 * records of committed transactions: what a read_committed consumer would see. The real broker
 * proves the rest (KafkaForwarderIT).
 */
class KafkaForwarderTest {
    private static final KafkaOptions.Topics TOPICS = KafkaOptions.Topics.DEFAULT;

    private final MemoryFeed feed = new MemoryFeed(100_000);
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final FakeSink sink = new FakeSink();
    private KafkaForwarder forwarder;

    @AfterEach
    void stop() {
        if (forwarder != null) {
            forwarder.close(Duration.ofSeconds(2));
        }
    }

    private KafkaForwarder start(int maxEntries) {
        forwarder = new KafkaForwarder(feed, sink, TOPICS, "gw-1", maxEntries, Duration.ZERO, meters, Clock.systemUTC());
        return forwarder.start();
    }

    private void messages(int n) {
        for (int i = 1; i <= n; i++) {
            feed.appendMessage("dev-" + (i % 3), 7, i, 1_000 + i, ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void everyEntryGoesToItsTopicInFeedOrder_withHeadersAndThePositionInTheSameTransaction() {
        messages(5);
        feed.append(Feed.Kind.EVENT, "dev-1", 7, 0, 2_000, "{\"event\":\"close\"}".getBytes(StandardCharsets.UTF_8));
        feed.append(Feed.Kind.COMMAND, "dev-2", 0, 4, 2_001, "{\"state\":\"QUEUED\"}".getBytes(StandardCharsets.UTF_8));
        start(1_000);

        await().atMost(Duration.ofSeconds(5)).until(() -> feed.forwarded() == 7);
        List<ProducerRecord<byte[], byte[]>> sent = sink.committed();
        List<ProducerRecord<byte[], byte[]>> data = sent.stream().filter(r -> !r.topic().equals(TOPICS.offsets())).toList();
        assertThat(data).extracting(ProducerRecord::topic).containsExactly("tether.messages", "tether.messages",
                "tether.messages", "tether.messages", "tether.messages", "tether.events", "tether.command-results");
        ProducerRecord<byte[], byte[]> first = data.get(0);
        assertThat(new String(first.key(), StandardCharsets.UTF_8)).isEqualTo("dev-1");
        assertThat(new String(first.value(), StandardCharsets.UTF_8)).isEqualTo("m1");
        assertThat(header(first, "seq")).isEqualTo("1");
        assertThat(header(first, "session")).isEqualTo("7");
        assertThat(header(first, "receivedAt")).isEqualTo("1001");
        assertThat(header(first, "offset")).isEqualTo("1");
        assertThat(header(data.get(5), "offset")).isEqualTo("6");
        assertThat(header(data.get(6), "offset")).isEqualTo("7");
        assertThat(sink.storedPosition()).isEqualTo(7);
        assertThat(forwarder.status().lag()).isZero();
        await().atMost(Duration.ofSeconds(2)).until(() -> forwarder.state() == KafkaForwarder.State.CAUGHT_UP);
    }

    @Test
    void transactionsHoldAtMostTheConfiguredEntries_eachWithItsLastOffsetAsPosition() {
        messages(25);
        start(10);

        await().atMost(Duration.ofSeconds(5)).until(() -> feed.forwarded() == 25);
        List<String> positions = sink.committed().stream().filter(r -> r.topic().equals(TOPICS.offsets()))
                .map(r -> new String(r.value(), StandardCharsets.US_ASCII)).toList();
        assertThat(positions).containsExactly("10", "20", "25");
        assertThat(meters.get("tether.forwarder.transactions").tag("result", "committed").counter().count()).isEqualTo(3);
        assertThat(meters.get("tether.forwarder.records").tag("topic", "tether.messages").counter().count()).isEqualTo(25);
    }

    @Test
    void entriesAppendedLater_wakeTheForwarder() {
        start(1_000);
        await().atMost(Duration.ofSeconds(5)).until(() -> forwarder.state() == KafkaForwarder.State.CAUGHT_UP);
        long t0 = System.nanoTime();
        messages(3);
        await().atMost(Duration.ofSeconds(5)).until(() -> feed.forwarded() == 3);
        // Woken by the append, not by the 500 ms idle look (slack for a loaded machine).
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(400));
    }

    @Test
    void abortedCommit_sendsTheSameEntriesAgain_noneTwiceAndNoneSkipped() {
        sink.failCommits.set(2);
        messages(30);
        start(10);

        await().atMost(Duration.ofSeconds(10)).until(() -> feed.forwarded() == 30);
        List<String> seqs = sink.committed().stream().filter(r -> r.topic().equals("tether.messages"))
                .map(r -> header(r, "seq")).toList();
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= 30; i++) {
            expected.add(Integer.toString(i));
        }
        assertThat(seqs).containsExactlyElementsOf(expected);
        assertThat(meters.get("tether.forwarder.transactions").tag("result", "aborted").counter().count()).isEqualTo(2);
    }

    @Test
    void fencedProducer_isReplaced_andTheNewOneResumesFromThePositionInKafka() {
        assertThat(fencedAfterTenThenTenMore(() -> { })).hasSize(20).doesNotHaveDuplicates();
    }

    /**
     * Forwards 10 entries, runs {@code beforeFence}, fences the producer and appends 10 more;
     * returns the feed offsets of the messages Kafka then holds, committed.
     */
    private List<String> fencedAfterTenThenTenMore(Runnable beforeFence) {
        messages(10);
        start(5);
        await().atMost(Duration.ofSeconds(5)).until(() -> feed.forwarded() == 10);
        beforeFence.run();
        sink.producers.get(0).fenceProducer();

        messages(10);
        await().atMost(Duration.ofSeconds(10)).until(() -> feed.forwarded() == 20);
        assertThat(sink.producers).hasSizeGreaterThanOrEqualTo(2);
        return sink.committed().stream().filter(r -> r.topic().equals("tether.messages"))
                .map(r -> header(r, "offset")).toList();
    }

    @Test
    void positionInKafkaAheadOfTheFeedsRecord_isWhereForwardingResumes() {
        messages(10);
        sink.position = 6; // a previous process committed up to 6 and died before telling the store
        start(100);

        await().atMost(Duration.ofSeconds(5)).until(() -> feed.forwarded() == 10);
        assertThat(sink.committed().stream().filter(r -> r.topic().equals("tether.messages")).map(r -> header(r, "offset")))
                .containsExactly("7", "8", "9", "10");
    }

    @Test
    void positionReadFromKafkaBehindACommitThisStoreRecorded_doesNotSendThatCommitAgain() {
        ListAppender<ILoggingEvent> logs = capture();
        // A transaction left open on the offsets topic holds its last stable offset below our
        // last record: the read after the next connect finds the record of the first commit only.
        List<String> offsets = fencedAfterTenThenTenMore(() -> sink.staleRead = 5L);
        assertThat(offsets).hasSize(20).doesNotHaveDuplicates();
        assertThat(logs.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage))
                .anySatisfy(m -> assertThat(m).contains("feed offset 5").contains("feed offset 10"));
    }

    @Test
    void positionBeyondTheFeedsHead_isAFeedThatStartedAgain_forwardedFromTheFeedsRecord() {
        messages(4);
        sink.position = 5_000; // the offsets topic remembers a previous data directory
        start(100);

        await().atMost(Duration.ofSeconds(5)).until(() -> feed.forwarded() == 4);
        assertThat(sink.committed().stream().filter(r -> r.topic().equals("tether.messages"))).hasSize(4);
    }

    @Test
    void kafkaUnreachable_oneWarnIntoFailing_lagVisible_oneInfoOnRecovery() {
        ListAppender<ILoggingEvent> logs = capture();
        sink.unreachable.set(true);
        messages(50);
        start(100);

        await().atMost(Duration.ofSeconds(10)).until(() -> sink.attempts.get() >= 4);
        KafkaForwarder.Status s = forwarder.status();
        assertThat(s.state()).isEqualTo(KafkaForwarder.State.FAILING);
        assertThat(s.lag()).isEqualTo(50);
        assertThat(s.lagBytes()).isPositive();
        assertThat(s.lastError()).contains("unreachable for the test");
        assertThat(meters.get("tether.forwarder.lag").gauge().value()).isEqualTo(50);
        assertThat(meters.get("tether.forwarder.state").tag("state", "FAILING").gauge().value()).isEqualTo(1);

        sink.unreachable.set(false);
        await().atMost(Duration.ofSeconds(10)).until(() -> feed.forwarded() == 50);
        await().atMost(Duration.ofSeconds(2)).until(() -> forwarder.state() == KafkaForwarder.State.CAUGHT_UP);
        List<ILoggingEvent> lines = new ArrayList<>(logs.list);
        assertThat(lines.stream().filter(e -> e.getLevel() == Level.WARN)).hasSize(1)
                .allSatisfy(e -> assertThat(e.getFormattedMessage()).contains("unreachable").contains("50 entries waiting"));
        assertThat(lines.stream().filter(e -> e.getLevel() == Level.INFO && e.getFormattedMessage().contains("is back")))
                .hasSize(1);
    }

    private static ListAppender<ILoggingEvent> capture() {
        Logger logger = (Logger) LoggerFactory.getLogger(KafkaForwarder.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.INFO);
        return appender;
    }

    private static String header(ProducerRecord<byte[], byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.US_ASCII);
    }

    /** MockProducers, one per connect; the committed records of all of them; the position they committed. */
    private static final class FakeSink implements KafkaForwarder.Sink {
        final List<MockProducer<byte[], byte[]>> producers = new CopyOnWriteArrayList<>();
        final AtomicInteger failCommits = new AtomicInteger();
        final java.util.concurrent.atomic.AtomicBoolean unreachable = new java.util.concurrent.atomic.AtomicBoolean();
        final AtomicInteger attempts = new AtomicInteger();
        volatile long position = -1;
        /** When set, what reading the offsets topic finds instead of the last committed record. */
        volatile Long staleRead;

        List<ProducerRecord<byte[], byte[]>> committed() {
            List<ProducerRecord<byte[], byte[]>> all = new ArrayList<>();
            for (MockProducer<byte[], byte[]> p : producers) {
                all.addAll(p.history());
            }
            return all;
        }

        long storedPosition() {
            long found = position;
            for (ProducerRecord<byte[], byte[]> r : committed()) {
                if (r.topic().equals(TOPICS.offsets())) {
                    found = Long.parseLong(new String(r.value(), StandardCharsets.US_ASCII));
                }
            }
            return found;
        }

        @Override
        public Producer<byte[], byte[]> newProducer() {
            attempts.incrementAndGet();
            if (unreachable.get()) {
                throw new TimeoutException("unreachable for the test");
            }
            MockProducer<byte[], byte[]> p = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
                @Override
                public void commitTransaction() {
                    if (failCommits.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                        throw new KafkaException("an abortable failure for the test");
                    }
                    super.commitTransaction();
                }
            };
            producers.add(p);
            return p;
        }

        @Override
        public void prepareTopics() {
        }

        @Override
        public long committedPosition() {
            Long stale = staleRead;
            return stale != null ? stale : storedPosition();
        }

        @Override
        public String describe() {
            return "mock:9092";
        }

        @Override
        public void close() {
        }
    }
}
