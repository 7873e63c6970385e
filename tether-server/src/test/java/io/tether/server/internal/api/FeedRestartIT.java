package io.tether.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.client.TetherClient;
import io.tether.server.ApiKeys;
import io.tether.server.MessageStores;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14, must show: "The HTTP cursor and SSE stream deliver every stored message once in
 * order, across a restart". A {@link TetherServer} on the RocksDB store with its API; devices send
 * before and after a restart; a page reader and a stream reader keep their cursors across it.
 *
 * <p>Needs the server to hand its store's feed to the API: in {@code TetherServer.startApi()},
 * {@code settings.withFeed(feed(), ApiServer.FeedLimits.DEFAULT)} when {@code feed()} is not null
 * (TetherServer.feed() lands with the store's feed). Until then both endpoints answer 404 "the
 * application feed is off", and this test is disabled.
 */
class FeedRestartIT {
    private static final int DEVICES = 5, PER_DEVICE_PER_RUN = 200;
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private TetherServer server;
    private String key;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private void startServer() throws IOException {
        Path keys = dir.resolve("api-keys");
        if (key == null) {
            key = ApiKeys.add(keys, "backend");
        }
        server = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .store(MessageStores.rocksDb(dir.resolve("store"), true))
                .api(new InetSocketAddress("127.0.0.1", 0)).apiKeys(ApiKeys.load(keys))
                .shutdownTimeout(Duration.ofSeconds(2))
                .build().start();
    }

    private static String payload(int device, int i) {
        return "dev-" + device + ":" + i;
    }

    /** Each device sends its messages {@code from} to {@code to - 1}, and the server acknowledges all of them. */
    private void send(int from, int to) throws Exception {
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        List<TetherClient> devices = new ArrayList<>();
        for (int d = 0; d < DEVICES; d++) {
            TetherClient c = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("dev-" + d).build();
            devices.add(c);
            c.connect().get(5, TimeUnit.SECONDS);
            for (int i = from; i < to; i++) {
                acks.add(c.send(payload(d, i).getBytes(StandardCharsets.UTF_8)));
            }
        }
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        for (TetherClient c : devices) {
            c.close();
        }
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.apiAddress().getPort() + path);
    }

    private JsonNode page(String after) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/v1/messages?limit=150&after=" + after))
                .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return ApiFixture.JSON.readTree(r.body());
    }

    /** Pages from {@code after} until up to date, adding each message's payload; returns the last next. */
    private String pageAll(String after, List<String> into, List<Long> cursors) throws Exception {
        while (true) {
            JsonNode p = page(after);
            assertThat(p.has("skipped")).isFalse();
            for (JsonNode m : p.get("messages")) {
                cursors.add(Long.parseLong(m.get("cursor").asText()));
                into.add(new String(Base64.getDecoder().decode(m.get("payload").asText()), StandardCharsets.UTF_8));
            }
            after = p.get("next").asText();
            if (after.equals(p.get("head").asText())) {
                return after;
            }
        }
    }

    private SseClient stream(String lastEventId) {
        SseClient c = new SseClient(http, uri("/v1/stream"), key, lastEventId);
        toClose.add(c);
        assertThat(c.status).as(c.problem).isEqualTo(200);
        return c;
    }

    /** Takes {@code n} message events from the stream, adding their payloads; returns the last id. */
    private static String take(SseClient c, int n, List<String> into, List<Long> cursors) throws Exception {
        String last = null;
        for (int got = 0; got < n; ) {
            SseClient.Event e = c.next(WAIT);
            assertThat(e).as("event " + (got + 1) + " of " + n).isNotNull();
            if (e.data() == null) {
                continue;
            }
            JsonNode m = ApiFixture.JSON.readTree(e.data());
            assertThat(m.get("cursor").asText()).isEqualTo(e.id());
            cursors.add(Long.parseLong(e.id()));
            into.add(new String(Base64.getDecoder().decode(m.get("payload").asText()), StandardCharsets.UTF_8));
            last = e.id();
            got++;
        }
        return last;
    }

    /** Every message of every device exactly once, each device's in the order it sent them, cursors increasing. */
    private static void assertOnceInOrder(List<String> payloads, List<Long> cursors, int perDevice) {
        assertThat(payloads).hasSize(DEVICES * perDevice);
        assertThat(new LinkedHashSet<>(payloads)).as("no repeat").hasSize(payloads.size());
        for (int i = 1; i < cursors.size(); i++) {
            assertThat(cursors.get(i)).as("cursors strictly increase").isGreaterThan(cursors.get(i - 1));
        }
        Map<String, Integer> nextOf = new HashMap<>();
        for (String p : payloads) {
            String device = p.substring(0, p.indexOf(':'));
            int i = Integer.parseInt(p.substring(p.indexOf(':') + 1));
            assertThat(i).as("next message of " + device).isEqualTo(nextOf.getOrDefault(device, 0));
            nextOf.put(device, i + 1);
        }
        assertThat(nextOf.keySet()).hasSize(DEVICES);
    }

    @Test
    void cursorAndStream_deliverEveryStoredMessageOnce_inOrder_acrossARestart() throws Exception {
        startServer();
        send(0, PER_DEVICE_PER_RUN);
        List<String> paged = new ArrayList<>();
        List<Long> pagedCursors = new ArrayList<>();
        List<String> streamed = new ArrayList<>();
        List<Long> streamedCursors = new ArrayList<>();

        // Before the restart: the page reader reads all, the stream reader part, and both keep their cursor.
        String cursor = pageAll("0", paged, pagedCursors);
        SseClient before = stream(null);
        String lastEventId = take(before, 300, streamed, streamedCursors);
        before.close();
        server.close();
        server = null;

        startServer();
        send(PER_DEVICE_PER_RUN, 2 * PER_DEVICE_PER_RUN);
        pageAll(cursor, paged, pagedCursors);
        SseClient after = stream(lastEventId);
        take(after, 2 * DEVICES * PER_DEVICE_PER_RUN - 300, streamed, streamedCursors);

        assertOnceInOrder(paged, pagedCursors, 2 * PER_DEVICE_PER_RUN);
        assertOnceInOrder(streamed, streamedCursors, 2 * PER_DEVICE_PER_RUN);
        assertThat(streamedCursors).as("the page reader and the stream reader see the same cursors")
                .isEqualTo(pagedCursors);
        assertThat(after.next(Duration.ofMillis(500))).as("nothing more, nothing twice").isNull();
        System.out.printf("feed across a restart: %d messages paged, %d streamed, each once in order%n",
                paged.size(), streamed.size());
    }
}
