package io.tether.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.ApiRate;
import io.tether.transport.Transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link ApiServer} on 127.0.0.1, port 0, over a {@link FakeCommands}, with two API keys
 * (alice and bob), and a real HTTP client. Close it after each test.
 */
final class ApiFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The fixture's wall clock: 2026-12-02T00:31:05.123Z. */
    static final Instant NOW = Instant.parse("2026-12-02T00:31:05.123Z");

    final FakeCommands commands = new FakeCommands();
    final DeviceDirectory directory = new DeviceDirectory();
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    final String alice;
    final String bob;
    final ApiKeyFile keys;
    ApiServer server;
    /** The connection bounds the next {@link #start} uses. */
    ApiServer.Limits limits = ApiServer.Limits.DEFAULT;
    /** The application feed the next {@link #start} serves, or null for none (--no-feed). */
    io.tether.server.internal.feed.Feed feed;
    /** The feed endpoints' bounds the next {@link #start} uses. */
    ApiServer.FeedLimits feedLimits = ApiServer.FeedLimits.DEFAULT;

    /** A reply: status, headers and body as text and as a JSON tree (null if not JSON). */
    record Reply(int status, java.net.http.HttpHeaders headers, String body, JsonNode json) {
        String contentType() {
            return headers.firstValue("content-type").orElse("");
        }

        String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        String problemType() {
            return json == null || json.get("type") == null ? null : json.get("type").asText();
        }
    }

    ApiFixture(Path dir) {
        try {
            Path file = java.nio.file.Files.createTempDirectory(dir, "api").resolve("api-keys");
            alice = ApiKeyFile.add(file, "alice");
            bob = ApiKeyFile.add(file, "bob");
            keys = ApiKeyFile.load(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ApiFixture start() {
        return start(ApiRate.OFF, 65_536, true);
    }

    ApiFixture start(ApiRate rate, int maxFrame, boolean authenticated) {
        server = ApiServer.start(settings(rate, maxFrame, authenticated, null));
        return this;
    }

    ApiServer.Settings settings(ApiRate rate, int maxFrame, boolean authenticated, io.netty.handler.ssl.SslContext tls) {
        ApiServer.Settings s = new ApiServer.Settings(new InetSocketAddress("127.0.0.1", 0), tls, authenticated ? keys : null,
                rate, maxFrame, () -> commands, directory, Transport.best(), meters, Clock.fixed(NOW, ZoneOffset.UTC),
                System::nanoTime, limits);
        return feed == null ? s : s.withFeed(feed, feedLimits);
    }

    URI uri(String path) {
        return URI.create(server.uri() + path);
    }

    Reply get(String path) {
        return send("GET", path, null, alice);
    }

    Reply post(String path, String json) {
        return send("POST", path, json, alice);
    }

    Reply send(String method, String path, String body, String key) {
        return sendAsync(method, path, body, key).join();
    }

    CompletableFuture<Reply> sendAsync(String method, String path, String body, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(90))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()).thenApply(ApiFixture::reply);
    }

    static Reply reply(HttpResponse<String> r) {
        JsonNode tree = null;
        try {
            tree = r.body().isEmpty() ? null : JSON.readTree(r.body());
        } catch (IOException e) {
            // not JSON: the test says whether that is wrong
        }
        return new Reply(r.statusCode(), r.headers(), r.body(), tree);
    }

    /** Sends {@code request} as written on a socket of its own and reads until the server closes it. */
    String raw(String request) {
        try (java.net.Socket s = new java.net.Socket(server.address().getAddress(), server.address().getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        commands.close();
    }
}
