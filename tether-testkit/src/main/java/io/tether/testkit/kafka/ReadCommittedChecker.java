package io.tether.testkit.kafka;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Reads topics from the beginning as a transactional consumer sees them
 * ({@code isolation.level=read_committed}) and keeps every record, grouped by key, in the order
 * each partition holds them; for assertions like "every acknowledged message is in Kafka exactly
 * once, in per-device order". All partitions of the topics are assigned to it (no consumer group,
 * nothing committed), so it can be created, dropped and created again freely.
 *
 * <pre>{@code
 * try (ReadCommittedChecker c = ReadCommittedChecker.create(kafka.controlBootstrap(), "events")) {
 *     c.pollUntil(s -> s.total() >= 1000 && s.caughtUp(), Duration.ofSeconds(30));
 *     assertThat(c.duplicates(seqOf)).isEmpty();
 *     assertThat(c.outOfOrder(seqOf)).isEmpty();
 * }
 * }</pre>
 *
 * Records are grouped by their key as UTF-8 text (a record without a key under {@code ""}); the
 * order within a key is the order of its partition, which is the order a keyed producer wrote
 * them in. A key whose records span partitions (the topic grew) is grouped in the order they were
 * read, which is no order at all; {@link #keysInManyPartitions()} finds them.
 *
 * <p>Not thread-safe: one test thread uses it (KafkaConsumer's own rule).
 */
public final class ReadCommittedChecker implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<TopicPartition> partitions;
    private final Map<String, List<Entry>> byKey = new LinkedHashMap<>();
    private int total;

    private ReadCommittedChecker(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
        this.consumer = consumer;
        this.partitions = partitions;
    }

    /**
     * A checker reading every partition of {@code topics} from the beginning.
     *
     * @param bootstrap {@code host:port} of the broker, e.g. {@link KafkaBroker#controlBootstrap()}
     * @throws IllegalStateException if a topic does not exist (within 30 s)
     */
    public static ReadCommittedChecker create(String bootstrap, String... topics) {
        return create(bootstrap, Map.of(), topics);
    }

    /**
     * As {@link #create(String, String...)}, with extra consumer properties (they win over the
     * checker's, except that the deserializers are always byte arrays).
     */
    public static ReadCommittedChecker create(String bootstrap, Map<String, String> consumerProperties, String... topics) {
        if (topics.length == 0) {
            throw new IllegalArgumentException("topics: none (expected: at least one)");
        }
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, Objects.requireNonNull(bootstrap, "bootstrap"));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        p.putAll(consumerProperties);
        KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        try {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : topics) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " does not exist on " + bootstrap);
                }
                infos.forEach(i -> parts.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            return new ReadCommittedChecker(consumer, List.copyOf(parts));
        } catch (RuntimeException e) {
            consumer.close(CloseOptions.timeout(Duration.ZERO));
            throw e;
        }
    }

    /** One record as read: where it is, its key, value and headers. */
    public record Entry(String topic, int partition, long offset, String key, byte[] value, Map<String, byte[]> headers) {
        /** The value as UTF-8 text; null for a null value (a tombstone). */
        public String valueText() {
            return value == null ? null : new String(value, StandardCharsets.UTF_8);
        }

        /** A header's value as UTF-8 text, or null if the record has no such header. */
        public String headerText(String name) {
            byte[] h = headers.get(name);
            return h == null ? null : new String(h, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset + " key=" + key + " value=" + valueText();
        }
    }

    /**
     * What has been read so far.
     *
     * @param total    records read
     * @param keys     distinct keys
     * @param caughtUp whether, at the last poll, every partition had been read up to its last
     *                 stable offset (the end a read_committed consumer can reach: nothing is
     *                 committed beyond it, though an open transaction may still commit later)
     */
    public record Stats(int total, int keys, boolean caughtUp) {
    }

    /** Polls once, up to {@code timeout}, and returns how many records came. */
    public int poll(Duration timeout) {
        int n = 0;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            Map<String, byte[]> headers = new LinkedHashMap<>();
            for (Header h : r.headers()) {
                // A repeated header name keeps its last value, as Headers.lastHeader reads it.
                headers.put(h.key(), h.value());
            }
            String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
            Entry e = new Entry(r.topic(), r.partition(), r.offset(), key, r.value(), Collections.unmodifiableMap(headers));
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
            n++;
        }
        total += n;
        return n;
    }

    /** Stats as of now, asking the broker for the partitions' ends (bounded by 10 s). */
    public Stats stats() {
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(10));
        boolean caughtUp = true;
        for (TopicPartition tp : partitions) {
            if (consumer.position(tp, Duration.ofSeconds(10)) < ends.get(tp)) {
                caughtUp = false;
                break;
            }
        }
        return new Stats(total, byKey.size(), caughtUp);
    }

    /**
     * Polls until {@code done} holds for the stats, and returns them.
     *
     * @throws AssertionError if it does not hold within {@code timeout}; the message shows the
     *     last stats
     */
    public Stats pollUntil(Predicate<Stats> done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            poll(Duration.ofMillis(200));
            Stats s = stats();
            if (done.test(s)) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("read_committed consumer of " + topics() + ": condition not met within "
                        + timeout.toMillis() + " ms; read so far: " + s);
            }
        }
    }

    /** Polls until every partition is read up to its last stable offset. */
    public Stats pollToEnd(Duration timeout) {
        return pollUntil(Stats::caughtUp, timeout);
    }

    private List<String> topics() {
        return partitions.stream().map(TopicPartition::topic).distinct().toList();
    }

    /** The keys read so far, in the order first seen. */
    public List<String> keys() {
        return List.copyOf(byKey.keySet());
    }

    /** The records of one key in the order read (empty if none). */
    public List<Entry> records(String key) {
        return List.copyOf(byKey.getOrDefault(key, List.of()));
    }

    /** Every record read, grouped by key. */
    public Map<String, List<Entry>> recordsByKey() {
        Map<String, List<Entry>> copy = new LinkedHashMap<>();
        byKey.forEach((k, v) -> copy.put(k, List.copyOf(v)));
        return copy;
    }

    /** How many records have been read. */
    public int total() {
        return total;
    }

    /**
     * Records whose sequence number (from {@code seqOf}) an earlier record of the same key already
     * had: per key, the repeated ones, in the order read. Empty when nothing is duplicated.
     */
    public Map<String, List<Entry>> duplicates(ToLongFunction<Entry> seqOf) {
        return duplicates(byKey, seqOf);
    }

    static Map<String, List<Entry>> duplicates(Map<String, List<Entry>> byKey, ToLongFunction<Entry> seqOf) {
        Map<String, List<Entry>> out = new TreeMap<>();
        byKey.forEach((key, entries) -> {
            Set<Long> seen = new HashSet<>();
            for (Entry e : entries) {
                if (!seen.add(seqOf.applyAsLong(e))) {
                    out.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
                }
            }
        });
        return out;
    }

    /**
     * Records whose sequence number is not above the one before it of the same key: per key, each
     * such record, in the order read. Empty when every key's records are in increasing order. A
     * duplicate counts here too (its number is not above the previous).
     */
    public Map<String, List<Entry>> outOfOrder(ToLongFunction<Entry> seqOf) {
        return outOfOrder(byKey, seqOf);
    }

    static Map<String, List<Entry>> outOfOrder(Map<String, List<Entry>> byKey, ToLongFunction<Entry> seqOf) {
        Map<String, List<Entry>> out = new TreeMap<>();
        byKey.forEach((key, entries) -> {
            long prev = Long.MIN_VALUE;
            for (Entry e : entries) {
                long s = seqOf.applyAsLong(e);
                if (s <= prev) {
                    out.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
                }
                prev = Math.max(prev, s);
            }
        });
        return out;
    }

    /** Keys whose records were read from more than one partition, where no order holds. */
    public List<String> keysInManyPartitions() {
        List<String> out = new ArrayList<>();
        byKey.forEach((key, entries) -> {
            if (entries.stream().map(e -> e.topic() + "-" + e.partition()).distinct().count() > 1) {
                out.add(key);
            }
        });
        return out;
    }

    @Override
    public void close() {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
