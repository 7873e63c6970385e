package io.tether.server.internal.kafka;

import io.tether.server.KafkaOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The Kafka clients of one gateway, configured in one place: the user's properties
 * ({@code --kafka-config}) first, then the settings the exactly-once contract depends on, which
 * win — with one log line naming each property the file tried to change.
 *
 * <p>Tuning defaults (batch size, linger, compression) are set before the user's properties, so
 * the file may change those.
 */
public final class KafkaClients {
    private static final Logger log = LoggerFactory.getLogger(KafkaClients.class);

    private final KafkaOptions options;

    public KafkaClients(KafkaOptions options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    public KafkaOptions options() {
        return options;
    }

    /** {@code "tether-" + gatewayId}: stable across restarts, so a new process fences the old one. */
    public String transactionalId() {
        return "tether-" + options.gatewayId();
    }

    /** The group of the command consumer: {@code "tether-" + gatewayId + "-commands"}. */
    public String commandGroup() {
        return "tether-" + options.gatewayId() + "-commands";
    }

    /** A transactional, idempotent producer of byte arrays; {@code initTransactions} not yet called. */
    public Producer<byte[], byte[]> producer() {
        return new KafkaProducer<>(producerConfig(), new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** The producer's configuration (tested: the file cannot weaken it). */
    Map<String, Object> producerConfig() {
        Map<String, Object> tuning = new LinkedHashMap<>();
        // bench/kafka (100-byte random payloads, broker on the same 2 cores): large batches carry
        // the throughput; lz4 and none were within the run-to-run noise (118k-142k and
        // 126k-201k msg/s), so none, which spends no CPU on it; --kafka-config may say lz4.
        tuning.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
        tuning.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        tuning.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * 1024 * 1024);
        tuning.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        // An outage shows as FAILING within seconds, not the 60 s and 120 s defaults: a blocked
        // call is the forwarder's only thread, and it retries on its own with back-off.
        tuning.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        tuning.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        tuning.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        tuning.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000);
        tuning.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId() + "-forwarder");
        Map<String, Object> required = new LinkedHashMap<>();
        required.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrap());
        required.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        required.put(ProducerConfig.ACKS_CONFIG, "all");
        required.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
        // Idempotence keeps order with up to 5 requests in flight per partition.
        required.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        required.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        required.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return merge("producer", tuning, required);
    }

    /**
     * A read_committed consumer of byte arrays.
     *
     * @param group null for a consumer that only assigns partitions (reading the offsets topic)
     */
    public Consumer<byte[], byte[]> consumer(String group, String clientSuffix) {
        return new KafkaConsumer<>(consumerConfig(group, clientSuffix), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    Map<String, Object> consumerConfig(String group, String clientSuffix) {
        Map<String, Object> tuning = new LinkedHashMap<>();
        tuning.put(ConsumerConfig.CLIENT_ID_CONFIG, transactionalId() + "-" + clientSuffix);
        tuning.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        tuning.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        tuning.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        Map<String, Object> required = new LinkedHashMap<>();
        required.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrap());
        required.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        required.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        required.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        required.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        required.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        if (group != null) {
            required.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        return merge("consumer", tuning, required);
    }

    public Admin admin() {
        Map<String, Object> tuning = new LinkedHashMap<>();
        tuning.put(AdminClientConfig.CLIENT_ID_CONFIG, transactionalId() + "-admin");
        tuning.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        tuning.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        Map<String, Object> required = new LinkedHashMap<>();
        required.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrap());
        return Admin.create(merge("admin", tuning, required));
    }

    /**
     * Tuning, then the user's properties, then the required settings. Properties a client does
     * not know are passed anyway (Kafka logs them once as unused): SASL and SSL keys are shared.
     */
    private Map<String, Object> merge(String client, Map<String, Object> tuning, Map<String, Object> required) {
        Map<String, Object> out = new HashMap<>(tuning);
        out.putAll(options.properties());
        for (Map.Entry<String, Object> e : required.entrySet()) {
            String theirs = options.properties().get(e.getKey());
            if (theirs != null && !theirs.equals(String.valueOf(e.getValue()))) {
                log.info("kafka {}: {}={} from --kafka-config is replaced by {}: the forwarder's exactly-once delivery "
                        + "depends on it", client, e.getKey(), theirs, e.getValue());
            }
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }
}
