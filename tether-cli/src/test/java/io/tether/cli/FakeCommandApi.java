package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The routes of docs/API.md on the JDK's HTTP server, with canned behaviour: each new command
 * follows the plan set when it was created (QUEUED, SENT after half of {@code after}, then
 * {@code outcome} at {@code after}; a null outcome stays QUEUED), long polls hold until a final
 * state or the wait ends, errors are problem+json. Records every request it received.
 */
final class FakeCommandApi implements AutoCloseable {
    static final String KEY = "tk_fake_4Jb9Qx";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DEVICE_COMMANDS = Pattern.compile("/v1/devices/([^/]+)/commands");
    private static final Pattern COMMAND = Pattern.compile("/v1/commands/([^/]+)");

    /** One request as received: the raw path, the query, the Authorization header and the body. */
    record Request(String method, String path, String query, String authorization, String contentType, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    final List<Request> requests = new CopyOnWriteArrayList<>();
    /** The plan of commands created from now on. */
    volatile String outcome = "SUCCEEDED";
    volatile Duration after = Duration.ofMillis(200);
    volatile String resultText = "ok";
    /** The longest this server holds a poll, whatever ?wait= asks. */
    volatile Duration maxHold = Duration.ofSeconds(60);

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Map<String, Cmd> commands = new LinkedHashMap<>();
    private final Deque<Object[]> cannedProblems = new ArrayDeque<>();
    private final AtomicLong ids = new AtomicLong();

    FakeCommandApi() throws IOException {
        this(null);
    }

    /** With {@code tls}, the fake speaks https only. */
    FakeCommandApi(javax.net.ssl.SSLContext tls) throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        if (tls == null) {
            server = HttpServer.create(loopback, 50);
        } else {
            com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(loopback, 50);
            https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls));
            server = https;
        }
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return (server instanceof com.sun.net.httpserver.HttpsServer ? "https" : "http") + "://127.0.0.1:"
                + server.getAddress().getPort();
    }

    /** The next request is answered with this problem instead of being served. */
    synchronized void problemNext(int status, String type, String title, String detail, Integer retryAfterSeconds) {
        cannedProblems.add(new Object[] {status, type, title, detail, retryAfterSeconds});
    }

    /** Adds a command in {@code state} for good, as if created earlier; returns its id. */
    synchronized String existing(String device, String state) {
        Cmd c = create(device, "on".getBytes(StandardCharsets.UTF_8), null);
        c.fixed = state;
        return c.id;
    }

    List<Request> requests(String method) {
        return requests.stream().filter(r -> r.method.equals(method)).toList();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }

    private final class Cmd {
        final String id;
        final String device;
        final long seq;
        final byte[] payload;
        final String key;
        final Instant created = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        final String plan = outcome;
        final Duration planAfter = after;
        final String result = resultText;
        String fixed;

        Cmd(String id, String device, long seq, byte[] payload, String key) {
            this.id = id;
            this.device = device;
            this.seq = seq;
            this.payload = payload;
            this.key = key;
        }

        String state() {
            if (fixed != null) {
                return fixed;
            }
            Duration age = Duration.between(created, Instant.now());
            if (plan == null || age.compareTo(planAfter.dividedBy(2)) < 0) {
                return "QUEUED";
            }
            return age.compareTo(planAfter) < 0 ? "SENT" : plan;
        }

        boolean isFinal() {
            return List.of("SUCCEEDED", "FAILED", "EXPIRED", "CANCELED").contains(state());
        }

        ObjectNode json() {
            String state = state();
            ObjectNode n = JSON.createObjectNode();
            n.put("id", id);
            n.put("deviceId", device);
            n.put("seq", seq);
            n.put("state", state);
            n.put("payload", Base64.getEncoder().encodeToString(payload));
            n.put("payloadText", new String(payload, StandardCharsets.UTF_8));
            n.put("idempotencyKey", key);
            n.put("createdAt", created.toString());
            n.put("expiresAt", created.plus(Duration.ofHours(1)).toString());
            boolean sent = fixed == null ? !state.equals("QUEUED") : !List.of("QUEUED", "CANCELED").contains(state);
            boolean delivered = List.of("DELIVERED", "SUCCEEDED", "FAILED").contains(state);
            boolean resulted = state.equals("SUCCEEDED") || state.equals("FAILED");
            n.put("sentAt", sent ? created.plus(planAfter.dividedBy(2)).toString() : null);
            n.put("deliveredAt", delivered ? created.plus(planAfter).toString() : null);
            n.put("finishedAt", isFinal() ? created.plus(planAfter).toString() : null);
            n.put("attempts", sent ? 1 : 0);
            if (resulted) {
                ObjectNode r = n.putObject("result");
                r.put("status", state);
                r.put("payload", Base64.getEncoder().encodeToString(result.getBytes(StandardCharsets.UTF_8)));
                r.put("payloadText", result);
            } else {
                n.putNull("result");
            }
            n.put("detail", switch (state) {
                case "EXPIRED" -> "TTL of 1h passed";
                case "CANCELED" -> "canceled through the API";
                case "QUEUED" -> plan == null && fixed == null ? "device offline" : "";
                default -> "";
            });
            return n;
        }
    }

    private Cmd create(String device, byte[] payload, String key) {
        String id = String.format("01JD8X6Y0Z3K5V7W9Q1R2S%04d", ids.incrementAndGet());
        long seq = commands.values().stream().filter(c -> c.device.equals(device)).count() + 1;
        Cmd c = new Cmd(id, device, seq, payload, key);
        commands.put(id, c);
        return c;
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = x.getRequestURI().getRawPath();
            String query = x.getRequestURI().getRawQuery();
            requests.add(new Request(x.getRequestMethod(), path, query, x.getRequestHeaders().getFirst("Authorization"),
                    x.getRequestHeaders().getFirst("Content-Type"), body));
            Object[] canned;
            synchronized (this) {
                canned = cannedProblems.poll();
            }
            if (canned != null) {
                problem(x, (Integer) canned[0], (String) canned[1], (String) canned[2], (String) canned[3],
                        (Integer) canned[4]);
                return;
            }
            if (!("Bearer " + KEY).equals(x.getRequestHeaders().getFirst("Authorization"))) {
                x.getResponseHeaders().add("WWW-Authenticate", "Bearer");
                problem(x, 401, "unauthorized", "Unauthorized", "missing or wrong API key", null);
                return;
            }
            Matcher m;
            if ((m = DEVICE_COMMANDS.matcher(path)).matches()) {
                String device = URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
                switch (x.getRequestMethod()) {
                    case "POST" -> send(x, device, body);
                    case "GET" -> list(x, device, query);
                    default -> notAllowed(x, "GET, POST");
                }
            } else if ((m = COMMAND.matcher(path)).matches()) {
                String id = URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
                Cmd c;
                synchronized (this) {
                    c = commands.get(id);
                }
                if (c == null) {
                    problem(x, 404, "not-found", "Not found", "no command " + id, null);
                    return;
                }
                switch (x.getRequestMethod()) {
                    case "GET" -> get(x, c, query);
                    case "DELETE" -> cancel(x, c);
                    default -> notAllowed(x, "GET, DELETE");
                }
            } else {
                problem(x, 404, "not-found", "Not found", "no route " + path, null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void send(HttpExchange x, String device, String body) throws IOException {
        JsonNode req;
        try {
            req = JSON.readTree(body);
        } catch (IOException e) {
            problem(x, 400, "bad-request", "Bad request", "malformed JSON", null);
            return;
        }
        if (req == null || !req.isObject() || req.has("payload") == req.has("text")) {
            problem(x, 400, "bad-request", "Bad request", "expected exactly one of payload and text", null);
            return;
        }
        byte[] payload;
        try {
            payload = req.has("text") ? req.get("text").asText().getBytes(StandardCharsets.UTF_8)
                    : Base64.getDecoder().decode(req.get("payload").asText());
        } catch (IllegalArgumentException e) {
            problem(x, 400, "bad-request", "Bad request", "payload: not base64", null);
            return;
        }
        if (req.has("ttl")) {
            try {
                DurationConverter.parse(req.get("ttl").asText());
            } catch (RuntimeException e) {
                problem(x, 400, "bad-request", "Bad request", "ttl: " + req.get("ttl"), null);
                return;
            }
        }
        String key = req.path("idempotencyKey").asText(null);
        Cmd c;
        int status = 202;
        synchronized (this) {
            c = key == null ? null : commands.values().stream()
                    .filter(o -> key.equals(o.key) && o.device.equals(device)).findFirst().orElse(null);
            if (c == null) {
                c = create(device, payload, key);
            } else {
                status = 200;
            }
        }
        x.getResponseHeaders().add("Location", "/v1/commands/" + c.id);
        json(x, status, c.json());
    }

    private void get(HttpExchange x, Cmd c, String query) throws IOException, InterruptedException {
        Duration wait = Duration.ZERO;
        if (query != null && query.startsWith("wait=")) {
            wait = DurationConverter.parse(query.substring(5));
            if (wait.compareTo(Duration.ofSeconds(60)) > 0) {
                problem(x, 400, "bad-request", "Bad request", "wait: " + query.substring(5) + " (expected: at most 60s)", null);
                return;
            }
        }
        long until = System.nanoTime() + (wait.compareTo(maxHold) < 0 ? wait : maxHold).toNanos();
        while (!c.isFinal() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        json(x, 200, c.json());
    }

    private void cancel(HttpExchange x, Cmd c) throws IOException {
        synchronized (this) {
            String state = c.state();
            if (!state.equals("QUEUED")) {
                problem(x, 409, "conflict", "Conflict", "command " + c.id + " is " + state + ": only a QUEUED command can be canceled", null);
                return;
            }
            c.fixed = "CANCELED";
        }
        json(x, 200, c.json());
    }

    private void list(HttpExchange x, String device, String query) throws IOException {
        List<String> states = null;
        int limit = 100;
        if (query != null) {
            for (String p : query.split("&")) {
                String[] kv = p.split("=", 2);
                if (kv[0].equals("state")) {
                    states = List.of(URLDecoder.decode(kv[1], StandardCharsets.UTF_8).split(","));
                } else if (kv[0].equals("limit")) {
                    limit = Integer.parseInt(kv[1]);
                }
            }
        }
        ArrayNode out = JSON.createArrayNode();
        List<Cmd> all;
        synchronized (this) {
            all = new ArrayList<>(commands.values());
        }
        for (Cmd c : all) {
            if (c.device.equals(device) && (states == null || states.contains(c.state())) && out.size() < limit) {
                out.add(c.json());
            }
        }
        ObjectNode answer = JSON.createObjectNode();
        answer.set("commands", out);
        json(x, 200, answer);
    }

    private void notAllowed(HttpExchange x, String allow) throws IOException {
        x.getResponseHeaders().add("Allow", allow);
        problem(x, 405, "method-not-allowed", "Method not allowed", x.getRequestMethod() + " (allowed: " + allow + ")", null);
    }

    private static void problem(HttpExchange x, int status, String type, String title, String detail, Integer retryAfter)
            throws IOException {
        ObjectNode p = JSON.createObjectNode();
        p.put("type", "https://tether.dev/problems/" + type);
        p.put("title", title);
        p.put("status", status);
        p.put("detail", detail);
        p.put("instance", x.getRequestURI().getRawPath());
        if (retryAfter != null) {
            x.getResponseHeaders().add("Retry-After", retryAfter.toString());
        }
        write(x, status, "application/problem+json", JSON.writeValueAsBytes(p));
    }

    private static void json(HttpExchange x, int status, JsonNode body) throws IOException {
        write(x, status, "application/json", JSON.writeValueAsBytes(body));
    }

    private static void write(HttpExchange x, int status, String type, byte[] body) throws IOException {
        x.getResponseHeaders().add("Content-Type", type);
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
    }
}
