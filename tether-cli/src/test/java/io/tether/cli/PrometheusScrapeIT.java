package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15: a real Prometheus server scrapes {@code tether serve --admin}'s {@code /metrics} and,
 * after a mixed {@code tether sim} run (normal, silent, fin, rst, flap devices), its HTTP API
 * gives the same close counts by reason as the server's event log.
 */
class PrometheusScrapeIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path work;
    private ServerProcess server;
    private PrometheusServer prometheus;

    @AfterEach
    void stop() {
        if (prometheus != null) {
            prometheus.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void closeCountsByReason_inPrometheus_equalTheEventLog() throws Exception {
        int adminPort = PrometheusServer.freePort();
        server = ServerProcess.start(work, "--insecure-no-auth", "--admin", "127.0.0.1:" + adminPort,
                "--min-heartbeat", "100ms", "--drain", "200ms");
        prometheus = PrometheusServer.start(work, adminPort);
        String target = "127.0.0.1:" + server.port();

        ExecutorService sims = Executors.newFixedThreadPool(5);
        try {
            List<Future<Cli>> runs = List.of(
                    sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "20", "--messages", "5",
                            "--duration", "8s", "--id-prefix", "normal-")),
                    sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "10", "--behaviour", "silent",
                            "--heartbeat", "200ms", "--duration", "8s", "--id-prefix", "silent-")),
                    sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "5", "--behaviour", "fin",
                            "--messages", "3", "--id-prefix", "fin-")),
                    sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "5", "--behaviour", "rst",
                            "--messages", "3", "--id-prefix", "rst-")),
                    sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "5", "--behaviour", "flap",
                            "--flap-interval", "300ms", "--duration", "8s", "--id-prefix", "flap-")));
            for (Future<Cli> run : runs) {
                assertThat(run.get(60, TimeUnit.SECONDS).code()).as("sim exit status").isZero();
            }
        } finally {
            sims.shutdownNow();
        }

        // Every connection of the run has closed and been logged: the log stops growing and
        // accounts for every connection the server counted.
        Map<String, Long> logged = await("every close in the event log").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500))
                .until(this::closesInEventLog, m -> m.equals(closesInEventLogAfter(Duration.ofMillis(1500))));
        System.out.println("event log closes by reason: " + logged);
        assertThat(logged).containsKeys("NORMAL", "HEARTBEAT_TIMEOUT", "PEER_CLOSED", "PEER_RESET", "TAKEN_OVER");

        Map<String, Double> expected = new TreeMap<>();
        logged.forEach((reason, n) -> expected.put(reason, n.doubleValue()));
        String query = "sum by (reason) (tether_connections_closed_total{job=\"tether\"}) > 0";
        Map<String, Double> scraped;
        try {
            scraped = await("Prometheus has scraped the final counts").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> prometheus.query(query, "reason"), expected::equals);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("Prometheus " + prometheus.query(query, "reason") + " != event log " + expected
                    + "; target " + prometheus.targetHealth() + "\n" + prometheus.logText(), e);
        }
        System.out.println("Prometheus " + query + ": " + scraped);

        // The lateness histogram counted each heartbeat close, and the errno label carries the resets'.
        assertThat(prometheus.query("tether_detection_lateness_seconds_count{reason=\"HEARTBEAT_TIMEOUT\"}", "reason"))
                .containsEntry("HEARTBEAT_TIMEOUT", expected.get("HEARTBEAT_TIMEOUT"));
        Map<String, Double> resets = prometheus.query("sum by (errno) (tether_connections_closed_total{reason=\"PEER_RESET\"})", "errno");
        System.out.println("PEER_RESET by errno: " + resets);
        assertThat(resets).containsEntry("ECONNRESET", expected.get("PEER_RESET"));
        assertThat(prometheus.query("tether_sessions_opened_total", "job")).containsEntry("tether", (double) opensInEventLog());
        // JVM and process meters of tether serve.
        assertThat(prometheus.query("sum by (job) (jvm_memory_used_bytes)", "job")).containsKey("tether");
        assertThat(prometheus.query("process_files_open_files", "job")).containsKey("tether");
    }

    /** The counts again after {@code pause}: equal when the log has stopped growing. */
    private Map<String, Long> closesInEventLogAfter(Duration pause) {
        try {
            Thread.sleep(pause.toMillis());
            return closesInEventLog();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Map<String, Long> closesInEventLog() throws IOException {
        Map<String, Long> byReason = new TreeMap<>();
        for (JsonNode e : events()) {
            if ("close".equals(e.path("event").asText())) {
                byReason.merge(e.path("reason").asText(), 1L, Long::sum);
            }
        }
        return byReason;
    }

    private long opensInEventLog() throws IOException {
        return events().stream().filter(e -> "open".equals(e.path("event").asText())).count();
    }

    private List<JsonNode> events() throws IOException {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(server.eventsFile())) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }
}
