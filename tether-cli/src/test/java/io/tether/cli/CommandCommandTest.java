package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tether command send|get|list|cancel} against a fake of the API of docs/API.md. */
class CommandCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ID_LINE = "01JD8X6Y0Z3K5V7W9Q1R2S\\d{4}";

    private FakeCommandApi api;

    @TempDir
    Path dir;

    @BeforeEach
    void start() throws Exception {
        api = new FakeCommandApi();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    /** Runs {@code tether command ARGS} with {@code --api} the fake and the key in $TETHER_API_KEY. */
    private Cli command(String... args) {
        List<String> all = new ArrayList<>(List.of("command"));
        all.add(args[0]);
        all.addAll(List.of("--api", api.url(), "--api-key-env", "TETHER_API_KEY"));
        all.addAll(List.of(args).subList(1, args.length));
        return run(Map.of("TETHER_API_KEY", FakeCommandApi.KEY), all.toArray(String[]::new));
    }

    /** Runs {@code tether ARGS} in this JVM with {@code env} as the environment --api-key-env reads. */
    static Cli run(Map<String, String> env, String... args) {
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                return cls == CommandCommand.ApiOptions.class
                        ? cls.cast(new CommandCommand.ApiOptions(env::get))
                        : CommandLine.defaultFactory().create(cls);
            }
        };
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand(), factory);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = TetherCommand.execute(cl, args);
        System.out.println("$ tether " + String.join(" ", args) + "\n  exit " + code + "\n  stderr: " + err.toString().strip()
                + "\n  stdout: " + out.toString().strip());
        return new Cli(code, out.toString(), err.toString());
    }

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    // ---- send: the request ----

    @Test
    void sendText_postsTheTextAndPrintsTheNewId() throws Exception {
        Cli r = command("send", "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out().strip()).matches(ID_LINE);
        FakeCommandApi.Request post = api.requests("POST").get(0);
        assertThat(post.path()).isEqualTo("/v1/devices/meter-0042/commands");
        assertThat(post.contentType()).isEqualTo("application/json");
        assertThat(post.authorization()).isEqualTo("Bearer " + FakeCommandApi.KEY);
        assertThat(post.json()).isEqualTo(json("{\"text\":\"on\"}"));
        assertThat(api.requests).hasSize(1);
    }

    @Test
    void sendHex_postsBase64WithTtlAndIdempotencyKey() throws Exception {
        Cli r = command("send", "--device", "meter-0042", "--hex", "6f 6E", "--ttl", "90s", "--idempotency-key", "unlock-7");

        assertThat(r.code()).isZero();
        assertThat(api.requests("POST").get(0).json())
                .isEqualTo(json("{\"payload\":\"b24=\",\"ttl\":\"1m30s\",\"idempotencyKey\":\"unlock-7\"}"));
    }

    @Test
    void sendFile_postsTheFilesBytesAsBase64() throws Exception {
        Path f = dir.resolve("payload.bin");
        Files.write(f, new byte[] {0, 1, 2, (byte) 0xFF});

        Cli r = command("send", "--device", "meter-0042", "--file", f.toString());

        assertThat(r.code()).isZero();
        assertThat(api.requests("POST").get(0).json()).isEqualTo(json("{\"payload\":\"AAEC/w==\"}"));
    }

    @Test
    void sendToDeviceIdWithReservedCharacters_encodesThePathSegment() {
        Cli r = command("send", "--device", "site/7#a", "--text", "on");

        assertThat(r.code()).isZero();
        assertThat(api.requests("POST").get(0).path()).isEqualTo("/v1/devices/site%2F7%23a/commands");
    }

    @Test
    void sameIdempotencyKeyTwice_printsTheSameCommand() {
        Cli first = command("send", "--device", "meter-0042", "--text", "on", "--idempotency-key", "k1");
        Cli second = command("send", "--device", "meter-0042", "--text", "on", "--idempotency-key", "k1");

        assertThat(second.code()).isZero();
        assertThat(second.out()).isEqualTo(first.out());
    }

    @Test
    void badHex_isRefusedBeforeAnyRequest() {
        Cli notHex = command("send", "--device", "meter-0042", "--hex", "6g");
        Cli odd = command("send", "--device", "meter-0042", "--hex", "6f6");

        assertThat(notHex.code()).isEqualTo(2);
        assertThat(notHex.err()).contains("--hex '6g'", "'g' is not a hex digit");
        assertThat(odd.code()).isEqualTo(2);
        assertThat(odd.err()).contains("--hex '6f6'", "odd");
        assertThat(api.requests).isEmpty();
    }

    @Test
    void badFlags_areRefusedBeforeAnyRequest_namingTheFlag() {
        assertThat(command("send", "--device", "meter 42", "--text", "on").err()).contains("--device 'meter 42'");
        assertThat(command("send", "--device", "m", "--text", "on", "--ttl", "0").err()).contains("--ttl 0");
        assertThat(command("send", "--device", "m", "--text", "on", "--idempotency-key", "a b").err())
                .contains("--idempotency-key");
        assertThat(command("send", "--device", "m", "--text", "on", "--hex", "00").err()).contains("mutually exclusive");
        assertThat(command("send", "--device", "m").err()).contains("--text", "--hex", "--file");
        assertThat(command("send", "--device", "m", "--file", dir.resolve("nope").toString()).err())
                .contains("--file " + dir.resolve("nope") + ": no such file");
        assertThat(run(Map.of(), "command", "send", "--api", "ftp://x", "--device", "m", "--text", "on").err())
                .contains("--api 'ftp://x'", "http://");
        assertThat(api.requests).isEmpty();
    }

    // ---- send --wait: the outcome ----

    @Test
    void sendWait_endingSucceeded_exitsZeroWithTheResult() {
        api.outcome = "SUCCEEDED";
        api.resultText = "unlocked";

        Cli r = command("send", "--device", "meter-0042", "--text", "unlock", "--wait", "10s");

        assertThat(r.code()).isZero();
        assertThat(r.out().strip()).matches(ID_LINE + " meter-0042 seq=1 SUCCEEDED result=\"unlocked\" \\(delivered in 200 ms\\)");
        assertThat(api.requests("GET")).isNotEmpty().allSatisfy(g -> assertThat(g.query()).startsWith("wait="));
    }

    @Test
    void sendWait_endingFailed_exitsOne() {
        api.outcome = "FAILED";
        api.resultText = "door jammed";

        Cli r = command("send", "--device", "meter-0042", "--text", "unlock", "--wait", "10s");

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains(" FAILED result=\"door jammed\"");
    }

    @Test
    void sendWait_stillQueuedWhenTheWaitEnds_exitsThree() {
        api.outcome = null; // the device never comes

        long start = System.nanoTime();
        Cli r = command("send", "--device", "meter-0042", "--text", "on", "--wait", "700ms");
        long tookMs = (System.nanoTime() - start) / 1_000_000;

        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains(" QUEUED");
        assertThat(r.err()).contains("still QUEUED when --wait 700ms ended");
        // The wait is kept, give or take a poll's overhead (slack: 2 s for a loaded machine).
        assertThat(tookMs).isBetween(700L, 2_700L);
    }

    @Test
    void sendWait_longerThanOneMinute_pollsInChunksOfAtMostOneMinute() {
        Cli r = command("send", "--device", "meter-0042", "--text", "on", "--wait", "5m");

        assertThat(r.code()).isZero();
        assertThat(api.requests("GET").get(0).query()).isEqualTo("wait=1m");
    }

    @Test
    void sendWait_againstAServerHoldingPollsShorter_pollsAgainWithWhatIsLeft() {
        api.outcome = null;
        api.maxHold = Duration.ofMillis(300);

        Cli r = command("send", "--device", "meter-0042", "--text", "on", "--wait", "1s");

        assertThat(r.code()).isEqualTo(3);
        List<FakeCommandApi.Request> polls = api.requests("GET");
        assertThat(polls.size()).isBetween(3, 5);
        assertThat(polls.get(0).query()).isEqualTo("wait=1s");
        assertThat(DurationConverter.parse(polls.get(polls.size() - 1).query().substring(5))).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void getWait_rateLimitedPoll_isWaitedOutAndPolledAgain() {
        String id = command("send", "--device", "meter-0042", "--text", "on").out().strip();
        // The first long poll is refused with Retry-After: 1.
        api.problemNext(429, "rate-limited", "Too many requests", "more than 100 requests/s from this key", 1);

        Cli r = command("get", id, "--wait", "5s");

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains(" SUCCEEDED");
        assertThat(r.err()).contains("Too many requests", "polling again in 1s");
    }

    @Test
    void sendJson_printsTheCommandAsTheApiAnswered() throws Exception {
        Cli r = command("send", "--device", "meter-0042", "--text", "on", "--json");

        assertThat(r.code()).isZero();
        JsonNode c = json(r.out());
        assertThat(c.path("state").asText()).isEqualTo("QUEUED");
        assertThat(c.path("payload").asText()).isEqualTo("b24=");
        assertThat(r.out().strip().lines()).hasSize(1);
    }

    // ---- errors ----

    @Test
    void wrongKey_exitsTwoWithTheProblem_andNeverPrintsTheKey() {
        Cli r = run(Map.of("K", "tk_wrong_secret"), "command", "send", "--api", api.url(), "--api-key-env", "K",
                "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("tether command send: Unauthorized: missing or wrong API key");
        assertThat(r.out() + r.err()).doesNotContain("tk_wrong_secret");
        assertThat(api.requests.get(0).authorization()).isEqualTo("Bearer tk_wrong_secret");
    }

    @Test
    void noKey_401SaysHowToGiveOne() {
        Cli r = run(Map.of(), "command", "send", "--api", api.url(), "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unauthorized", "--api-key-env VAR");
        assertThat(api.requests.get(0).authorization()).isNull();
    }

    @Test
    void missingKeyVariable_exitsTwoBeforeAnyRequest() {
        Cli r = run(Map.of(), "command", "send", "--api", api.url(), "--api-key-env", "TETHER_API_KEY",
                "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--api-key-env TETHER_API_KEY: environment variable TETHER_API_KEY is not set");
        assertThat(api.requests).isEmpty();
    }

    @Test
    void keyFile_isSentStripped() throws Exception {
        Path key = dir.resolve("key");
        Files.writeString(key, FakeCommandApi.KEY + "\n");

        Cli r = run(Map.of(), "command", "send", "--api", api.url(), "--api-key-file", key.toString(),
                "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isZero();
        assertThat(api.requests.get(0).authorization()).isEqualTo("Bearer " + FakeCommandApi.KEY);
    }

    @Test
    void problemAnswers_exitTwoWithTitleAndDetail() {
        api.problemNext(413, "payload-too-large", "Payload too large",
                "payload of 70000 bytes exceeds the limit of 65526 bytes (max frame 65536 - 10)", null);
        Cli tooLarge = command("send", "--device", "meter-0042", "--text", "x");
        api.problemNext(409, "queue-full", "Queue full", "meter-0042 has 1000 open commands (the maximum)", null);
        Cli full = command("send", "--device", "meter-0042", "--text", "x");

        assertThat(tooLarge.code()).isEqualTo(2);
        assertThat(tooLarge.err().strip()).isEqualTo("tether command send: Payload too large: payload of 70000 bytes"
                + " exceeds the limit of 65526 bytes (max frame 65536 - 10)");
        assertThat(full.code()).isEqualTo(2);
        assertThat(full.err()).contains("Queue full: meter-0042 has 1000 open commands");
    }

    @Test
    void connectionRefused_exitsTwoNamingTheUrl() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port;

        Cli r = run(Map.of("K", "tk_x"), "command", "send", "--api", url, "--api-key-env", "K",
                "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("cannot connect to " + url + ": connection refused");
        assertThat(r.errLines()).isEqualTo(1);
    }

    @Test
    void notTheApi_exitsTwoSayingSo() throws Exception {
        // A server that answers 200 with HTML: --api points at something else.
        com.sun.net.httpserver.HttpServer other = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        other.createContext("/", x -> {
            byte[] b = "<html>hello</html>".getBytes();
            x.sendResponseHeaders(200, b.length);
            x.getResponseBody().write(b);
            x.close();
        });
        other.start();
        try {
            Cli r = run(Map.of(), "command", "get", "--api", "http://127.0.0.1:" + other.getAddress().getPort(),
                    "01JD8X6Y0Z3K5V7W9Q1R2S3T4U");
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("not a JSON object", "the Tether API");
        } finally {
            other.stop(0);
        }
    }

    // ---- get, list, cancel ----

    @Test
    void get_printsTheCommand_exitZeroWhileQueuedWithoutWait() {
        api.outcome = null;
        String id = command("send", "--device", "meter-0042", "--text", "on").out().strip();

        Cli r = command("get", id);

        assertThat(r.code()).isZero();
        assertThat(r.out().strip()).isEqualTo(id + " meter-0042 seq=1 QUEUED detail=\"device offline\"");
        assertThat(api.requests("GET").get(0).path()).isEqualTo("/v1/commands/" + id);
        assertThat(api.requests("GET").get(0).query()).isNull();
    }

    @Test
    void getWait_endingExpiredOrCanceled_exitsOne() {
        String expired = api.existing("meter-0042", "EXPIRED");
        String canceled = api.existing("meter-0042", "CANCELED");

        Cli e = command("get", expired, "--wait", "5s");
        Cli c = command("get", canceled);

        assertThat(e.code()).isEqualTo(1);
        assertThat(e.out()).contains(" EXPIRED detail=\"TTL of 1h passed\"");
        assertThat(c.code()).isEqualTo(1);
        // Already final: one request each, answered at once.
        assertThat(api.requests("GET")).hasSize(2);
    }

    @Test
    void getDelivered_exitsZero() {
        String id = api.existing("meter-0042", "DELIVERED");

        assertThat(command("get", id).code()).isZero();
    }

    @Test
    void getUnknownId_exitsTwoWithNotFound() {
        Cli r = command("get", "01JD8X6Y0Z3K5V7W9Q1R2S9999");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("tether command get: Not found: no command 01JD8X6Y0Z3K5V7W9Q1R2S9999");
    }

    @Test
    void list_printsATableOldestFirst_withTheQueryAsGiven() {
        String a = api.existing("meter-0042", "QUEUED");
        String b = api.existing("meter-0042", "SENT");
        api.existing("meter-0042", "SUCCEEDED");
        api.existing("other-1", "QUEUED");

        Cli r = command("list", "--device", "meter-0042", "--state", "queued,SENT", "--limit", "5");

        assertThat(r.code()).isZero();
        assertThat(api.requests("GET").get(0).path()).isEqualTo("/v1/devices/meter-0042/commands");
        assertThat(api.requests("GET").get(0).query()).isEqualTo("state=QUEUED,SENT&limit=5");
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0).split("\\s+")).containsExactly("ID", "SEQ", "STATE", "CREATED", "ATTEMPTS", "DETAIL");
        assertThat(lines.get(1).split("\\s+")).startsWith(a, "1", "QUEUED");
        assertThat(lines.get(2).split("\\s+")).startsWith(b, "2", "SENT");
        assertThat(lines.get(2).split("\\s+")[4]).isEqualTo("1"); // attempts
    }

    @Test
    void listJson_printsTheAnswer() throws Exception {
        api.existing("meter-0042", "QUEUED");

        Cli r = command("list", "--device", "meter-0042", "--json");

        assertThat(json(r.out()).path("commands")).hasSize(1);
    }

    @Test
    void listWithUnknownStateOrLimit_isRefusedBeforeAnyRequest() {
        assertThat(command("list", "--device", "m", "--state", "DONE").code()).isEqualTo(2);
        assertThat(command("list", "--device", "m", "--limit", "0").err()).contains("--limit 0 (expected: 1 to 1000)");
        assertThat(api.requests).isEmpty();
    }

    @Test
    void cancelQueued_exitsZeroCanceled() {
        String id = api.existing("meter-0042", "QUEUED");

        Cli r = command("cancel", id);

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains(id + " meter-0042 seq=1 CANCELED");
        assertThat(api.requests("DELETE").get(0).path()).isEqualTo("/v1/commands/" + id);
    }

    @Test
    void cancelOfAFinishedCommand_exitsOneWithTheConflict() {
        String id = api.existing("meter-0042", "SUCCEEDED");

        Cli r = command("cancel", id);

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip()).isEqualTo("tether command cancel: Conflict: command " + id
                + " is SUCCEEDED: only a QUEUED command can be canceled");
    }

    @Test
    void help_documentsTheExitCodesAndTheDefaultApi() {
        String help = Cli.run("command", "send", "--help").out();

        assertThat(help).contains("Exit codes:", "still QUEUED or SENT when --wait ended", "http://127.0.0.1:7480");
        assertThat(Cli.run("--help").out()).contains("command");
        assertThat(Cli.run("command").code()).isEqualTo(2);
    }
}
