package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
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
 * Issue 15: the admin dashboard in headless Chromium while {@code tether sim} runs normal, silent
 * and flapping devices. The page updates by itself, and once the counts are still, every number
 * it shows equals the admin JSON ({@code /metrics.json}, {@code /sockets}, {@code /closes},
 * {@code /sessions?device=}) read by the test. Screenshots at a laptop's and a phone's size go to
 * {@code target/dashboard/}.
 */
class DashboardChromiumIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SHOTS = Path.of("target", "dashboard");

    @TempDir
    Path work;
    private ServerProcess server;
    private HeadlessChromium browser;
    private final ExecutorService sims = Executors.newFixedThreadPool(3);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private int adminPort;

    @AfterEach
    void stop() {
        if (browser != null) {
            browser.close();
        }
        sims.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    @Test
    void dashboard_showsWhatTheAdminJsonSays_andUpdatesLive() throws Exception {
        adminPort = PrometheusServer.freePort();
        server = ServerProcess.start(work, "--insecure-no-auth", "--admin", "127.0.0.1:" + adminPort,
                "--min-heartbeat", "100ms", "--drain", "200ms",
                // A flapping device can leave a connection that never says HELLO; with the default 10 s
                // it would close (HANDSHAKE_TIMEOUT) after the counts below looked still (CI, 2026-12-02).
                "--handshake-timeout", "2s");
        String target = "127.0.0.1:" + server.port();
        Future<Cli> normal = sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "20", "--messages", "5",
                "--heartbeat", "1s", "--duration", "40s", "--id-prefix", "normal-"));
        Future<Cli> silent = sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "10", "--behaviour", "silent",
                "--heartbeat", "300ms", "--duration", "8s", "--id-prefix", "silent-"));
        Future<Cli> flap = sims.submit(() -> Cli.run("sim", "--target", target, "--devices", "4", "--behaviour", "flap",
                "--flap-interval", "300ms", "--duration", "8s", "--id-prefix", "flap-"));

        browser = HeadlessChromium.open(work, "http://127.0.0.1:" + adminPort + "/dashboard");

        // Live: the page polls by itself and shows sessions while the devices run.
        await("the page shows live sessions").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> number("sessions-live") > 0 && number("ticks") >= 3);
        double ticksWhileRunning = number("ticks");
        await("the page keeps updating").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
                .until(() -> number("ticks") >= ticksWhileRunning + 2);
        browser.screenshot(SHOTS.resolve("dashboard-laptop.png"), 1280, 900, false);
        browser.screenshot(SHOTS.resolve("dashboard-phone.png"), 390, 844, true);
        browser.screenshot(SHOTS.resolve("dashboard-laptop.png"), 1280, 900, false);

        assertThat(silent.get(60, TimeUnit.SECONDS).code()).as("silent sim").isZero();
        assertThat(flap.get(60, TimeUnit.SECONDS).code()).as("flap sim").isZero();

        // Still: the normal devices stay connected and quiet, the others are gone.
        await("the counts stop moving").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(this::counts, c -> c.equals(countsAfter(Duration.ofMillis(3000)))); // longer than the handshake timeout
        double ticks = number("ticks");
        // Two more updates: the second includes a /sockets and /closes poll (every other one).
        await("the page updates after the counts stop").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> number("ticks") >= ticks + 3);

        JsonNode shown = browser.eval("""
                (() => {
                  const n = id => Number(document.getElementById(id).textContent);
                  const closes = {};
                  for (const tr of document.querySelectorAll('#closes-table tr[data-reason]')) {
                    closes[tr.dataset.reason + '/' + tr.dataset.errno] = Number(tr.querySelector('.total').textContent);
                  }
                  return {live: n('sessions-live'), open: n('connections-open'), opened: n('opened-total'),
                          closed: n('closed-total'), takeovers: n('takeovers'), flapping: n('flapping-total'),
                          established: n('kernel-established'), registry: n('kernel-sessions'), ghosts: n('kernel-ghosts'),
                          orphans: n('kernel-orphans'), closeWait: n('kernel-closewait'), closes};
                })()""");
        JsonNode metrics = get("/metrics.json");
        JsonNode sockets = get("/sockets");
        System.out.println("dashboard shows: " + shown);

        Map<String, Double> closesJson = new TreeMap<>();
        for (JsonNode m : metrics.path("meters")) {
            if (m.path("name").asText().equals("tether.connections.closed") && m.path("value").asDouble() > 0) {
                closesJson.put(m.path("tags").path("reason").asText() + "/" + m.path("tags").path("errno").asText(),
                        m.path("value").asDouble());
            }
        }
        Map<String, Double> closesShown = new TreeMap<>();
        shown.path("closes").fields().forEachRemaining(e -> closesShown.put(e.getKey(), e.getValue().asDouble()));
        assertThat(closesShown).as("closes by reason and errno").isEqualTo(closesJson)
                .containsKeys("HEARTBEAT_TIMEOUT/none", "TAKEN_OVER/none");
        assertThat(shown.path("live").asDouble()).as("live sessions").isEqualTo(meter(metrics, "tether.sessions.live"))
                .isGreaterThanOrEqualTo(20); // the normal devices (a flapping device may still hold one too)
        assertThat(shown.path("open").asDouble()).as("TCP connections").isEqualTo(meter(metrics, "tether.connections.open"));
        assertThat(shown.path("opened").asDouble()).as("opened").isEqualTo(meter(metrics, "tether.sessions.opened"));
        assertThat(shown.path("closed").asDouble()).as("closed").isEqualTo(meter(metrics, "tether.connections.closed"));
        assertThat(shown.path("takeovers").asDouble()).as("takeovers").isEqualTo(meter(metrics, "tether.sessions.takeovers")).isPositive();
        assertThat(shown.path("established").asDouble()).as("kernel ESTABLISHED")
                .isEqualTo(sockets.path("states").path("ESTABLISHED").asDouble());
        assertThat(shown.path("registry").asDouble()).as("registry sessions").isEqualTo(sockets.path("sessions").asDouble());
        assertThat(shown.path("ghosts").asDouble()).as("ghosts").isEqualTo(sockets.path("ghosts").size());
        assertThat(shown.path("orphans").asDouble()).as("orphans").isEqualTo(sockets.path("orphans").size());
        assertThat(shown.path("closeWait").asDouble()).as("CLOSE_WAIT").isEqualTo(sockets.path("closeWait").asDouble());

        // Device search: a silent device is offline and its last close is the heartbeat timeout,
        // a normal one is online, as /closes and /sessions say.
        JsonNode silentCloses = get("/closes?device=silent-3").path("closes");
        String lastReason = silentCloses.get(silentCloses.size() - 1).path("reason").asText();
        assertThat(lastReason).isEqualTo("HEARTBEAT_TIMEOUT");
        search("silent-3");
        await("search result for silent-3").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> browser.eval("document.getElementById('device-last-close')?.textContent || ''").asText(),
                        t -> t.contains(lastReason));
        assertThat(browser.eval("document.getElementById('device-online').dataset.online").asText())
                .isEqualTo(get("/sessions?device=silent-3").path("online").asText()).isEqualTo("false");
        search("normal-3");
        await("search result for normal-3").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> browser.eval("document.getElementById('device-online')?.textContent || ''").asText(),
                        t -> t.startsWith("normal-3"));
        assertThat(browser.eval("document.getElementById('device-online').dataset.online").asText())
                .isEqualTo(get("/sessions?device=normal-3").path("online").asText()).isEqualTo("true");
        browser.screenshot(SHOTS.resolve("dashboard-search-phone.png"), 390, 844, true, "search");

        assertThat(normal.get(90, TimeUnit.SECONDS).code()).as("normal sim").isZero();
    }

    private void search(String device) throws Exception {
        browser.eval("document.getElementById('device-id').value = " + JSON.writeValueAsString(device)
                + "; document.getElementById('search').requestSubmit(); true");
    }

    private double number(String id) throws Exception {
        // Null until the page has loaded: NaN, so a wait goes on polling.
        JsonNode v = browser.eval("Number(document.getElementById('" + id + "')?.textContent ?? NaN)");
        return v.isNumber() ? v.asDouble() : Double.NaN;
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(path).isEqualTo(200);
        return JSON.readTree(res.body());
    }

    /** Sum of a meter's series in a /metrics.json document. */
    private static double meter(JsonNode metrics, String name) {
        double sum = 0;
        for (JsonNode m : metrics.path("meters")) {
            if (m.path("name").asText().equals(name)) {
                sum += m.path("value").asDouble();
            }
        }
        return sum;
    }

    /** The counters and gauges the page shows, as the admin JSON has them now. */
    private Map<String, Double> counts() throws Exception {
        JsonNode metrics = get("/metrics.json");
        Map<String, Double> out = new TreeMap<>();
        for (JsonNode m : metrics.path("meters")) {
            String name = m.path("name").asText();
            if (name.startsWith("tether.sessions") || name.startsWith("tether.connections")) {
                StringBuilder k = new StringBuilder(name);
                for (Iterator<Map.Entry<String, JsonNode>> it = m.path("tags").fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> t = it.next();
                    k.append(',').append(t.getKey()).append('=').append(t.getValue().asText());
                }
                out.put(k.toString(), m.path("value").asDouble());
            }
        }
        return out;
    }

    private Map<String, Double> countsAfter(Duration pause) {
        try {
            Thread.sleep(pause.toMillis());
            return counts();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
