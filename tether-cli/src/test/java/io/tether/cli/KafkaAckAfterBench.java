package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.testkit.kafka.KafkaBroker;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code --ack-after kafka} against {@code --ack-after store} (issue 14 target: ≥ 30,000
 * acknowledged msg/s with 1,000 devices), run by {@code bench/kafka-ack}: a real broker (its own
 * JVM), {@code tether serve --kafka} and {@code tether sim} as processes from the shipped jar, all
 * on this machine's cores. Per round and mode: a fresh server and data directory, 1,000 devices
 * send M messages of 100 bytes each with a window of W unacknowledged (the SDK's), and the
 * simulator's {@code ackedPerSecond} (first send to last ACK) is the figure. Modes alternate,
 * rounds are repeated, so the ratio compares like with like. Prints one JSON line per run.
 *
 * <p>Arguments: {@code JAR ROUNDS MESSAGES WINDOW}.
 */
public final class KafkaAckAfterBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private KafkaAckAfterBench() {
    }

    public static void main(String[] args) throws Exception {
        String jar = args[0];
        int rounds = Integer.parseInt(args[1]);
        int messages = Integer.parseInt(args[2]);
        int window = Integer.parseInt(args[3]);
        Path work = Files.createTempDirectory("tether-bench-kafka-ack-");
        try (KafkaBroker kafka = KafkaBroker.builder().dataDir(work.resolve("kafka")).jvmOptions(KafkaBroker.BENCH_JVM).start()) {
            kafka.createTopics("tether.messages", "tether.events", "tether.command-results");
            for (int r = 1; r <= rounds; r++) {
                for (String mode : r % 2 == 1 ? List.of("store", "kafka") : List.of("kafka", "store")) {
                    JsonNode sim = run(jar, kafka, work.resolve("r" + r + "-" + mode), mode, messages, window);
                    String line = String.format("{\"round\":%d,\"ackAfter\":\"%s\",\"devices\":1000,\"messages\":%d,"
                                    + "\"window\":%d,\"acked\":%d,\"ackedPerSecond\":%d,\"ackP50Ms\":%s,\"ackP99Ms\":%s}",
                            r, mode, messages, window, sim.path("messagesAcked").asLong(),
                            sim.path("ackedPerSecond").asLong(), sim.path("ackLatencyMs").path("p50").asText(),
                            sim.path("ackLatencyMs").path("p99").asText());
                    System.out.println(line);
                }
            }
        }
    }

    private static JsonNode run(String jar, KafkaBroker kafka, Path dir, String mode, int messages, int window)
            throws Exception {
        Files.createDirectories(dir);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> serve = new ArrayList<>(List.of("java", "-Xms64m", "-Xss256k", "-XX:+UseG1GC", "-jar", jar, "serve",
                "--insecure-no-auth", "--bind", "127.0.0.1", "--port", String.valueOf(port), "--flapping", "off",
                "--data-dir", dir.resolve("data").toString(), "--events", dir.resolve("events.jsonl").toString(),
                "--kafka", kafka.bootstrap(), "--ack-after", mode));
        Process server = new ProcessBuilder(serve).redirectErrorStream(true)
                .redirectOutput(dir.resolve("serve.log").toFile()).start();
        try {
            waitListening(port, server, dir);
            Process sim = new ProcessBuilder("java", "-Xss256k", "-jar", jar, "sim", "--target", "127.0.0.1:" + port,
                    "--devices", "1000", "--messages", String.valueOf(messages), "--window", String.valueOf(window),
                    "--payload-size", "100", "--duration", "300s", "--stop-when-acked")
                    .redirectError(dir.resolve("sim.err").toFile()).start();
            String summary = new String(sim.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            sim.waitFor(60, TimeUnit.SECONDS);
            String last = summary.substring(summary.lastIndexOf('\n') + 1);
            return JSON.readTree(last);
        } finally {
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }

    private static void waitListening(int port, Process server, Path dir) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new IOException("tether serve exited: " + Files.readString(dir.resolve("serve.log")));
            }
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new IOException("tether serve did not listen within 60 s");
    }
}
