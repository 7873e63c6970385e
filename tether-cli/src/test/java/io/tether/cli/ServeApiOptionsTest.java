package io.tether.cli;

import io.tether.server.ApiKeys;
import io.tether.server.ApiRate;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@code tether serve --api ...}: flags, their mistakes (exit 2, one clear line), and a served API. */
class ServeApiOptionsTest {
    @TempDir
    Path dir;

    private static ServeCommand parse(String... args) throws Exception {
        CommandLine root = new CommandLine(new TetherCommand());
        ConfigFile.install(root, args);
        CommandLine.ParseResult pr = root.parseArgs(args);
        return (ServeCommand) pr.subcommand().commandSpec().userObject();
    }

    @Test
    void apiRate_readsRateAndBurst() {
        assertThat(ServeCommand.parseApiRate("1000,2000")).isEqualTo(new ApiRate(1000, 2000));
        assertThat(ServeCommand.parseApiRate("50")).isEqualTo(new ApiRate(50, 100));
        assertThat(ServeCommand.parseApiRate("0.5")).isEqualTo(new ApiRate(0.5, 1));
        assertThat(ServeCommand.parseApiRate("0")).isEqualTo(ApiRate.OFF);
        assertThat(ServeCommand.parseApiRate("off")).isEqualTo(ApiRate.OFF);
        assertThatThrownBy(() -> ServeCommand.parseApiRate("fast")).hasMessage(
                "--api-rate 'fast' (expected: PER_SEC[,BURST], e.g. 1000,2000, or 0 for no limit)");
        assertThatThrownBy(() -> ServeCommand.parseApiRate("10,0")).hasMessage("--api-rate burst 0 (expected: 1 to 10000000)");
        assertThatThrownBy(() -> ServeCommand.parseApiRate("-1")).hasMessageStartingWith("--api-rate -1.0 (expected: 0 to 1000000");
    }

    @Test
    void apiRateDefault_isTheBuildersAndShownInHelp() throws Exception {
        ServeCommand serve = parse("serve");
        assertThat(ServeCommand.parseApiRate(serve.apiRate)).isEqualTo(ApiRate.DEFAULT);
        assertThat(Cli.run("serve", "--help").out()).contains("--api-rate").contains("default: 1000,2000");
    }

    @Test
    void apiWithKeys_configuresTheBuilder() throws Exception {
        Path keys = dir.resolve("api-keys");
        ApiKeys.add(keys, "alice");
        ServeCommand serve = parse("serve", "--api", "127.0.0.1:0", "--api-keys", keys.toString(), "--api-rate", "5,7");
        TetherServer.Builder b = serve.builder();

        ApiKeys loaded = serve.configureApi(b);

        assertThat(loaded.path()).isEqualTo(keys);
        assertThat(loaded.size()).isEqualTo(1);
        assertThat(b.build()).isNotNull();
    }

    @Test
    void apiFlags_areReadFromTheConfigFile(@TempDir Path yamlDir) throws Exception {
        Path keys = dir.resolve("api-keys");
        ApiKeys.add(keys, "alice");
        Path yaml = yamlDir.resolve("tether.yaml");
        Files.writeString(yaml, "api: 127.0.0.1:0\napi-keys: " + keys + "\napi-rate: 5,7\n");

        ServeCommand serve = parse("serve", "--config", yaml.toString());

        assertThat(ServeCommand.parseApiRate(serve.apiRate)).isEqualTo(new ApiRate(5, 7));
        assertThat(serve.configureApi(serve.builder()).path()).isEqualTo(keys);
    }

    @Test
    void apiWithoutKeys_exits2_sayingWhyAndTheFix() {
        Cli r = Cli.run("serve", "--insecure-no-auth", "--store", "memory", "--api", "127.0.0.1:0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--api without --api-keys FILE").contains("tether api-keys add NAME --file FILE")
                .contains("--insecure-no-api-auth");
        assertThat(r.errLines()).isEqualTo(1);
    }

    @Test
    void apiMistakes_exit2_withOneClearLine() throws Exception {
        Path keys = dir.resolve("api-keys");
        ApiKeys.add(keys, "alice");
        Path empty = dir.resolve("empty-keys");
        Files.writeString(empty, "# nothing yet\n");
        String[][] cases = {
                {"--api-keys", keys.toString()}, {"--api-keys needs --api ADDR:PORT"},
                {"--insecure-no-api-auth"}, {"--insecure-no-api-auth needs --api ADDR:PORT"},
                {"--api", "127.0.0.1:0", "--api-keys", keys.toString(), "--insecure-no-api-auth"}, {"choose one"},
                {"--api", "127.0.0.1:0", "--api-keys", dir.resolve("none").toString()}, {"--api-keys: API keys file", "does not exist"},
                {"--api", "127.0.0.1:0", "--api-keys", empty.toString()}, {"has no keys: every request would be refused"},
                {"--api", "127.0.0.1:0", "--api-keys", keys.toString(), "--api-tls-cert", keys.toString()},
                {"--api-tls-cert and --api-tls-key go together"},
                {"--api", "127.0.0.1:0", "--api-keys", keys.toString(), "--api-rate", "lots"}, {"--api-rate 'lots'"},
                {"--api", "127.0.0.1:99999", "--api-keys", keys.toString()}, {"--api"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = new String[cases[i].length + 4];
            args[0] = "serve";
            args[1] = "--insecure-no-auth";
            args[2] = "--store";
            args[3] = "memory";
            System.arraycopy(cases[i], 0, args, 4, cases[i].length);
            Cli r = Cli.run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            for (String expected : cases[i + 1]) {
                assertThat(r.err()).as(String.join(" ", args)).contains(expected);
            }
            assertThat(r.err()).as(String.join(" ", args)).doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    @Test
    void serveWithApi_servesIt_andARemovedKeyIsRefusedWithinSeconds() throws Exception {
        Path keys = dir.resolve("api-keys");
        String alice = ApiKeys.add(keys, "alice");
        ApiKeys.add(keys, "bob");
        int apiPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            apiPort = s.getLocalPort();
        }
        try (ServerProcess server = ServerProcess.start(dir, "--insecure-no-auth", "--api", "127.0.0.1:" + apiPort,
                "--api-keys", keys.toString())) {
            HttpClient http = HttpClient.newHttpClient();
            URI device = URI.create("http://127.0.0.1:" + apiPort + "/v1/devices/truck-1");
            await().atMost(10, TimeUnit.SECONDS).ignoreExceptions().until(() -> http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + apiPort + "/v1/openapi.json")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
            HttpRequest withAlice = HttpRequest.newBuilder(device).header("Authorization", "Bearer " + alice)
                    .timeout(Duration.ofSeconds(5)).build();
            assertThat(http.send(HttpRequest.newBuilder(device).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .as("no key").isEqualTo(401);
            assertThat(http.send(withAlice, HttpResponse.BodyHandlers.ofString()).statusCode()).as("alice's key")
                    .isNotEqualTo(401);

            assertThat(Cli.run("api-keys", "remove", "alice", "--file", keys.toString()).code()).isZero();

            // The server re-reads the file every 2 s.
            await().atMost(10, TimeUnit.SECONDS).until(() ->
                    http.send(withAlice, HttpResponse.BodyHandlers.ofString()).statusCode() == 401);
        }
    }
}
