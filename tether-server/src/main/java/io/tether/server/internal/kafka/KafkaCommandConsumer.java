package io.tether.server.internal.kafka;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tether.protocol.Protocol;
import io.tether.server.CommandException;
import io.tether.server.CommandRequest;
import io.tether.server.Commands;
import io.tether.server.internal.feed.Feed;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Consumes commands from a Kafka topic into the command ledger: key = device id, value = the
 * command's payload, header {@code idempotency-key} (required), header {@code ttl} (optional:
 * {@code 10m}, {@code 1h30m}, {@code PT10M}).
 *
 * <p><b>Each command once.</b> The consumer's offsets are committed only after the ledger has
 * accepted, durably, every command of a poll (at least once), and each submit carries the
 * record's idempotency key, so a record consumed again returns the command it made the first
 * time instead of queueing a copy. A record without the key could not be deduplicated: it is
 * rejected, not guessed at.
 *
 * <p><b>Refusals.</b> A record the ledger refuses (invalid, the device's queue full) or that is
 * malformed is counted, logged and skipped; a small JSON record with {@code "state":"REJECTED"}
 * goes to the command-results topic through the feed, so the backend that sent it learns why.
 * A store that cannot write (UNAVAILABLE) is not a refusal: the record is consumed again after
 * a back-off.
 *
 * <p>One daemon thread, {@code tether-kafka-commands}; waiting on the ledger there blocks no one.
 */
public final class KafkaCommandConsumer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaCommandConsumer.class);
    private static final JsonFactory JSON = new JsonFactory();
    private static final Duration SUBMIT_WAIT = Duration.ofSeconds(30);
    private static final Pattern TTL = Pattern.compile("(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:(\\d+)s)?(?:(\\d+)ms)?");

    private final Supplier<Consumer<byte[], byte[]>> consumers;
    private final String topic;
    private final Commands commands;
    private final Feed feed;
    private final Clock clock;
    private final Thread thread;
    private final Counter accepted;
    private final Counter duplicates;
    private final Counter rejected;
    private volatile Consumer<byte[], byte[]> consumer;
    private volatile boolean closing;
    private boolean failing; // consumer thread only

    public static KafkaCommandConsumer create(KafkaClients clients, Commands commands, Feed feed, MeterRegistry meters,
                                              Clock clock) {
        return new KafkaCommandConsumer(() -> clients.consumer(clients.commandGroup(), "commands"),
                clients.options().topics().commands(), commands, feed, meters, clock);
    }

    KafkaCommandConsumer(Supplier<Consumer<byte[], byte[]>> consumers, String topic, Commands commands, Feed feed,
                         MeterRegistry meters, Clock clock) {
        this.consumers = consumers;
        this.topic = topic;
        this.commands = commands;
        this.feed = feed;
        this.clock = clock;
        this.accepted = counter(meters, "accepted", "commands from Kafka the ledger accepted");
        this.duplicates = counter(meters, "duplicate", "commands from Kafka whose idempotency key the ledger already had");
        this.rejected = counter(meters, "rejected", "commands from Kafka that were malformed or refused by the ledger");
        this.thread = new Thread(this::run, "tether-kafka-commands");
        thread.setDaemon(true);
    }

    private Counter counter(MeterRegistry meters, String result, String description) {
        return Counter.builder("tether.kafka.commands").tag("topic", topic).tag("result", result)
                .description(description).register(meters);
    }

    public KafkaCommandConsumer start() {
        thread.start();
        return this;
    }

    /** Stops after the poll in progress; the commands it submitted are committed if the ledger took them. */
    @Override
    public void close() {
        closing = true;
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            thread.join(10_000);
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        long backoff = KafkaForwarder.MIN_BACKOFF_MILLIS;
        while (!closing) {
            try {
                if (consumer == null) {
                    Consumer<byte[], byte[]> c = consumers.get();
                    c.subscribe(List.of(topic));
                    consumer = c;
                    if (closing) {
                        break;
                    }
                }
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                if (failing) {
                    failing = false;
                    log.info("kafka commands from {}: consuming again", topic);
                }
                if (records.isEmpty()) {
                    continue;
                }
                if (process(records)) {
                    backoff = KafkaForwarder.MIN_BACKOFF_MILLIS;
                } else {
                    pause(backoff);
                    backoff = Math.min(backoff * 2, KafkaForwarder.MAX_BACKOFF_MILLIS);
                }
            } catch (WakeupException | InterruptException e) {
                if (closing) {
                    break;
                }
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                if (closing) {
                    break;
                }
                if (!failing) {
                    failing = true;
                    log.warn("kafka commands from {}: {} (retrying with back-off up to {} s)", topic, e.toString(),
                            KafkaForwarder.MAX_BACKOFF_MILLIS / 1000);
                }
                closeConsumer();
                try {
                    pause(backoff);
                } catch (InterruptedException ie) {
                    break;
                }
                backoff = Math.min(backoff * 2, KafkaForwarder.MAX_BACKOFF_MILLIS);
            }
        }
        closeConsumer();
    }

    private void closeConsumer() {
        Consumer<byte[], byte[]> c = consumer;
        consumer = null;
        if (c != null) {
            try {
                c.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
            } catch (RuntimeException e) {
                log.debug("closing the kafka command consumer: {}", e.toString());
            }
        }
    }

    private void pause(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!closing && System.nanoTime() < deadline) {
            Thread.sleep(Math.min(50, millis));
        }
    }

    /** One submit per record, in order; then the commit. False if the store could not write: consumed again later. */
    private boolean process(ConsumerRecords<byte[], byte[]> records) throws InterruptedException {
        List<ConsumerRecord<byte[], byte[]>> list = new ArrayList<>(records.count());
        List<CompletableFuture<Commands.Submitted>> futures = new ArrayList<>(records.count());
        for (ConsumerRecord<byte[], byte[]> r : records) {
            list.add(r);
            futures.add(submit(r));
        }
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        Map<TopicPartition, Long> retryFrom = new HashMap<>();
        Set<TopicPartition> stopped = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            ConsumerRecord<byte[], byte[]> r = list.get(i);
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            if (stopped.contains(tp)) {
                continue; // after an unavailable store in this partition: all of it again, in order
            }
            CompletableFuture<Commands.Submitted> f = futures.get(i);
            try {
                Commands.Submitted s = f.get(SUBMIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                (s.created() ? accepted : duplicates).increment();
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof CommandException ce && ce.kind() == CommandException.Kind.UNAVAILABLE
                        || !(cause instanceof CommandException || cause instanceof Refused)) {
                    stopped.add(tp);
                    retryFrom.put(tp, r.offset());
                    log.warn("kafka command {}: the ledger cannot take it now ({}); consuming it again", where(r),
                            cause.getMessage());
                    continue;
                }
                reject(r, cause instanceof CommandException ce ? ce.kind().name() : "INVALID", cause.getMessage());
            } catch (java.util.concurrent.TimeoutException e) {
                stopped.add(tp);
                retryFrom.put(tp, r.offset());
                log.warn("kafka command {}: the ledger did not answer within {} s; consuming it again", where(r),
                        SUBMIT_WAIT.toSeconds());
                continue;
            }
            commit.put(tp, new OffsetAndMetadata(r.offset() + 1));
        }
        if (!commit.isEmpty()) {
            consumer.commitSync(commit);
        }
        retryFrom.forEach((tp, offset) -> consumer.seek(tp, offset));
        return retryFrom.isEmpty();
    }

    private CompletableFuture<Commands.Submitted> submit(ConsumerRecord<byte[], byte[]> r) {
        try {
            String device = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
            if (device == null) {
                throw new Refused("no key (expected: the device id as the record's key)");
            }
            try {
                Protocol.checkDeviceId(device);
            } catch (IllegalArgumentException e) {
                throw new Refused("key '" + printable(device) + "' is not a device id: " + e.getMessage());
            }
            String key = header(r, "idempotency-key");
            if (key == null) {
                throw new Refused("no idempotency-key header (required: it is what makes a command consumed twice "
                        + "run once)");
            }
            String ttlText = header(r, "ttl");
            Duration ttl = ttlText == null ? null : parseTtl(ttlText);
            byte[] payload = r.value() == null ? new byte[0] : r.value();
            CommandRequest request;
            try {
                request = new CommandRequest(device, payload, ttl, key);
            } catch (IllegalArgumentException e) {
                throw new Refused(e.getMessage());
            }
            return commands.submit(request).toCompletableFuture();
        } catch (Refused e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** {@code 10m}, {@code 1h30m}, {@code 45s}, {@code 500ms}, {@code 2d}, or ISO-8601 {@code PT10M}. */
    static Duration parseTtl(String text) {
        String t = text.strip();
        if (t.startsWith("P") || t.startsWith("p")) {
            try {
                return positive(text, Duration.parse(t));
            } catch (java.time.format.DateTimeParseException e) {
                throw new Refused("ttl header '" + printable(text) + "' (expected: e.g. 10m, 1h30m, 45s or PT10M)");
            }
        }
        Matcher m = TTL.matcher(t);
        if (t.isEmpty() || !m.matches()) {
            throw new Refused("ttl header '" + printable(text) + "' (expected: e.g. 10m, 1h30m, 45s or PT10M)");
        }
        try {
            Duration d = Duration.ZERO;
            long[] unitsMillis = {86_400_000L, 3_600_000L, 60_000L, 1_000L, 1L};
            for (int g = 1; g <= 5; g++) {
                if (m.group(g) != null) {
                    d = d.plusMillis(Math.multiplyExact(Long.parseLong(m.group(g)), unitsMillis[g - 1]));
                }
            }
            return positive(text, d);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new Refused("ttl header '" + printable(text) + "' is too large");
        }
    }

    private static Duration positive(String text, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new Refused("ttl header '" + printable(text) + "' (expected: > 0)");
        }
        return d;
    }

    private void reject(ConsumerRecord<byte[], byte[]> r, String error, String detail) {
        rejected.increment();
        String device = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
        String key = header(r, "idempotency-key");
        log.warn("kafka command {} for device {} rejected ({}): {}", where(r), device == null ? "(no key)" : printable(device),
                error, detail);
        String valid = device;
        try {
            if (valid != null) {
                Protocol.checkDeviceId(valid);
            }
        } catch (IllegalArgumentException e) {
            valid = null;
        }
        feed.append(Feed.Kind.COMMAND, valid, 0, 0, clock.millis(), rejection(r, device, key, error, detail));
    }

    /** The command-results record of a refusal: what the backend needs to match it to what it sent. */
    static byte[] rejection(ConsumerRecord<byte[], byte[]> r, String device, String key, String error, String detail) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("state", "REJECTED");
            g.writeStringField("deviceId", device);
            g.writeStringField("idempotencyKey", key);
            g.writeStringField("error", error);
            g.writeStringField("detail", detail == null ? "" : detail);
            g.writeStringField("topic", r.topic());
            g.writeNumberField("partition", r.partition());
            g.writeNumberField("offset", r.offset());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static String where(ConsumerRecord<?, ?> r) {
        return r.topic() + "-" + r.partition() + "@" + r.offset();
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(140).forEach(c -> b.append(c >= 0x20 && c < 0x7F ? (char) c : '?'));
        return b.toString();
    }

    /** A record that is not a valid command: rejected before the ledger sees it. */
    static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message, null, false, false);
        }
    }
}
