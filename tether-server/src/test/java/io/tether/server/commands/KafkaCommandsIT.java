package io.tether.server.commands;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.protocol.Frame;
import io.tether.server.Command;
import io.tether.server.CommandLimits;
import io.tether.server.KafkaOptions;
import io.tether.server.SessionListener;
import io.tether.server.TetherServer;
import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.MemoryFeed;
import io.tether.server.internal.kafka.KafkaGateway;
import io.tether.testkit.kafka.KafkaBroker;
import io.tether.testkit.kafka.ReadCommittedChecker;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Commands through Kafka alone: records on tether.commands reach a protocol-v2 device through the
 * ledger, each once, and every outcome (results, refusals) is on tether.command-results for a
 * read_committed consumer.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class KafkaCommandsIT {
    private KafkaBroker kafka;
    private TetherServer server;
    private KafkaGateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (server != null) {
            server.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    /** As the store's feed records a command change (a stand-in for it in this test): its JSON on the feed. */
    private static byte[] change(Command c) {
        String result = c.result() == null ? "null" : "\"" + new String(c.result(), StandardCharsets.UTF_8) + "\"";
        return ("{\"id\":\"" + c.id() + "\",\"state\":\"" + c.state() + "\",\"seq\":" + c.seq() + ",\"idempotencyKey\":\""
                + c.idempotencyKey() + "\",\"result\":" + result + "}").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void commandsFromKafka_reachTheDeviceOnceEach_andResultsAndRefusalsAreInCommandResults() throws Exception {
        kafka = KafkaBroker.builder().dataDir(Path.of("target", "kafka", "KafkaCommandsIT-" + System.nanoTime())).start();
        kafka.createTopics("tether.commands");
        MemoryFeed feed = new MemoryFeed(10_000);
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(2))
                .commandLimits(new CommandLimits(2, Duration.ofHours(1), Duration.ofDays(7), 32))
                .listener(new SessionListener() {
                    @Override
                    public void onCommand(Command c) {
                        feed.append(Feed.Kind.COMMAND, c.deviceId(), 0, c.seq(), System.currentTimeMillis(), change(c));
                    }
                })
                .build().start();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        KafkaOptions options = KafkaOptions.builder(kafka.bootstrap()).gatewayId("cmd-it")
                .topics(KafkaOptions.Topics.DEFAULT.withCommands("tether.commands")).build();
        gateway = KafkaGateway.start(options, feed, server.commands(), meters, Clock.systemUTC());

        try (KafkaProducer<byte[], byte[]> backend = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap()), new ByteArraySerializer(), new ByteArraySerializer())) {
            backend.send(command("meter-1", "reboot", "k1", null));
            backend.send(command("meter-1", "reboot", "k1", null));        // the backend retried: the same command
            backend.send(command("meter-1", "update", "k2", "10m"));
            backend.send(command("meter-1", "no key", null, null));        // refused: cannot be deduplicated
            backend.send(command("meter-1", "third", "k3", null));         // refused: 2 open is the limit
            backend.flush();
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> count(meters, "rejected") == 2 && count(meters, "accepted") == 2);
        assertThat(count(meters, "duplicate")).isEqualTo(1);
        assertThat(server.commands().open("meter-1")).isEqualTo(2);

        List<String> received = new ArrayList<>();
        try (V2Device d = new V2Device(server.port())) {
            d.hello("meter-1");
            int resultAcks = 0;
            while (received.size() < 2 || resultAcks < 2) {
                Frame f = d.read();
                if (f instanceof Frame.ResultAck) {
                    resultAcks++;
                    continue;
                }
                Frame.Command c = (Frame.Command) f;
                received.add(new String(c.payload(), StandardCharsets.UTF_8));
                d.send(new Frame.CommandAck(c.seq()));
                d.send(new Frame.Result(c.seq(), Frame.Result.SUCCEEDED, ("done " + c.seq()).getBytes(StandardCharsets.UTF_8)));
            }
            assertThat(d.silentFor(500)).as("no third command").isTrue();
        }
        assertThat(received).containsExactly("reboot", "update");

        try (ReadCommittedChecker results = ReadCommittedChecker.create(kafka.controlBootstrap(), "tether.command-results")) {
            results.pollUntil(s -> texts(results).stream().filter(t -> t.contains("\"SUCCEEDED\"")).count() == 2,
                    Duration.ofSeconds(60));
            List<String> all = texts(results);
            assertThat(results.keys()).containsExactly("meter-1");
            assertThat(all.stream().filter(t -> t.contains("\"state\":\"REJECTED\""))).hasSize(2)
                    .anySatisfy(t -> assertThat(t).contains("\"idempotencyKey\":null").contains("no idempotency-key header"))
                    .anySatisfy(t -> assertThat(t).contains("\"idempotencyKey\":\"k3\"").contains("\"error\":\"QUEUE_FULL\""));
            assertThat(all.stream().filter(t -> t.contains("\"state\":\"SUCCEEDED\"")))
                    .anySatisfy(t -> assertThat(t).contains("\"idempotencyKey\":\"k1\"").contains("\"result\":\"done 1\""))
                    .anySatisfy(t -> assertThat(t).contains("\"idempotencyKey\":\"k2\"").contains("\"result\":\"done 2\""));
            assertThat(all.stream().filter(t -> t.contains("\"state\":\"QUEUED\""))).as("one command per key").hasSize(2);
        }
    }

    private static List<String> texts(ReadCommittedChecker c) {
        return c.records("meter-1").stream().map(ReadCommittedChecker.Entry::valueText).toList();
    }

    private static double count(SimpleMeterRegistry meters, String result) {
        return meters.get("tether.kafka.commands").tag("result", result).counter().count();
    }

    private static ProducerRecord<byte[], byte[]> command(String device, String payload, String key, String ttl) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>("tether.commands", device.getBytes(StandardCharsets.UTF_8),
                payload.getBytes(StandardCharsets.UTF_8));
        if (key != null) {
            r.headers().add(new RecordHeader("idempotency-key", key.getBytes(StandardCharsets.UTF_8)));
        }
        if (ttl != null) {
            r.headers().add(new RecordHeader("ttl", ttl.getBytes(StandardCharsets.UTF_8)));
        }
        return r;
    }
}
