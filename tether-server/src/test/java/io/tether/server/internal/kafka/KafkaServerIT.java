package io.tether.server.internal.kafka;

import io.tether.client.TetherClient;
import io.tether.server.KafkaOptions;
import io.tether.server.TetherServer;
import io.tether.server.internal.delivery.RocksDbMessageStore;
import io.tether.testkit.kafka.KafkaBroker;
import io.tether.testkit.kafka.ReadCommittedChecker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole path: devices send to a {@link TetherServer} on the RocksDB store with
 * {@code Builder.kafka}; their messages and session events come out of Kafka for a read_committed
 * consumer, once each and in order, across a restart of the server; with {@code --ack-after kafka}
 * in the second run, every message acknowledged is in Kafka.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class KafkaServerIT {
    private static final int DEVICES = 20;
    private static final int PER_RUN = 100;

    @TempDir
    Path dir;
    private KafkaBroker kafka;
    private TetherServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private TetherServer start(boolean ackAfterKafka) throws Exception {
        RocksDbMessageStore store = RocksDbMessageStore.open(dir.resolve("data"), RocksDbMessageStore.Options.builder()
                .sync(true).feed(true).forwarding(true).ackAfterForward(ackAfterKafka).build());
        return TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(2)).store(store)
                .kafka(KafkaOptions.builder(kafka.bootstrap()).gatewayId("server-it").build())
                .build().start();
    }

    /** Each device connects, sends {@code from} to {@code to - 1}, waits for every ACK, and leaves. */
    private void send(int from, int to) throws Exception {
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        List<TetherClient> devices = new ArrayList<>();
        for (int d = 0; d < DEVICES; d++) {
            TetherClient c = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("dev-" + d).build();
            devices.add(c);
            c.connect().get(10, TimeUnit.SECONDS);
            for (int i = from; i < to; i++) {
                acks.add(c.send(("dev-" + d + ":" + i).getBytes(StandardCharsets.UTF_8)));
            }
        }
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        for (TetherClient c : devices) {
            c.close();
        }
    }

    private static long seq(ReadCommittedChecker.Entry e) {
        return Long.parseLong(e.headerText("seq"));
    }

    @Test
    void devicesMessagesAndSessions_reachKafkaOnceInOrder_acrossARestart_andAckAfterKafka() throws Exception {
        kafka = KafkaBroker.builder().dataDir(dir.resolve("broker")).start();
        server = start(false);
        send(0, PER_RUN);
        server.close();

        server = start(true);
        send(PER_RUN, 2 * PER_RUN);
        // --ack-after kafka: every ACK of the second run came after its transaction committed, so
        // with the server still running (the forwarder's shutdown cannot help), all are in Kafka.
        try (ReadCommittedChecker m = ReadCommittedChecker.create(kafka.controlBootstrap(), "tether.messages")) {
            m.pollUntil(s -> s.total() >= DEVICES * 2 * PER_RUN && s.caughtUp(), Duration.ofSeconds(60));
            assertThat(m.total()).isEqualTo(DEVICES * 2 * PER_RUN);
            assertThat(m.keys()).hasSize(DEVICES);
            assertThat(m.duplicates(KafkaServerIT::seq)).isEmpty();
            assertThat(m.outOfOrder(KafkaServerIT::seq)).isEmpty();
            ReadCommittedChecker.Entry first = m.records("dev-3").get(0);
            assertThat(first.valueText()).isEqualTo("dev-3:0");
            assertThat(first.headerText("seq")).isEqualTo("1");
            assertThat(Long.parseLong(first.headerText("receivedAt"))).isPositive();
            assertThat(Long.parseLong(first.headerText("session"))).isPositive();
        }
        try (ReadCommittedChecker e = ReadCommittedChecker.create(kafka.controlBootstrap(), "tether.events")) {
            // Two sessions per device, each with its open and its close.
            e.pollUntil(s -> s.total() >= DEVICES * 4 && s.caughtUp(), Duration.ofSeconds(60));
            for (int d = 0; d < DEVICES; d++) {
                List<String> events = e.records("dev-" + d).stream().map(ReadCommittedChecker.Entry::valueText).toList();
                assertThat(events.stream().filter(t -> t.contains("\"event\":\"open\""))).as("dev-%d opens", d).hasSize(2);
                assertThat(events.stream().filter(t -> t.contains("\"event\":\"close\""))).as("dev-%d closes", d).hasSize(2);
            }
            assertThat(e.duplicates(r -> Long.parseLong(r.headerText("offset")))).isEmpty();
        }
    }
}
