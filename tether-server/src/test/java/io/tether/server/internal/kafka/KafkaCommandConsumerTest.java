package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.Command;
import io.tether.server.CommandException;
import io.tether.server.CommandRequest;
import io.tether.server.CommandState;
import io.tether.server.Commands;
import io.tether.server.internal.feed.MemoryFeed;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The parts of a command record the consumer reads itself: the ttl header and the refusal it reports. */
class KafkaCommandConsumerTest {
    @Test
    void ttlHeader_takesTheFlagsDurationsAndIso8601() {
        assertThat(KafkaCommandConsumer.parseTtl("10m")).isEqualTo(Duration.ofMinutes(10));
        assertThat(KafkaCommandConsumer.parseTtl("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(KafkaCommandConsumer.parseTtl("45s")).isEqualTo(Duration.ofSeconds(45));
        assertThat(KafkaCommandConsumer.parseTtl("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(KafkaCommandConsumer.parseTtl("2d")).isEqualTo(Duration.ofDays(2));
        assertThat(KafkaCommandConsumer.parseTtl("PT10M")).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void badTtl_isARefusalThatSaysWhatIsExpected() {
        for (String bad : new String[] {"", "ten minutes", "0s", "10", "PT-1S", "99999999999999999d"}) {
            assertThatThrownBy(() -> KafkaCommandConsumer.parseTtl(bad)).as(bad)
                    .isInstanceOf(KafkaCommandConsumer.Refused.class).hasMessageContaining("ttl header");
        }
    }

    @Test
    void refusal_isJsonNamingTheDeviceKeyAndTheRecord() {
        ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>("tether.commands", 2, 41L, "m-1".getBytes(StandardCharsets.UTF_8),
                new byte[0]);
        String json = new String(KafkaCommandConsumer.rejection(r, "m-1", "k\"9", "QUEUE_FULL", "device m-1 has 2 open"),
                StandardCharsets.UTF_8);
        assertThat(json).isEqualTo("{\"state\":\"REJECTED\",\"deviceId\":\"m-1\",\"idempotencyKey\":\"k\\\"9\","
                + "\"error\":\"QUEUE_FULL\",\"detail\":\"device m-1 has 2 open\",\"topic\":\"tether.commands\","
                + "\"partition\":2,\"offset\":41}");
    }

    @Test
    void storeUnavailable_isNotARefusal_nothingIsCommitted_andThePollIsConsumedAgain() throws Exception {
        TopicPartition tp = new TopicPartition("tether.commands", 0);
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        Runnable records = () -> {
            for (long o = 0; o < 3; o++) {
                consumer.addRecord(new ConsumerRecord<>("tether.commands", 0, o, 0L, TimestampType.CREATE_TIME, 0, 0,
                        "m-1".getBytes(StandardCharsets.UTF_8), ("cmd " + o).getBytes(StandardCharsets.UTF_8),
                        new RecordHeaders(new RecordHeader[] {new RecordHeader("idempotency-key",
                                ("k" + o).getBytes(StandardCharsets.UTF_8))}), Optional.empty()));
            }
        };
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(tp));
            consumer.updateBeginningOffsets(Map.of(tp, 0L));
            records.run();
        });
        FakeLedger ledger = new FakeLedger(1); // the store cannot write the first command
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        KafkaCommandConsumer c = new KafkaCommandConsumer(() -> consumer, "tether.commands", ledger, new MemoryFeed(10),
                meters, Clock.systemUTC()).start();
        try {
            // The first poll: k0 could not be stored, so neither it nor what follows it in its
            // partition is committed, and the consumer is back at k0 (MockConsumer does not
            // deliver again by itself: the test adds the records again, as the broker would).
            await().atMost(Duration.ofSeconds(10)).until(() -> ledger.submits.get() == 3);
            await().atMost(Duration.ofSeconds(5)).until(() -> position(consumer, tp) == 0);
            assertThat(committed(consumer, tp)).isNull();
            consumer.schedulePollTask(records);
            await().atMost(Duration.ofSeconds(10)).until(() -> committed(consumer, tp) != null && committed(consumer, tp) == 3);
        } finally {
            c.close();
        }
        assertThat(ledger.accepted).contains("k0", "k1", "k2"); // k1 and k2 twice: their idempotency keys dedupe them
        assertThat(meters.get("tether.kafka.commands").tag("result", "rejected").counter().count()).isZero();
    }

    private static long position(MockConsumer<byte[], byte[]> c, TopicPartition tp) {
        synchronized (c) {
            return c.position(tp);
        }
    }

    private static Long committed(MockConsumer<byte[], byte[]> c, TopicPartition tp) {
        synchronized (c) {
            var m = c.committed(Set.of(tp)).get(tp);
            return m == null ? null : m.offset();
        }
    }

    /** Refuses the first {@code unavailable} submits with UNAVAILABLE, then accepts. */
    private static final class FakeLedger implements Commands {
        final AtomicInteger unavailable;
        final List<String> accepted = new CopyOnWriteArrayList<>();
        final AtomicInteger submits = new AtomicInteger();

        FakeLedger(int unavailable) {
            this.unavailable = new AtomicInteger(unavailable);
        }

        @Override
        public CompletionStage<Submitted> submit(CommandRequest r) {
            submits.incrementAndGet();
            if (unavailable.getAndDecrement() > 0) {
                return CompletableFuture.failedFuture(new CommandException(CommandException.Kind.UNAVAILABLE, "disk full"));
            }
            accepted.add(r.idempotencyKey());
            return CompletableFuture.completedFuture(new Submitted(new Command("01J" + r.idempotencyKey(), r.deviceId(), 1,
                    r.payload(), r.idempotencyKey(), CommandState.QUEUED, 0, 1, 0, 0, 0, 0, null, ""), true));
        }

        @Override
        public CompletionStage<Optional<Command>> get(String id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletionStage<Command> await(String id, Duration wait) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletionStage<List<Command>> list(String deviceId, Set<CommandState> states, int limit) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletionStage<Command> cancel(String id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int open(String deviceId) {
            return 0;
        }
    }
}
