package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.KafkaOptions;
import io.tether.server.internal.feed.MemoryFeed;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.*;

class KafkaScratchIT {
    @Test
    void throughput() throws Exception {
        String bs = System.getProperty("scratch.kafka");
        Assumptions.assumeTrue(bs != null);
        int devices = 200, per = Integer.getInteger("scratch.per", 500);
        String suffix = Long.toString(System.nanoTime());
        KafkaOptions o = KafkaOptions.builder(bs).gatewayId("scratch-" + suffix)
                .topics(KafkaOptions.Topics.DEFAULT.withMessages("m-" + suffix).withOffsets("o-" + suffix))
                .build();
        MemoryFeed feed = new MemoryFeed(devices * per + 10);
        byte[] payload = new byte[100];
        for (int s = 1; s <= per; s++) for (int d = 0; d < devices; d++) feed.appendMessage("dev-" + d, 1, s, System.currentTimeMillis(), payload);
        KafkaForwarder f = KafkaForwarder.create(feed, new KafkaClients(o), new SimpleMeterRegistry(), Clock.systemUTC());
        long t0 = System.nanoTime();
        f.start();
        long connectedAt = 0;
        while (feed.forwarded() < feed.head()) { if (connectedAt == 0 && f.state() != KafkaForwarder.State.CONNECTING) connectedAt = System.nanoTime(); Thread.sleep(5); }
        long t1 = System.nanoTime();
        System.err.printf("SCRATCH forwarded %d in %.2f s (from connect %.2f s): %.0f/s%n", feed.head(), (t1 - t0) / 1e9, (t1 - connectedAt) / 1e9, feed.head() / ((t1 - connectedAt) / 1e9));
        f.close();
        Properties p = new Properties();
        p.put("bootstrap.servers", bs); p.put("isolation.level", "read_committed"); p.put("group.id", "chk-" + suffix); p.put("auto.offset.reset", "earliest");
        Map<String, Long> last = new HashMap<>(); int total = 0, dup = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of("m-" + suffix));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (total < devices * per && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    String k = new String(r.key(), StandardCharsets.UTF_8);
                    long seq = Long.parseLong(new String(r.headers().lastHeader("seq").value(), StandardCharsets.US_ASCII));
                    Long prev = last.put(k, seq);
                    if (prev != null && seq != prev + 1) dup++;
                    total++;
                }
            }
        }
        System.err.printf("SCRATCH consumed %d, order breaks %d%n", total, dup);
    }
}
