package io.tether.server.commands;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.protocol.Frame;
import io.tether.server.MessageStores;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The "must show" items through the HTTP API of a real server with the RocksDB ledger
 * (the API's own tests run on a fake ledger): offline queueing and long polls that answer as
 * soon as a command finishes, TTL, cancel, idempotency, and bad input.
 */
class CommandApiIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private TetherServer server;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    record Reply(int status, JsonNode json, String body) {
    }

    @BeforeEach
    void start() throws Exception {
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .store(MessageStores.rocksDb(dir.resolve("data"), true))
                .api(new InetSocketAddress("127.0.0.1", 0))
                .apiInsecureNoAuth(true)
                .shutdownTimeout(Duration.ofSeconds(2))
                .build().start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Reply call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.apiAddress().getPort() + path))
                .timeout(Duration.ofSeconds(40));
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = r.body().isEmpty() ? null : JSON.readTree(r.body());
        return new Reply(r.statusCode(), json, r.body());
    }

    @Test
    void offlineDevice_50Queued_allSucceedInOrder_andEachLongPollAnswersAsSoonAsItsCommandFinishes() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            Reply r = call("POST", "/v1/devices/meter-9/commands", "{\"text\":\"set " + i + "\"}");
            assertThat(r.status()).isEqualTo(202);
            assertThat(r.json().path("state").asText()).isEqualTo("QUEUED");
            ids.add(r.json().path("id").asText());
        }
        assertThat(call("GET", "/v1/devices/meter-9", null).json().path("openCommands").asInt()).isEqualTo(50);
        // 50 long polls in flight, each recording when it was answered.
        List<CompletableFuture<Long>> answered = new ArrayList<>();
        for (String id : ids) {
            answered.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                            + server.apiAddress().getPort() + "/v1/commands/" + id + "?wait=60s")).build(),
                    HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
                        assertThat(r.statusCode()).isEqualTo(200);
                        return System.nanoTime();
                    }));
        }
        long[] finishedAt = new long[51];
        try (V2Device d = new V2Device(server.port())) {
            d.hello("meter-9");
            int results = 0;
            while (results < 50) {
                Frame f = d.read();
                if (f instanceof Frame.Command c) {
                    assertThat(new String(c.payload(), StandardCharsets.UTF_8)).isEqualTo("set " + c.seq());
                    d.send(new Frame.CommandAck(c.seq()));
                    d.send(new Frame.Result(c.seq(), Frame.Result.SUCCEEDED, "ok".getBytes(StandardCharsets.UTF_8)));
                    // Slow the device down so that the answers are spread out in time.
                    Thread.sleep(20);
                } else if (f instanceof Frame.ResultAck ra) {
                    finishedAt[(int) ra.seq()] = System.nanoTime();
                    results++;
                }
            }
        }
        long worst = Long.MIN_VALUE;
        for (int i = 0; i < 50; i++) {
            long answer = answered.get(i).get(10, TimeUnit.SECONDS);
            worst = Math.max(worst, answer - finishedAt[i + 1]);
        }
        System.out.printf("long polls answered at most %.1f ms after the device read its RESULT_ACK (negative: before)%n", worst / 1e6);
        assertThat(TimeUnit.NANOSECONDS.toMillis(worst)).as("answered as soon as finished").isLessThan(1_000);
        for (String id : ids) {
            Reply r = call("GET", "/v1/commands/" + id, null);
            assertThat(r.json().path("state").asText()).isEqualTo("SUCCEEDED");
            assertThat(r.json().path("result").path("payloadText").asText()).isEqualTo("ok");
            assertThat(r.json().path("attempts").asInt()).isEqualTo(1);
        }
    }

    @Test
    void ttlCancelAndIdempotency_throughTheApi() throws Exception {
        Reply late = call("POST", "/v1/devices/d1/commands", "{\"text\":\"x\",\"ttl\":\"300ms\"}");
        Reply expired = call("GET", "/v1/commands/" + late.json().path("id").asText() + "?wait=10s", null);
        assertThat(expired.json().path("state").asText()).isEqualTo("EXPIRED");

        Reply queued = call("POST", "/v1/devices/d1/commands", "{\"payload\":\"" + Base64.getEncoder()
                .encodeToString(new byte[] {1, 2, 3}) + "\"}");
        String id = queued.json().path("id").asText();
        Reply canceled = call("DELETE", "/v1/commands/" + id, null);
        assertThat(canceled.status()).isEqualTo(200);
        assertThat(canceled.json().path("state").asText()).isEqualTo("CANCELED");
        Reply again = call("DELETE", "/v1/commands/" + id, null);
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().path("type").asText()).endsWith("/conflict");

        Reply first = call("POST", "/v1/devices/d1/commands", "{\"text\":\"open\",\"idempotencyKey\":\"k-1\"}");
        Reply second = call("POST", "/v1/devices/d1/commands", "{\"text\":\"open\",\"idempotencyKey\":\"k-1\"}");
        assertThat(first.status()).isEqualTo(202);
        assertThat(second.status()).isEqualTo(200);
        assertThat(second.json().path("id").asText()).isEqualTo(first.json().path("id").asText());
        assertThat(call("GET", "/v1/devices/d1/commands?state=QUEUED", null).json().path("commands")).hasSize(1);

        // Neither the expired nor the canceled one is ever sent: only the queued one arrives.
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d1");
            assertThat(d.command().seq()).isEqualTo(first.json().path("seq").asLong());
            assertThat(d.silentFor(300)).isTrue();
        }
    }

    @Test
    void badInput_eachAClearProblem_andTheServerGoesOn() throws Exception {
        Reply badId = call("POST", "/v1/devices/bad%20id/commands", "{\"text\":\"x\"}");
        assertThat(badId.status()).isEqualTo(400);
        assertThat(badId.json().path("detail").asText()).contains("deviceId");
        Reply big = call("POST", "/v1/devices/d2/commands", "{\"payload\":\""
                + Base64.getEncoder().encodeToString(new byte[65_527]) + "\"}");
        assertThat(big.status()).isEqualTo(413);
        assertThat(big.json().path("detail").asText()).contains("65526");
        Reply base64 = call("POST", "/v1/devices/d2/commands", "{\"payload\":\"%%%\"}");
        assertThat(base64.status()).isEqualTo(400);
        assertThat(base64.json().path("detail").asText()).contains("base64");
        for (Reply r : List.of(badId, big, base64)) {
            assertThat(r.json().path("type").asText()).startsWith("https://tether.dev/problems/");
        }
        assertThat(call("POST", "/v1/devices/d2/commands", "{\"text\":\"fine\"}").status()).isEqualTo(202);
    }
}
