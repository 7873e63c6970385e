package io.tether.cli;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Debian's {@code chromium}, headless, with one page open, driven over the DevTools protocol on a
 * WebSocket (Java's own client): evaluate an expression in the page, resize the viewport, take a
 * screenshot. The browser gets a fresh profile directory and every background service off, so it
 * makes no connection but to the page's host. {@link #close()} kills it.
 */
final class HeadlessChromium implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Thread killOnExit;
    private final Path log;
    private WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    private HeadlessChromium(Process process, Path log) {
        this.process = process;
        this.log = log;
        this.killOnExit = new Thread(process::destroyForcibly, "kill-chromium");
        Runtime.getRuntime().addShutdownHook(killOnExit);
    }

    /**
     * Starts chromium on {@code url} and connects to that page.
     *
     * @throws AssertionError if chromium is missing ({@code apt-get install chromium}) or does not
     *     open the page within 60 s
     */
    static HeadlessChromium open(Path workDir, String url) throws IOException {
        Path binary = Path.of("/usr/bin/chromium");
        if (!Files.isExecutable(binary)) {
            throw new AssertionError(binary + " not found: install Debian's chromium package (.ci/run does)");
        }
        Path profile = Files.createDirectories(workDir.resolve("chromium-profile"));
        Path log = workDir.resolve("chromium.log");
        Process p = new ProcessBuilder(List.of(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", "--window-size=1280,900", url))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HeadlessChromium c = new HeadlessChromium(p, log);
        try {
            // Port 0: chromium picks one and writes it to DevToolsActivePort in the profile.
            Path portFile = profile.resolve("DevToolsActivePort");
            int port = await("chromium's DevTools port").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        if (!p.isAlive()) {
                            throw new AssertionError("chromium exited with " + p.exitValue() + ":\n" + Files.readString(log));
                        }
                        if (!Files.exists(portFile)) {
                            return 0;
                        }
                        List<String> lines = Files.readAllLines(portFile);
                        return lines.isEmpty() ? 0 : Integer.parseInt(lines.get(0).strip());
                    }, n -> n > 0);
            HttpClient http = HttpClient.newHttpClient();
            String ws = await("the page in chromium's target list").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                                HttpResponse.BodyHandlers.ofString()).body());
                        for (JsonNode t : targets) {
                            if ("page".equals(t.path("type").asText()) && t.path("url").asText().startsWith(url)) {
                                return t.path("webSocketDebuggerUrl").asText();
                            }
                        }
                        return "";
                    }, s -> !s.isEmpty());
            c.socket = http.newWebSocketBuilder().buildAsync(URI.create(ws), c.new Listener()).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            c.close();
            throw e instanceof IOException io ? io : new IOException("cannot drive chromium: " + e, e);
        }
        return c;
    }

    /** Sends one DevTools command and waits for its result. */
    JsonNode call(String method, Map<String, Object> params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        ObjectNode msg = JSON.createObjectNode().put("id", id).put("method", method);
        msg.set("params", JSON.valueToTree(params));
        socket.sendText(JSON.writeValueAsString(msg), true).get(10, TimeUnit.SECONDS);
        JsonNode r = reply.get(30, TimeUnit.SECONDS);
        if (r.has("error")) {
            throw new AssertionError(method + ": " + r.get("error"));
        }
        return r.path("result");
    }

    /** Evaluates {@code expression} in the page; its value as JSON (so return plain data). */
    JsonNode eval(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (r.has("exceptionDetails")) {
            throw new AssertionError("page threw on " + expression + ": " + r.get("exceptionDetails"));
        }
        return r.path("result").path("value");
    }

    /** A PNG of the page as a {@code width} × {@code height} viewport ({@code mobile}: a phone's). */
    void screenshot(Path file, int width, int height, boolean mobile) throws Exception {
        screenshot(file, width, height, mobile, null);
    }

    /** As above, scrolled to the element with id {@code scrollToId} (null: the top). */
    void screenshot(Path file, int width, int height, boolean mobile, String scrollToId) throws Exception {
        call("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
                "deviceScaleFactor", 1, "mobile", mobile));
        // Let the layout settle at the new size (the page redraws its charts on the next poll).
        Thread.sleep(1500);
        eval(scrollToId == null ? "window.scrollTo(0, 0); true"
                : "document.getElementById(" + JSON.writeValueAsString(scrollToId) + ").scrollIntoView(); true");
        JsonNode shot = call("Page.captureScreenshot", Map.of("format", "png"));
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(shot.path("data").asText()));
    }

    String logText() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        if (socket != null) {
            socket.abort();
        }
        // Chromium's helpers (renderer, zygote) are its children: listed before the parent goes,
        // since once re-parented they can no longer be found from it.
        List<ProcessHandle> helpers = process.descendants().toList();
        process.destroyForcibly();
        helpers.forEach(ProcessHandle::destroyForcibly);
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException e) {
            // the JVM is already exiting
        }
    }

    /** Collects a message's fragments and completes the command it answers; events are ignored. */
    private final class Listener implements WebSocket.Listener {
        private final StringBuilder text = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                try {
                    JsonNode msg = JSON.readTree(text.toString());
                    if (msg.has("id")) {
                        CompletableFuture<JsonNode> f = pending.remove(msg.get("id").asInt());
                        if (f != null) {
                            f.complete(msg);
                        }
                    }
                } catch (IOException e) {
                    pending.values().forEach(f -> f.completeExceptionally(e));
                }
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }
    }
}
