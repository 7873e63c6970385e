package io.tether.cli;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code prometheus} binary as a child process, scraping one target on loopback every
 * second, with its database in a temporary directory. {@link #close()} stops it (SIGTERM, then
 * SIGKILL); a shutdown hook does too if the test JVM exits first.
 */
final class PrometheusServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Thread killOnExit;

    private PrometheusServer(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.killOnExit = new Thread(process::destroyForcibly, "kill-prometheus");
        Runtime.getRuntime().addShutdownHook(killOnExit);
    }

    /**
     * Starts Prometheus scraping {@code http://127.0.0.1:targetPort/metrics} every second and waits
     * until it is ready.
     *
     * @throws AssertionError if the binary is missing (install it: {@code apt-get install prometheus})
     *     or it does not become ready within 30 s
     */
    static PrometheusServer start(Path workDir, int targetPort) throws IOException {
        Path binary = Path.of("/usr/bin/prometheus");
        if (!Files.isExecutable(binary)) {
            throw new AssertionError(binary + " not found: install Debian's prometheus package (.ci/run does)");
        }
        Path config = workDir.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: tether
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(targetPort));
        int port = freePort();
        Path log = workDir.resolve("prometheus.log");
        Process p = new ProcessBuilder(List.of(binary.toString(),
                "--config.file=" + config,
                "--storage.tsdb.path=" + workDir.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + port,
                "--log.level=warn"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        PrometheusServer server = new PrometheusServer(p, port, log);
        try {
            await("prometheus ready on 127.0.0.1:" + port).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        if (!p.isAlive()) {
                            throw new AssertionError("prometheus exited with " + p.exitValue() + ":\n" + Files.readString(log));
                        }
                        try {
                            return server.get("/-/ready").statusCode() == 200;
                        } catch (java.io.IOException notListeningYet) {
                            return false; // connection refused until Prometheus has bound its port
                        }
                    });
        } catch (RuntimeException | Error e) {
            server.close();
            throw e;
        }
        return server;
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * An instant query through the HTTP API ({@code /api/v1/query}), as label value → sample value
     * for a vector result grouped by {@code label}; "" for a series without it.
     */
    Map<String, Double> query(String promql, String label) throws IOException, InterruptedException {
        HttpResponse<String> res = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        JsonNode body = JSON.readTree(res.body());
        if (res.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
            throw new AssertionError("query " + promql + ": HTTP " + res.statusCode() + " " + res.body());
        }
        Map<String, Double> out = new TreeMap<>();
        for (JsonNode r : body.path("data").path("result")) {
            out.put(r.path("metric").path(label).asText(""), Double.parseDouble(r.path("value").get(1).asText()));
        }
        return out;
    }

    /** The scrape target's health as Prometheus sees it ("up", "down", "unknown"), and its last error. */
    String targetHealth() throws IOException, InterruptedException {
        JsonNode t = JSON.readTree(get("/api/v1/targets").body()).path("data").path("activeTargets");
        return t.isEmpty() ? "no target" : t.get(0).path("health").asText() + " " + t.get(0).path("lastError").asText();
    }

    String logText() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException e) {
            // the JVM is already exiting: the hook runs, harmlessly
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
