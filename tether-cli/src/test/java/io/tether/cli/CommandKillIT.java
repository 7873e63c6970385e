package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.client.CommandResult;
import io.tether.client.DeviceCommand;
import io.tether.client.TetherClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static java.util.concurrent.TimeUnit.MINUTES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The window the ledger must survive: the server is killed with SIGKILL after it sent a command
 * and before the device acknowledged it. The test forces the window: the device's handler holds
 * the command until the server is dead. After the restart the command is sent again (same seq),
 * and the SDK processes it once — whether the device application kept running or was restarted
 * on its outbox file meanwhile.
 */
class CommandKillIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private ServerProcess server;
    private final HttpClient http = HttpClient.newHttpClient();
    private int apiPort;
    private TetherClient client;

    @AfterEach
    void cleanUp() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    @Timeout(value = 2, unit = MINUTES)
    void kill9BetweenSentAndAck_commandIsSentAgainAndProcessedOnce() throws Exception {
        runKillWindow(false);
    }

    @Test
    @Timeout(value = 2, unit = MINUTES)
    void kill9BetweenSentAndAck_andTheDeviceAppRestartsOnItsOutbox_stillProcessedOnce() throws Exception {
        runKillWindow(true);
    }

    private void runKillWindow(boolean restartDevice) throws Exception {
        apiPort = freePort();
        server = ServerProcess.start(dir, "--insecure-no-auth", "--api", "127.0.0.1:" + apiPort,
                "--insecure-no-api-auth", "--heartbeat", "1s");
        Path outbox = dir.resolve("device.outbox");
        List<Long> handled = new CopyOnWriteArrayList<>();
        CountDownLatch inHandler = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        client = device(outbox, c -> {
            handled.add(c.seq());
            inHandler.countDown();
            release.await(30, TimeUnit.SECONDS);
            return CommandResult.succeeded("unlocked".getBytes(StandardCharsets.UTF_8));
        });
        client.connect().get(10, TimeUnit.SECONDS);

        JsonNode created = post("{\"text\":\"unlock\"}");
        String id = created.path("id").asText();
        assertThat(inHandler.await(10, TimeUnit.SECONDS)).as("the device got the command").isTrue();
        assertThat(get(id).path("state").asText()).isEqualTo("SENT");

        assertThat(server.kill9()).isEqualTo(ServerProcess.KILLED); // SENT, not acknowledged
        release.countDown();                                        // the handler finishes while the server is dead
        if (restartDevice) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> !handled.isEmpty());
            Thread.sleep(200); // the handler returned and the outbox recorded it
            client.close();
            client.closeFuture().get(10, TimeUnit.SECONDS); // lets go of the outbox file
            client = device(outbox, c -> {
                handled.add(c.seq());
                return CommandResult.succeeded("again?".getBytes(StandardCharsets.UTF_8));
            });
        }
        server.restart(); // waits for the device port; the API listener may come up a moment later
        await().atMost(20, TimeUnit.SECONDS).ignoreExceptions().until(() -> get(id) != null);
        if (restartDevice) {
            client.connect();
        }

        JsonNode done = waitFinal(id);
        assertThat(done.path("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(done.path("result").path("payloadText").asText()).isEqualTo("unlocked");
        assertThat(done.path("attempts").asInt()).as("sent once before the kill, once after").isEqualTo(2);
        assertThat(handled).as("processed once").containsExactly(created.path("seq").asLong());
    }

    private TetherClient device(Path outbox, io.tether.client.CommandHandler handler) throws IOException {
        return TetherClient.builder()
                .target("127.0.0.1", server.port())
                .deviceId("lock-1")
                .heartbeat(Duration.ofSeconds(1))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .outboxFile(outbox)
                .onCommand(handler)
                .build();
    }

    private JsonNode post(String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort
                        + "/v1/devices/lock-1/commands")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return JSON.readTree(r.body());
    }

    private JsonNode get(String id) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort
                + "/v1/commands/" + id)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private JsonNode waitFinal(String id) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort
                + "/v1/commands/" + id + "?wait=30s")).timeout(Duration.ofSeconds(40)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
