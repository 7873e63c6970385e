package io.tether.server;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Forwarding the application feed to Apache Kafka ({@link TetherServer.Builder#kafka}): where the
 * cluster is, what the topics are called, and who this gateway is to Kafka. Immutable; build with
 * {@link #builder(String)}.
 *
 * <p>The forwarder writes device messages, session events and command state changes, in feed
 * order, with a transactional producer whose {@code transactional.id} is {@code "tether-" +
 * gatewayId}; its position goes to {@link Topics#offsets()} in the same transaction. A consumer
 * that reads with {@code isolation.level=read_committed} sees every entry exactly once, across a
 * crash of Tether, a broker restart or a network cut (docs/OPERATIONS.md, "Forwarding to Kafka").
 *
 * @see Builder
 */
public final class KafkaOptions {
    /** Entries in one Kafka transaction, at most, unless {@link Builder#maxTransactionEntries} says otherwise. */
    public static final int DEFAULT_TRANSACTION_ENTRIES = 10_000;
    /** How long the forwarder waits for more entries before it commits a transaction that is not full. */
    public static final Duration DEFAULT_LINGER = Duration.ofMillis(5);

    private final String bootstrap;
    private final Map<String, String> properties;
    private final String gatewayId;
    private final Topics topics;
    private final boolean createTopics;
    private final int partitions;
    private final short replicationFactor;
    private final int maxTransactionEntries;
    private final Duration linger;

    private KafkaOptions(Builder b) {
        this.bootstrap = b.bootstrap;
        this.properties = Collections.unmodifiableMap(new LinkedHashMap<>(b.properties));
        this.gatewayId = b.gatewayId;
        this.topics = b.topics;
        this.createTopics = b.createTopics;
        this.partitions = b.partitions;
        this.replicationFactor = b.replicationFactor;
        this.maxTransactionEntries = b.maxTransactionEntries;
        this.linger = b.linger;
    }

    /**
     * @param bootstrap the cluster's {@code bootstrap.servers}: {@code host:port[,host:port...]}
     * @throws IllegalArgumentException if it is empty or an element has no port
     */
    public static Builder builder(String bootstrap) {
        return new Builder(bootstrap);
    }

    /** {@code bootstrap.servers}. */
    public String bootstrap() {
        return bootstrap;
    }

    /** Client properties passed through to the producer, consumers and admin client (SASL, TLS...). */
    public Map<String, String> properties() {
        return properties;
    }

    /** This gateway's name to Kafka: {@code transactional.id} is {@code "tether-" + gatewayId}. */
    public String gatewayId() {
        return gatewayId;
    }

    public Topics topics() {
        return topics;
    }

    /** Whether the forwarder creates missing topics at start. */
    public boolean createTopics() {
        return createTopics;
    }

    /** Partitions of the topics it creates; 0 for the broker's {@code num.partitions}. */
    public int partitions() {
        return partitions;
    }

    /** Replication factor of the topics it creates; 0 for the broker's {@code default.replication.factor}. */
    public short replicationFactor() {
        return replicationFactor;
    }

    /** Entries in one transaction, at most. */
    public int maxTransactionEntries() {
        return maxTransactionEntries;
    }

    /** How long a transaction that is not full waits for more entries; 0 commits what there is at once. */
    public Duration linger() {
        return linger;
    }

    @Override
    public String toString() {
        return "kafka " + bootstrap + " as gateway " + gatewayId + " (" + topics + ")";
    }

    /**
     * The topics. Names as Kafka allows them: 1 to 249 of {@code a-z A-Z 0-9 . _ -}, not "." or "..".
     *
     * @param messages       device messages: key device id, value payload, headers seq, session, receivedAt, offset
     * @param events         session events, JSON
     * @param commandResults command state changes and results, JSON
     * @param offsets        the forwarder's position, compacted, key = gateway id
     * @param commands       commands to consume into the ledger, or null not to consume any
     */
    public record Topics(String messages, String events, String commandResults, String offsets, String commands) {
        public static final Topics DEFAULT = new Topics("tether.messages", "tether.events", "tether.command-results",
                "tether.forwarder-offsets", null);
        /** The name {@code --kafka-commands} without a value consumes. */
        public static final String DEFAULT_COMMANDS = "tether.commands";

        public Topics {
            checkTopic("kafka-topic-messages", messages);
            checkTopic("kafka-topic-events", events);
            checkTopic("kafka-topic-command-results", commandResults);
            checkTopic("kafka-topic-offsets", offsets);
            if (commands != null) {
                checkTopic("kafka-commands", commands);
            }
            java.util.Set<String> written = new java.util.HashSet<>();
            for (String t : new String[] {messages, events, commandResults, offsets}) {
                if (!written.add(t)) {
                    throw new IllegalArgumentException("kafka topic " + t + " is named twice (expected: the messages, "
                            + "events, command results and offsets topics to differ)");
                }
            }
            if (commands != null && written.contains(commands)) {
                throw new IllegalArgumentException("kafka-commands " + commands + " is also a topic Tether writes "
                        + "(expected: a topic of its own)");
            }
        }

        public Topics withMessages(String name) {
            return new Topics(name, events, commandResults, offsets, commands);
        }

        public Topics withEvents(String name) {
            return new Topics(messages, name, commandResults, offsets, commands);
        }

        public Topics withCommandResults(String name) {
            return new Topics(messages, events, name, offsets, commands);
        }

        public Topics withOffsets(String name) {
            return new Topics(messages, events, commandResults, name, commands);
        }

        /** @param name null not to consume commands */
        public Topics withCommands(String name) {
            return new Topics(messages, events, commandResults, offsets, name);
        }

        private static void checkTopic(String what, String name) {
            Objects.requireNonNull(name, what);
            if (name.isEmpty() || name.length() > 249 || name.equals(".") || name.equals("..")
                    || !name.chars().allMatch(c -> c == '.' || c == '_' || c == '-' || (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                throw new IllegalArgumentException(what + " '" + name + "' (expected: 1 to 249 characters of a-z, A-Z, "
                        + "0-9, '.', '_', '-', as Kafka allows)");
            }
        }
    }

    /** Validates each value as it is set; {@link #build()} fills in the defaults. Not thread-safe. */
    public static final class Builder {
        private final String bootstrap;
        private final Map<String, String> properties = new LinkedHashMap<>();
        private String gatewayId;
        private Topics topics = Topics.DEFAULT;
        private boolean createTopics = true;
        private int partitions;
        private short replicationFactor;
        private int maxTransactionEntries = DEFAULT_TRANSACTION_ENTRIES;
        private Duration linger = DEFAULT_LINGER;

        private Builder(String bootstrap) {
            Objects.requireNonNull(bootstrap, "kafka");
            String b = bootstrap.strip();
            if (b.isEmpty()) {
                throw new IllegalArgumentException("kafka '' (expected: HOST:PORT[,HOST:PORT...], the cluster's bootstrap servers)");
            }
            for (String server : b.split(",")) {
                String s = server.strip();
                int colon = s.lastIndexOf(':');
                boolean ok = colon > 0 && colon < s.length() - 1;
                if (ok) {
                    try {
                        int port = Integer.parseInt(s.substring(colon + 1));
                        ok = port > 0 && port < 65536;
                    } catch (NumberFormatException e) {
                        ok = false;
                    }
                }
                if (!ok) {
                    throw new IllegalArgumentException("kafka '" + bootstrap + "': '" + s
                            + "' (expected: HOST:PORT[,HOST:PORT...], e.g. 127.0.0.1:9092)");
                }
            }
            this.bootstrap = b;
        }

        /** Client properties for the producer, consumers and admin client (--kafka-config); later calls add to earlier ones. */
        public Builder properties(Map<String, String> props) {
            Objects.requireNonNull(props, "properties").forEach((k, v) -> properties.put(
                    Objects.requireNonNull(k, "property name"), Objects.requireNonNull(v, "value of " + k)));
            return this;
        }

        /**
         * This gateway's stable name to Kafka. It must stay the same across restarts (it finds the
         * position and fences a previous process) and differ between gateways writing to one
         * cluster. Default: the host name.
         *
         * @throws IllegalArgumentException unless 1 to 200 printable ASCII characters
         */
        public Builder gatewayId(String id) {
            Objects.requireNonNull(id, "kafka-gateway-id");
            if (id.isEmpty() || id.length() > 200 || !id.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
                throw new IllegalArgumentException("kafka-gateway-id '" + id
                        + "' (expected: 1 to 200 printable ASCII characters, no spaces)");
            }
            this.gatewayId = id;
            return this;
        }

        public Builder topics(Topics t) {
            this.topics = Objects.requireNonNull(t, "topics");
            return this;
        }

        /** Create missing topics at start (default on); off when the cluster's operators create them. */
        public Builder createTopics(boolean on) {
            this.createTopics = on;
            return this;
        }

        /** @param n partitions of created topics, 0 for the broker's default (0 to 10,000) */
        public Builder partitions(int n) {
            if (n < 0 || n > 10_000) {
                throw new IllegalArgumentException("kafka partitions " + n + " (expected: 0 to 10000; 0 = the broker's default)");
            }
            this.partitions = n;
            return this;
        }

        /** @param n replication factor of created topics, 0 for the broker's default (0 to 32) */
        public Builder replicationFactor(int n) {
            if (n < 0 || n > 32) {
                throw new IllegalArgumentException("kafka replication factor " + n + " (expected: 0 to 32; 0 = the broker's default)");
            }
            this.replicationFactor = (short) n;
            return this;
        }

        /** @param n entries in one transaction at most (1 to 1,000,000) */
        public Builder maxTransactionEntries(int n) {
            if (n < 1 || n > 1_000_000) {
                throw new IllegalArgumentException("kafka transaction entries " + n + " (expected: 1 to 1000000)");
            }
            this.maxTransactionEntries = n;
            return this;
        }

        /** @param d 0 to 10 s */
        public Builder linger(Duration d) {
            Objects.requireNonNull(d, "linger");
            if (d.isNegative() || d.compareTo(Duration.ofSeconds(10)) > 0) {
                throw new IllegalArgumentException("kafka linger " + d + " (expected: 0 to 10s)");
            }
            this.linger = d;
            return this;
        }

        public KafkaOptions build() {
            if (gatewayId == null) {
                gatewayId(defaultGatewayId());
            }
            return new KafkaOptions(this);
        }

        private static String defaultGatewayId() {
            try {
                String host = java.net.InetAddress.getLocalHost().getHostName();
                String clean = host.chars().filter(c -> c >= 0x21 && c <= 0x7E).collect(StringBuilder::new,
                        StringBuilder::appendCodePoint, StringBuilder::append).toString();
                return clean.isEmpty() ? "gateway" : clean.substring(0, Math.min(clean.length(), 200));
            } catch (java.net.UnknownHostException e) {
                return "gateway";
            }
        }
    }
}
