package io.tether.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.protocol.Reason;
import io.tether.server.ApiRate;
import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP API of docs/API.md over real loopback HTTP, on a fake ledger: every route's answer,
 * every problem type, authentication, bounds, long polls and pipelining.
 */
class ApiServerIT {
    private static final String PROBLEM = "https://tether.dev/problems/";

    @TempDir
    Path dir;
    private ApiFixture api;

    @BeforeEach
    void start() {
        api = new ApiFixture(dir).start();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    private ApiFixture.Reply submit(String device, String json) {
        return api.post("/v1/devices/" + device + "/commands", json);
    }

    private static void assertProblem(ApiFixture.Reply r, int status, String type, String detailPart) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.json().get("type").asText()).isEqualTo(PROBLEM + type);
        assertThat(r.json().get("status").asInt()).isEqualTo(status);
        assertThat(r.json().get("title").asText()).isNotBlank();
        assertThat(r.json().get("detail").asText()).contains(detailPart);
    }

    // ---- happy paths

    @Test
    void submitBase64_answers202WithTheDurableCommandAndItsLocation() {
        ApiFixture.Reply r = submit("meter-0042", "{\"payload\": \"b24=\", \"ttl\": \"1m30s\", \"idempotencyKey\": \"unlock-7\"}");

        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.contentType()).isEqualTo("application/json");
        JsonNode c = r.json();
        assertThat(c.get("id").asText()).hasSize(26);
        assertThat(r.header("location")).isEqualTo("/v1/commands/" + c.get("id").asText());
        assertThat(c.get("deviceId").asText()).isEqualTo("meter-0042");
        assertThat(c.get("seq").asLong()).isEqualTo(1);
        assertThat(c.get("state").asText()).isEqualTo("QUEUED");
        assertThat(c.get("payload").asText()).isEqualTo("b24=");
        assertThat(c.get("payloadText").asText()).isEqualTo("on");
        assertThat(c.get("idempotencyKey").asText()).isEqualTo("unlock-7");
        assertThat(c.get("createdAt").asText()).isEqualTo("2025-12-02T00:31:05.123Z");
        assertThat(c.get("expiresAt").asText()).isEqualTo("2025-12-02T00:32:35.123Z");
        assertThat(c.get("sentAt").isNull()).isTrue();
        assertThat(c.get("deliveredAt").isNull()).isTrue();
        assertThat(c.get("finishedAt").isNull()).isTrue();
        assertThat(c.get("attempts").asInt()).isZero();
        assertThat(c.get("result").isNull()).isTrue();
        assertThat(c.get("detail").asText()).isEmpty();
        assertThat(api.commands.submitted).singleElement().satisfies(req -> {
            assertThat(req.payload()).containsExactly('o', 'n');
            assertThat(req.ttl()).isEqualTo(Duration.ofSeconds(90));
        });
    }

    @Test
    void submitText_sendsItsUtf8Bytes() {
        ApiFixture.Reply r = submit("meter-0042", "{\"text\": \"zähler\"}");

        assertThat(r.status()).isEqualTo(202);
        assertThat(api.commands.submitted.get(0).payload()).isEqualTo("zähler".getBytes(StandardCharsets.UTF_8));
        assertThat(r.json().get("payload").asText())
                .isEqualTo(Base64.getEncoder().encodeToString("zähler".getBytes(StandardCharsets.UTF_8)));
        assertThat(r.json().get("idempotencyKey").isNull()).isTrue();
    }

    @Test
    void binaryPayload_hasNoPayloadText() {
        ApiFixture.Reply r = submit("meter-0042", "{\"payload\": \"//79\"}");

        assertThat(r.status()).isEqualTo(202);
        assertThat(r.json().has("payloadText")).isFalse();
    }

    @Test
    void sameIdempotencyKeyTwice_answers200WithTheFirstCommand() {
        ApiFixture.Reply first = submit("meter-0042", "{\"text\": \"on\", \"idempotencyKey\": \"k1\"}");
        ApiFixture.Reply second = submit("meter-0042", "{\"text\": \"on\", \"idempotencyKey\": \"k1\"}");

        assertThat(first.status()).isEqualTo(202);
        assertThat(second.status()).isEqualTo(200);
        assertThat(second.json().get("id").asText()).isEqualTo(first.json().get("id").asText());
        assertThat(second.header("location")).isEqualTo(first.header("location"));
    }

    @Test
    void getCommand_answersItAsItIsNow() {
        String id = submit("meter-0042", "{\"text\": \"on\"}").json().get("id").asText();
        api.commands.advance(id, CommandState.SUCCEEDED, "done".getBytes(StandardCharsets.UTF_8));

        ApiFixture.Reply r = api.get("/v1/commands/" + id);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(r.json().get("finishedAt").asText()).isEqualTo("2025-12-02T00:31:05.123Z");
        assertThat(r.json().get("result").get("status").asText()).isEqualTo("SUCCEEDED");
        assertThat(r.json().get("result").get("payload").asText()).isEqualTo("ZG9uZQ==");
        assertThat(r.json().get("result").get("payloadText").asText()).isEqualTo("done");
    }

    @Test
    void list_answersTheDevicesCommandsOldestFirst_filteredByStateAndLimit() {
        String a = submit("meter-0042", "{\"text\": \"a\"}").json().get("id").asText();
        String b = submit("meter-0042", "{\"text\": \"b\"}").json().get("id").asText();
        String c = submit("meter-0042", "{\"text\": \"c\"}").json().get("id").asText();
        submit("other-device", "{\"text\": \"x\"}");
        api.commands.advance(b, CommandState.SENT, null);

        ApiFixture.Reply all = api.get("/v1/devices/meter-0042/commands");
        ApiFixture.Reply queued = api.get("/v1/devices/meter-0042/commands?state=QUEUED");
        ApiFixture.Reply two = api.get("/v1/devices/meter-0042/commands?state=queued,SENT&limit=2");

        assertThat(all.status()).isEqualTo(200);
        assertThat(all.json().get("commands").findValuesAsText("id")).containsExactly(a, b, c);
        assertThat(queued.json().get("commands").findValuesAsText("id")).containsExactly(a, c);
        assertThat(two.json().get("commands").findValuesAsText("id")).containsExactly(a, b);
    }

    @Test
    void cancelQueued_answersTheCanceledCommand() {
        String id = submit("meter-0042", "{\"text\": \"on\"}").json().get("id").asText();

        ApiFixture.Reply r = api.send("DELETE", "/v1/commands/" + id, null, api.alice);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("state").asText()).isEqualTo("CANCELED");
        assertThat(r.json().get("detail").asText()).isEqualTo("canceled through the API");
    }

    @Test
    void device_online_showsItsSessionAndOpenCommands() {
        submit("meter-0042", "{\"text\": \"a\"}");
        submit("meter-0042", "{\"text\": \"b\"}");
        api.directory.onOpen(new SessionOpened(ApiFixture.NOW.toEpochMilli() - 60_000, "meter-0042", 7, "10.0.0.7:50122",
                30_000, 45_000, 0, false, false));

        ApiFixture.Reply r = api.get("/v1/devices/meter-0042");

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode d = r.json();
        assertThat(d.get("deviceId").asText()).isEqualTo("meter-0042");
        assertThat(d.get("online").asBoolean()).isTrue();
        assertThat(d.get("session").get("epoch").asLong()).isEqualTo(7);
        assertThat(d.get("session").get("remote").asText()).isEqualTo("10.0.0.7:50122");
        assertThat(d.get("session").get("since").asText()).isEqualTo("2026-12-02T00:30:05.123Z");
        assertThat(d.get("session").get("heartbeatMs").asInt()).isEqualTo(30_000);
        assertThat(d.get("lastSeen").asText()).isEqualTo("2026-12-02T00:31:05.123Z");
        assertThat(d.get("lastClose").isNull()).isTrue();
        assertThat(d.get("openCommands").asInt()).isEqualTo(2);
    }

    @Test
    void device_offline_showsHowItsLastSessionEnded() {
        long opened = ApiFixture.NOW.toEpochMilli() - 120_000;
        long closed = ApiFixture.NOW.toEpochMilli() - 30_000;
        api.directory.onOpen(new SessionOpened(opened, "meter-0042", 7, "10.0.0.7:50122", 30_000, 45_000, 0, false, false));
        api.directory.onClose(new SessionClosed(closed, "meter-0042", 7, "10.0.0.7:50122", Reason.IO_ERROR, "ECONNRESET",
                104, "connection reset by peer", 90_000, -1, 0, "meter-0042", null));

        ApiFixture.Reply r = api.get("/v1/devices/meter-0042");

        JsonNode d = r.json();
        assertThat(d.get("online").asBoolean()).isFalse();
        assertThat(d.get("session").isNull()).isTrue();
        assertThat(d.get("lastSeen").asText()).isEqualTo("2026-12-02T00:30:35.123Z");
        assertThat(d.get("lastClose").get("at").asText()).isEqualTo("2026-12-02T00:30:35.123Z");
        assertThat(d.get("lastClose").get("reason").asText()).isEqualTo("IO_ERROR");
        assertThat(d.get("lastClose").get("errno").asText()).isEqualTo("ECONNRESET");
        assertThat(d.get("lastClose").get("detail").asText()).isEqualTo("connection reset by peer");
        assertThat(d.get("openCommands").asInt()).isZero();
    }

    @Test
    void device_neverSeen_isOfflineWithNothingKnown() {
        JsonNode d = api.get("/v1/devices/never-seen").json();

        assertThat(d.get("online").asBoolean()).isFalse();
        assertThat(d.get("session").isNull()).isTrue();
        assertThat(d.get("lastSeen").isNull()).isTrue();
        assertThat(d.get("lastClose").isNull()).isTrue();
    }

    @Test
    void deviceIdWithAnEncodedSlash_isOneDevice() {
        ApiFixture.Reply r = submit("site%2F7", "{\"text\": \"on\"}");

        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.json().get("deviceId").asText()).isEqualTo("site/7");
    }

    @Test
    void openApi_isServedWithoutAKey() {
        ApiFixture.Reply r = api.send("GET", "/v1/openapi.json", null, null);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).isEqualTo("application/json");
        assertThat(r.json().get("openapi").asText()).startsWith("3.0");
    }

    // ---- long poll

    @Test
    void longPoll_answersAsSoonAsTheCommandIsFinal() throws Exception {
        String id = submit("meter-0042", "{\"text\": \"on\"}").json().get("id").asText();
        long start = System.nanoTime();
        CompletableFuture<ApiFixture.Reply> poll = api.sendAsync("GET", "/v1/commands/" + id + "?wait=30s", null, api.alice);
        Thread.sleep(300);
        assertThat(poll).as("answered before the command is final").isNotDone();

        api.commands.advance(id, CommandState.SUCCEEDED, new byte[0]);
        ApiFixture.Reply r = poll.get(5, TimeUnit.SECONDS);

        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("state").asText()).isEqualTo("SUCCEEDED");
        // 300 ms before the completion, plus loopback and scheduling slack; far below the 30 s wait.
        assertThat(tookMillis).isBetween(300L, 3_000L);
    }

    @Test
    void longPoll_whenTheWaitEnds_answersTheCommandAsItIsThen() {
        String id = submit("meter-0042", "{\"text\": \"on\"}").json().get("id").asText();
        long start = System.nanoTime();

        ApiFixture.Reply r = api.get("/v1/commands/" + id + "?wait=400ms");

        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("state").asText()).isEqualTo("QUEUED");
        assertThat(tookMillis).isBetween(400L, 3_000L);
    }

    @Test
    void longPollOfAnUnknownCommand_is404() {
        assertProblem(api.get("/v1/commands/" + FakeCommands.ulid(999) + "?wait=5s"), 404, "not-found", "no command");
    }

    // ---- problems

    @Test
    void unknownCommand_is404() {
        assertProblem(api.get("/v1/commands/01JD8X6Y0Z3K5V7W9Q1R2S3T4U"), 404, "not-found", "no command 01JD8X6Y0Z3K5V7W9Q1R2S3T4U");
    }

    @Test
    void unknownRoute_is404_andNamesTheRoutesDocument() {
        ApiFixture.Reply r = api.get("/v2/things");
        assertProblem(r, 404, "not-found", "/v1/openapi.json");
        assertThat(r.json().get("instance").asText()).isEqualTo("/v2/things");
    }

    @Test
    void wrongMethod_is405_withAllow() {
        ApiFixture.Reply r = api.send("PUT", "/v1/commands/abc", "{}", api.alice);

        assertProblem(r, 405, "method-not-allowed", "PUT is not allowed");
        assertThat(r.header("allow")).isEqualTo("GET, DELETE");
    }

    @Test
    void missingKey_is401_withWwwAuthenticate() {
        ApiFixture.Reply r = api.send("GET", "/v1/devices/meter-0042", null, null);

        assertProblem(r, 401, "unauthorized", "missing API key");
        assertThat(r.header("www-authenticate")).isEqualTo("Bearer realm=\"tether\"");
    }

    @Test
    void wrongKey_is401_andReachesNoLedger() {
        ApiFixture.Reply r = api.send("POST", "/v1/devices/meter-0042/commands", "{\"text\": \"on\"}",
                ApiKeyFile.newKey());

        assertProblem(r, 401, "unauthorized", "unknown API key");
        assertThat(r.header("www-authenticate")).contains("error=\"invalid_token\"");
        assertThat(api.commands.submitted).isEmpty();
    }

    @Test
    void bothKeysOfTheFile_areAccepted() {
        assertThat(api.send("GET", "/v1/devices/d", null, api.alice).status()).isEqualTo(200);
        assertThat(api.send("GET", "/v1/devices/d", null, api.bob).status()).isEqualTo(200);
    }

    @Test
    void badBase64_is400() {
        assertProblem(submit("meter-0042", "{\"payload\": \"not base64!\"}"), 400, "bad-request", "\"payload\" is not base64");
        assertThat(api.commands.submitted).isEmpty();
    }

    @Test
    void bothOrNeitherOfPayloadAndText_is400() {
        assertProblem(submit("meter-0042", "{\"payload\": \"b24=\", \"text\": \"on\"}"), 400, "bad-request", "both");
        assertProblem(submit("meter-0042", "{\"ttl\": \"30s\"}"), 400, "bad-request", "neither");
    }

    @Test
    void malformedJson_is400() {
        assertProblem(submit("meter-0042", "{\"text\": "), 400, "bad-request", "malformed JSON");
        assertProblem(submit("meter-0042", "[1]"), 400, "bad-request", "not a JSON object");
        assertProblem(submit("meter-0042", "{\"text\": 5}"), 400, "bad-request", "\"text\" is not a string");
        assertProblem(submit("meter-0042", "{\"text\": \"on\", \"priority\": \"high\"}"), 400, "bad-request",
                "unknown member \"priority\"");
    }

    @Test
    void badTtl_is400() {
        assertProblem(submit("meter-0042", "{\"text\": \"on\", \"ttl\": \"soon\"}"), 400, "bad-request",
                "'soon' is not a duration");
        assertProblem(submit("meter-0042", "{\"text\": \"on\", \"ttl\": \"0\"}"), 400, "bad-request", "expected: > 0");
    }

    @Test
    void ttlTheLedgerRefuses_is400WithTheLedgersWords() {
        assertProblem(submit("meter-0042", "{\"text\": \"on\", \"ttl\": \"30d\"}"), 400, "bad-request", "above max-command-ttl");
    }

    @Test
    void badIdempotencyKey_is400() {
        assertProblem(submit("meter-0042", "{\"text\": \"on\", \"idempotencyKey\": \"has space\"}"), 400, "bad-request",
                "\"idempotencyKey\" 'has space'");
    }

    @Test
    void badDeviceId_is400() {
        assertProblem(submit("bad%20id", "{\"text\": \"on\"}"), 400, "bad-request", "bad device id 'bad id'");
        assertProblem(api.get("/v1/devices/" + "x".repeat(129)), 400, "bad-request", "bad device id");
        String raw = api.raw("GET /v1/devices/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + api.alice
                + "\r\nConnection: close\r\n\r\n");
        assertThat(raw).startsWith("HTTP/1.1 400 ").contains("application/problem+json").contains("bad percent-escape");
        assertThat(api.commands.submitted).isEmpty();
    }

    @Test
    void badQueryParameters_are400() {
        assertProblem(api.get("/v1/devices/d/commands?state=LOST"), 400, "bad-request", "state 'LOST'");
        assertProblem(api.get("/v1/devices/d/commands?limit=0"), 400, "bad-request", "limit '0' (expected: 1 to 1000)");
        assertProblem(api.get("/v1/devices/d/commands?limit=1001"), 400, "bad-request", "limit '1001'");
        assertProblem(api.get("/v1/devices/d/commands?limt=5"), 400, "bad-request", "unknown query parameter 'limt'");
        assertProblem(api.get("/v1/commands/x?wait=forever"), 400, "bad-request", "wait: 'forever' is not a duration");
    }

    @Test
    void payloadAboveMaxFrameLess10_is413() {
        api.close();
        api = new ApiFixture(dir).start(ApiRate.OFF, 1024, true);
        String ok = Base64.getEncoder().encodeToString(new byte[1014]);
        String over = Base64.getEncoder().encodeToString(new byte[1015]);

        assertThat(submit("meter-0042", "{\"payload\": \"" + ok + "\"}").status()).isEqualTo(202);
        ApiFixture.Reply r = submit("meter-0042", "{\"payload\": \"" + over + "\"}");

        assertProblem(r, 413, "payload-too-large", "payload of 1015 bytes exceeds the limit of 1014 bytes (max frame 1024 - 10)");
        assertThat(r.json().get("instance").asText()).isEqualTo("/v1/devices/meter-0042/commands");
    }

    @Test
    void bodyAboveTheApisLimit_is413_andTheConnectionServesOn() {
        api.close();
        api = new ApiFixture(dir).start(ApiRate.OFF, 1024, true);
        // Limit: 4 * ceil(1014 / 3) + 4096 = 5448 bytes.
        String huge = "{\"text\": \"" + "x".repeat(6_000) + "\"}";

        ApiFixture.Reply r = submit("meter-0042", huge);

        assertProblem(r, 413, "payload-too-large", "request body above the API's limit of 5448 bytes");
        assertThat(submit("meter-0042", "{\"text\": \"on\"}").status()).isEqualTo(202);
    }

    @Test
    void queueFull_is409QueueFull() {
        api.commands.maxOpen = 1;
        submit("meter-0042", "{\"text\": \"a\"}");

        assertProblem(submit("meter-0042", "{\"text\": \"b\"}"), 409, "queue-full", "already has 1 open commands");
    }

    @Test
    void cancelOfASentCommand_is409Conflict() {
        String id = submit("meter-0042", "{\"text\": \"on\"}").json().get("id").asText();
        api.commands.advance(id, CommandState.SENT, null);

        assertProblem(api.send("DELETE", "/v1/commands/" + id, null, api.alice), 409, "conflict", "only a QUEUED command");
    }

    @Test
    void storeUnavailable_is503_withRetryAfter() {
        api.commands.unavailable = true;

        ApiFixture.Reply r = submit("meter-0042", "{\"text\": \"on\"}");

        assertProblem(r, 503, "store-unavailable", "disk full");
        assertThat(r.header("retry-after")).isEqualTo("5");
    }

    @Test
    void anExceptionInTheLedger_is500_andTheServerServesOn() {
        api.commands.openFails = new IllegalStateException("bug");

        assertProblem(api.get("/v1/devices/meter-0042"), 500, "internal-error", "IllegalStateException");

        api.commands.openFails = null;
        assertThat(api.get("/v1/devices/meter-0042").status()).isEqualTo(200);
        assertThat(api.meters.get("tether.api.requests.failed").counter().count()).isEqualTo(1);
    }

    // ---- HTTP/1.1

    @Test
    void pipelinedRequests_areAnsweredInOrder_evenWhenTheFirstIsSlowest() throws Exception {
        String id = submit("meter-0042", "{\"text\": \"on\"}").json().get("id").asText();
        api.commands.getDelayMillis = 300;
        String auth = "Authorization: Bearer " + api.alice + "\r\n";
        String requests = "GET /v1/commands/" + id + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
                + "GET /v1/devices/meter-0042 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
                + "GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        String all;
        try (Socket s = new Socket(api.server.address().getAddress(), api.server.address().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(requests.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }

        int first = all.indexOf("\"state\":\"QUEUED\"");
        int second = all.indexOf("\"online\":false");
        int third = all.indexOf("HTTP/1.1 404");
        assertThat(first).as(all).isPositive();
        assertThat(second).as(all).isGreaterThan(first);
        assertThat(third).as(all).isGreaterThan(second);
    }

    @Test
    void aLedgerThatNeverAnswers_is503AfterTheLedgerTimeout_andTheConnectionServesOn() throws Exception {
        api.close();
        api = new ApiFixture(dir);
        api.limits = new ApiServer.Limits(256, Duration.ofSeconds(30), Duration.ofSeconds(75), Duration.ofMillis(500));
        api.start();
        api.commands.getHangs = true;
        long start = System.nanoTime();

        ApiFixture.Reply r = api.get("/v1/commands/x");

        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertProblem(r, 503, "store-unavailable", "did not answer within 500ms");
        assertThat(tookMillis).isBetween(500L, 3_000L);
        api.commands.getHangs = false;
        assertThat(api.get("/v1/devices/d").status()).isEqualTo(200);
    }
}
