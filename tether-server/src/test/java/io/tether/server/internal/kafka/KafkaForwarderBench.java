package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.KafkaOptions;
import io.tether.server.MessageStore;
import io.tether.server.MessageStores;
import io.tether.server.internal.feed.MemoryFeed;
import io.tether.testkit.kafka.KafkaBroker;
import io.tether.testkit.kafka.ReadCommittedChecker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The forwarder's throughput, for bench/kafka (not a test: surefire runs *Test and *IT only).
 * In one run, on one machine: (A) the local store alone, 100-byte messages appended to the RocksDB
 * store with fsync as devices' messages are; (B) the forwarder moving the same number of 100-byte
 * message entries from the feed into a real broker on this machine, for each compression type
 * asked for; then a read_committed consumer counts what arrived. Prints one JSON object.
 *
 * <p>Arguments: {@code --messages N} (default 500,000), {@code --devices N} (1,000),
 * {@code --compression none,lz4}, {@code --dir DIR} (target/kafka-bench), {@code --transaction-entries N}
 * (the forwarder's default), {@code --latency-rate N} (10,000 per second; 0 = skip), {@code --no-verify}.
 * Then (C) appended-to-visible latency: entries appended at that rate for 15 s, a read_committed
 * consumer taking now − receivedAt of each.
 */
public final class KafkaForwarderBench {
    /** Entries per transaction at most: the forwarder's default unless --transaction-entries. */
    private static int transactionEntries = KafkaOptions.DEFAULT_TRANSACTION_ENTRIES;

    private KafkaForwarderBench() {
    }

    public static void main(String[] args) throws Exception {
        int messages = 500_000;
        int devices = 1_000;
        String compression = "none,lz4";
        Path dir = Path.of("target", "kafka-bench");
        boolean verify = true;
        int latencyRate = 10_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--messages" -> messages = Integer.parseInt(args[++i]);
                case "--devices" -> devices = Integer.parseInt(args[++i]);
                case "--compression" -> compression = args[++i];
                case "--dir" -> dir = Path.of(args[++i]);
                case "--no-verify" -> verify = false;
                case "--transaction-entries" -> transactionEntries = Integer.parseInt(args[++i]);
                case "--latency-rate" -> latencyRate = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path run = dir.resolve("run-" + System.currentTimeMillis());
        Files.createDirectories(run);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("messages", messages);
        out.put("devices", devices);
        out.put("payloadBytes", 100);
        out.put("transactionEntries", transactionEntries);

        double storeRate = storeOnly(run.resolve("store"), messages, devices);
        out.put("storeAppendsPerSec", Math.round(storeRate));

        try (KafkaBroker kafka = KafkaBroker.builder().dataDir(run.resolve("broker")).jvmOptions(KafkaBroker.BENCH_JVM).start()) {
            // JIT warm-up of the producer's path and the broker's, not reported: the first
            // measured codec would otherwise pay for it.
            forward(kafka, "none", Math.min(messages, 100_000), devices, false, storeRate, null);
            List<Map<String, Object>> runs = new ArrayList<>();
            int n = 0;
            for (String codec : compression.split(",")) {
                runs.add(forward(kafka, codec.strip(), messages, devices, verify, storeRate,
                        run.resolve("feed-" + (++n) + "-" + codec.strip())));
            }
            out.put("forwarder", runs);
            if (latencyRate > 0) {
                out.put("latency", latency(kafka, latencyRate, 15, devices));
            }
        }
        System.out.println(json(out));
    }

    /** Appends to the RocksDB store (fsync on), at most 64k in flight, as the server's back-pressure allows. */
    private static double storeOnly(Path data, int messages, int devices) throws Exception {
        MessageStore store = MessageStores.rocksDb(data, true);
        try {
            byte[] payload = new byte[100];
            new java.util.Random(42).nextBytes(payload);
            Semaphore inFlight = new Semaphore(65_536);
            CountDownLatch done = new CountDownLatch(messages);
            AtomicLong errors = new AtomicLong();
            long t0 = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                inFlight.acquire();
                store.append("dev-" + (i % devices), i / devices + 1, payload, System.currentTimeMillis(), (r, err) -> {
                    if (err != null) {
                        errors.incrementAndGet();
                    }
                    inFlight.release();
                    done.countDown();
                });
            }
            done.await();
            double secs = (System.nanoTime() - t0) / 1e9;
            if (errors.get() > 0) {
                throw new IllegalStateException(errors.get() + " appends failed");
            }
            return messages / secs;
        } finally {
            store.close();
        }
    }

    /**
     * @param storeDir where the RocksDB store whose feed is forwarded lives; null to forward an
     *                 in-memory feed (the warm-up)
     */
    private static Map<String, Object> forward(KafkaBroker kafka, String codec, int messages, int devices, boolean verify,
                                               double storeRate, Path storeDir) throws Exception {
        String suffix = codec + "-" + System.nanoTime();
        io.tether.server.internal.feed.Feed feed;
        io.tether.server.internal.delivery.RocksDbMessageStore store = null;
        // Random bytes, as sensor readings and encrypted payloads are: compression cannot cheat.
        java.util.Random random = new java.util.Random(42);
        if (storeDir == null) {
            MemoryFeed memory = new MemoryFeed(messages);
            for (int i = 0; i < messages; i++) {
                byte[] payload = new byte[100];
                random.nextBytes(payload);
                memory.appendMessage("dev-" + (i % devices), 1, i / devices + 1, System.currentTimeMillis(), payload);
            }
            feed = memory;
        } else {
            // The store as tether serve --kafka opens it: the messages and their feed entries in
            // one batch, kept until forwarded. Filled first; the forwarder then reads its feed.
            store = io.tether.server.internal.delivery.RocksDbMessageStore.open(storeDir,
                    io.tether.server.internal.delivery.RocksDbMessageStore.Options.builder().sync(true).feed(true)
                            .forwarding(true).queueCapacity(65_536).build());
            Semaphore inFlight = new Semaphore(65_536);
            CountDownLatch done = new CountDownLatch(messages);
            for (int i = 0; i < messages; i++) {
                byte[] payload = new byte[100];
                random.nextBytes(payload);
                inFlight.acquire();
                store.append("dev-" + (i % devices), i / devices + 1, payload, System.currentTimeMillis(), (r, err) -> {
                    inFlight.release();
                    done.countDown();
                });
            }
            done.await();
            feed = store.feed();
        }
        // The feed's read path alone, in the forwarder's chunks: what B cannot go faster than.
        long r0 = System.nanoTime();
        long readCount = 0;
        for (long after = 0; ; ) {
            List<io.tether.server.internal.feed.Feed.Entry> chunk = feed.read(after, transactionEntries);
            if (chunk.isEmpty()) {
                break;
            }
            readCount += chunk.size();
            after = chunk.get(chunk.size() - 1).offset();
        }
        double readPerSec = readCount / ((System.nanoTime() - r0) / 1e9);
        KafkaOptions options = KafkaOptions.builder(kafka.bootstrap()).gatewayId("bench-" + suffix)
                .topics(KafkaOptions.Topics.DEFAULT.withMessages("bench.messages." + suffix)
                        .withEvents("bench.events." + suffix).withCommandResults("bench.results." + suffix)
                        .withOffsets("bench.offsets." + suffix))
                .properties(Map.of("compression.type", codec)).maxTransactionEntries(transactionEntries).build();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        KafkaForwarder f = KafkaForwarder.create(feed, new KafkaClients(options), meters, Clock.systemUTC());
        long t0 = System.nanoTime();
        f.start();
        long connected = 0;
        long target = feed.head();
        while (feed.forwarded() < target) {
            if (connected == 0 && f.state() != KafkaForwarder.State.CONNECTING) {
                connected = System.nanoTime();
            }
            if (System.nanoTime() - t0 > Duration.ofMinutes(10).toNanos()) {
                throw new IllegalStateException("not forwarded within 10 minutes: " + f.status());
            }
            Thread.sleep(2);
        }
        long t1 = System.nanoTime();
        double secs = (t1 - connected) / 1e9;
        f.close();
        if (store != null) {
            store.close();
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("compression", codec);
        r.put("source", storeDir == null ? "memory feed" : "RocksDB store's feed");
        r.put("feedReadPerSec", Math.round(readPerSec));
        r.put("forwardedPerSec", Math.round(messages / secs));
        r.put("seconds", round(secs));
        r.put("connectSeconds", round((connected - t0) / 1e9));
        r.put("transactions", (long) meters.get("tether.forwarder.transactions").tag("result", "committed").counter().count());
        r.put("ratioToStore", round(messages / secs / storeRate));
        if (verify) {
            try (ReadCommittedChecker c = ReadCommittedChecker.create(kafka.controlBootstrap(), options.topics().messages())) {
                c.pollUntil(s -> s.total() >= messages && s.caughtUp(), Duration.ofMinutes(5));
                r.put("readCommitted", c.total());
            }
        }
        return r;
    }

    /**
     * Appended → visible: entries appended at {@code rate} per second for {@code seconds} (the
     * append stands for the device's ACK: with the store, a message is appended, fsynced, then
     * acknowledged), while a read_committed consumer measures now − receivedAt of each record.
     * The first 2 s are warm-up, not counted. Milliseconds, one clock.
     */
    private static Map<String, Object> latency(KafkaBroker kafka, int rate, int seconds, int devices) throws Exception {
        String suffix = "lat-" + System.nanoTime();
        MemoryFeed feed = new MemoryFeed(rate * seconds + 1);
        KafkaOptions options = KafkaOptions.builder(kafka.bootstrap()).gatewayId("bench-" + suffix)
                .topics(KafkaOptions.Topics.DEFAULT.withMessages("bench.messages." + suffix)
                        .withEvents("bench.events." + suffix).withCommandResults("bench.results." + suffix)
                        .withOffsets("bench.offsets." + suffix))
                .build();
        KafkaForwarder f = KafkaForwarder.create(feed, new KafkaClients(options), new SimpleMeterRegistry(), Clock.systemUTC())
                .start();
        while (f.state() == KafkaForwarder.State.CONNECTING) {
            Thread.sleep(10);
        }
        java.util.Properties p = new java.util.Properties();
        p.put("bootstrap.servers", kafka.controlBootstrap());
        p.put("isolation.level", "read_committed");
        p.put("fetch.max.wait.ms", "5");
        List<Long> samples = new ArrayList<>();
        long total = (long) rate * seconds;
        long warmUntil = System.currentTimeMillis() + 2_000;
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> c = new org.apache.kafka.clients.consumer.KafkaConsumer<>(
                p, new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            List<org.apache.kafka.common.TopicPartition> tps = new ArrayList<>();
            for (org.apache.kafka.common.PartitionInfo pi : c.partitionsFor(options.topics().messages(), Duration.ofSeconds(30))) {
                tps.add(new org.apache.kafka.common.TopicPartition(pi.topic(), pi.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Thread appender = new Thread(() -> {
                long start = System.nanoTime();
                java.util.Random random = new java.util.Random(7);
                for (long i = 0; i < total; i++) {
                    long due = start + i * 1_000_000_000L / rate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                    byte[] payload = new byte[100];
                    random.nextBytes(payload);
                    feed.appendMessage("dev-" + (i % devices), 1, i / devices + 1, System.currentTimeMillis(), payload);
                }
            }, "bench-appender");
            appender.start();
            long seen = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(seconds + 60).toNanos();
            while (seen < total && System.nanoTime() < deadline) {
                for (org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
                    long now = System.currentTimeMillis();
                    long at = Long.parseLong(new String(r.headers().lastHeader("receivedAt").value(),
                            java.nio.charset.StandardCharsets.US_ASCII));
                    if (at >= warmUntil) {
                        samples.add(now - at);
                    }
                    seen++;
                }
            }
            appender.join();
        } finally {
            f.close();
        }
        java.util.Collections.sort(samples);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("rate", rate);
        r.put("seconds", seconds);
        r.put("samples", samples.size());
        r.put("p50Ms", samples.isEmpty() ? -1 : samples.get(samples.size() / 2));
        r.put("p99Ms", samples.isEmpty() ? -1 : samples.get((int) Math.min(samples.size() - 1, Math.ceil(samples.size() * 0.99) - 1)));
        r.put("maxMs", samples.isEmpty() ? -1 : samples.get(samples.size() - 1));
        return r;
    }

    private static double round(double d) {
        return Math.round(d * 1000) / 1000.0;
    }

    private static String json(Object o) {
        if (o instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("{");
            m.forEach((k, v) -> b.append(b.length() > 1 ? "," : "").append('"').append(k).append("\":").append(json(v)));
            return b.append('}').toString();
        }
        if (o instanceof List<?> l) {
            StringBuilder b = new StringBuilder("[");
            for (Object v : l) {
                b.append(b.length() > 1 ? "," : "").append(json(v));
            }
            return b.append(']').toString();
        }
        if (o instanceof String s) {
            return '"' + s + '"';
        }
        return String.format(Locale.ROOT, "%s", o);
    }
}
