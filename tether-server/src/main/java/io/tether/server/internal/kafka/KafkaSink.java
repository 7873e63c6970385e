package io.tether.server.internal.kafka;

import io.tether.server.KafkaOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** The forwarder's Kafka: the producer, the topics, and the position kept in the offsets topic. */
final class KafkaSink implements KafkaForwarder.Sink {
    private static final Logger log = LoggerFactory.getLogger(KafkaSink.class);
    private static final long ADMIN_TIMEOUT_SECONDS = 15;
    /** Longer than a transaction may stay open (transaction.timeout.ms): another gateway's open one holds the read. */
    private static final Duration POSITION_READ_TIMEOUT = Duration.ofSeconds(60);
    /** How long the read waits, past the last stable offset, for the high watermark. */
    static final Duration HW_WAIT = Duration.ofSeconds(15);

    private final KafkaClients clients;
    private final KafkaOptions options;
    private final byte[] gatewayKey;
    private Admin admin; // the forwarder thread only

    KafkaSink(KafkaClients clients) {
        this.clients = clients;
        this.options = clients.options();
        this.gatewayKey = options.gatewayId().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Producer<byte[], byte[]> newProducer() {
        return clients.producer();
    }

    @Override
    public String describe() {
        return options.bootstrap();
    }

    private Admin admin() {
        if (admin == null) {
            admin = clients.admin();
        }
        return admin;
    }

    @Override
    public void prepareTopics() throws Exception {
        KafkaOptions.Topics t = options.topics();
        Map<String, NewTopic> wanted = new LinkedHashMap<>();
        Optional<Integer> partitions = options.partitions() == 0 ? Optional.empty() : Optional.of(options.partitions());
        Optional<Short> replication = options.replicationFactor() == 0 ? Optional.empty()
                : Optional.of(options.replicationFactor());
        for (String name : new String[] {t.messages(), t.events(), t.commandResults(), t.commands()}) {
            if (name != null) {
                wanted.put(name, new NewTopic(name, partitions, replication));
            }
        }
        // One partition is plenty for one small record per transaction; compaction keeps the
        // latest position of each gateway, as Kafka Connect's offsets topic does.
        wanted.put(t.offsets(), new NewTopic(t.offsets(), Optional.of(1), replication)
                .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        Set<String> existing = admin().listTopics().names().get(ADMIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        List<NewTopic> missing = new ArrayList<>();
        for (NewTopic nt : wanted.values()) {
            if (!existing.contains(nt.name())) {
                missing.add(nt);
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        if (!options.createTopics()) {
            throw new KafkaSetupException("Kafka topic " + missing.get(0).name() + " does not exist (missing: "
                    + names(missing) + ") and creating topics is off: create them on the cluster");
        }
        Map<String, KafkaFuture<Void>> created = admin().createTopics(missing).values();
        for (Map.Entry<String, KafkaFuture<Void>> e : created.entrySet()) {
            try {
                e.getValue().get(ADMIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                log.info("kafka {}: created topic {}", options.bootstrap(), e.getKey());
            } catch (ExecutionException ex) {
                Throwable c = ex.getCause();
                if (c instanceof TopicExistsException) {
                    continue; // another gateway, or an operator, was quicker
                }
                if (c instanceof TopicAuthorizationException || c instanceof ClusterAuthorizationException) {
                    throw new KafkaSetupException("Kafka topic " + e.getKey() + " does not exist and this gateway may not "
                            + "create it (" + c.getMessage() + "): create it on the cluster, or grant CREATE on it to "
                            + "Tether's principal", c);
                }
                if (c instanceof PolicyViolationException) {
                    throw new KafkaSetupException("Kafka topic " + e.getKey() + " does not exist and the cluster's "
                            + "policy refused to create it (" + c.getMessage() + "): create it on the cluster", c);
                }
                throw new KafkaSetupException("cannot create Kafka topic " + e.getKey() + ": " + c, c);
            }
        }
    }

    private static String names(List<NewTopic> topics) {
        return String.join(", ", topics.stream().map(NewTopic::name).toList());
    }

    /**
     * Reads the offsets topic to its end, with read_committed. The end is first the last stable
     * offset (LSO), as Kafka Connect reads its offsets topic: every transaction below it is
     * decided, and this gateway's own last one was settled by initTransactions before this is
     * called. Then, if the high watermark is above the LSO, the read goes on for up to {@link
     * #HW_WAIT}: another gateway's transaction, open when ours committed, may hold the LSO below
     * our last record; waiting it out avoids forwarding that record's entries twice. A partition
     * whose LSO does not move (seen after a broker was killed mid-commit) does not stop the
     * forwarder: it goes on from what the LSO allowed, and says so; the forwarder then takes the
     * store's record of its last commit where that is later.
     */
    @Override
    public long committedPosition() throws Exception {
        String topic = options.topics().offsets();
        try (Consumer<byte[], byte[]> c = clients.consumer(null, "position")) {
            List<PartitionInfo> parts = c.partitionsFor(topic, Duration.ofSeconds(ADMIN_TIMEOUT_SECONDS));
            if (parts == null || parts.isEmpty()) {
                throw new KafkaSetupException("Kafka topic " + topic + " (the forwarder's positions) does not exist");
            }
            List<TopicPartition> tps = new ArrayList<>();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (PartitionInfo p : parts) {
                TopicPartition tp = new TopicPartition(topic, p.partition());
                tps.add(tp);
                latest.put(tp, OffsetSpec.latest());
            }
            Map<TopicPartition, Long> end = new HashMap<>();
            admin().listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).all()
                    .get(ADMIN_TIMEOUT_SECONDS, TimeUnit.SECONDS).forEach((tp, info) -> end.put(tp, info.offset()));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> stable = c.endOffsets(tps, Duration.ofSeconds(ADMIN_TIMEOUT_SECONDS));
            long[] found = {-1};
            long deadline = System.nanoTime() + POSITION_READ_TIMEOUT.toNanos();
            while (!reached(c, stable)) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("reading " + topic + " to its last stable offset took over "
                            + POSITION_READ_TIMEOUT.toSeconds() + " s");
                }
                poll(c, found);
            }
            long hwDeadline = System.nanoTime() + HW_WAIT.toNanos();
            while (!reached(c, end) && System.nanoTime() < hwDeadline) {
                poll(c, found);
            }
            if (!reached(c, end)) {
                log.warn("kafka {}: {} has a transaction open for over {} s (another gateway's, or one left by a broker that "
                        + "died mid-commit); this gateway's position is read up to the last stable offset, and where the "
                        + "store's record of its last commit is later, forwarding resumes from that record", options.bootstrap(), topic,
                        HW_WAIT.toSeconds());
            }
            return found[0];
        }
    }

    private void poll(Consumer<byte[], byte[]> c, long[] found) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            if (r.key() != null && Arrays.equals(r.key(), gatewayKey)) {
                found[0] = r.value() == null ? -1 : parse(r);
            }
        }
    }

    private static boolean reached(Consumer<byte[], byte[]> c, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static long parse(ConsumerRecord<byte[], byte[]> r) {
        String v = new String(r.value(), StandardCharsets.US_ASCII);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new KafkaSetupException("the forwarder's position at " + r.topic() + "-" + r.partition() + "@" + r.offset()
                    + " is '" + v + "' (expected: a decimal feed offset); did something else write to this topic?");
        }
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
    }

    /** Kafka is reachable but not set up for the forwarder: a person has to act; the message says what. */
    static final class KafkaSetupException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        KafkaSetupException(String message) {
            super(message);
        }

        KafkaSetupException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
