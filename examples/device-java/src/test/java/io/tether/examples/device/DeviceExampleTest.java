package io.tether.examples.device;

import io.tether.server.Authenticators;
import io.tether.server.Credentials;
import io.tether.server.MessageStores;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The example's main, as README runs it, against an embedded gateway that requires credentials. */
class DeviceExampleTest {
    @TempDir
    Path dir;

    private TetherServer server;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws Exception {
        Path creds = dir.resolve("creds");
        // What README's steps do with `tether credentials add`.
        Credentials.addDevice(creds, "truck-42", "truck-secret");
        Credentials.addGroup(creds, "sim-", "fleet-secret");
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(Authenticators.credentialsFile(creds))
                .store(MessageStores.inMemory())
                .shutdownTimeout(Duration.ofSeconds(1))
                .build().start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private int run(Map<String, String> env, String... args) {
        int status = DeviceExample.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        System.out.println("exit " + status + "; stdout: " + out.toString(StandardCharsets.UTF_8).strip()
                + "; stderr: " + err.toString(StandardCharsets.UTF_8).strip());
        return status;
    }

    private String target() {
        return "127.0.0.1:" + server.port();
    }

    @Test
    void deviceSecret_100Messages_allAcked_exit0() {
        int status = run(Map.of("TETHER_SECRET", "truck-secret"), target(), "truck-42", "100");
        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("100 messages sent, 100 acknowledged (last seq 100)");
        assertThat(server.store().lastSeq("truck-42")).as("messages the gateway stored").isEqualTo(100);
    }

    @Test
    void groupSecret_forASimId_allAcked_exit0() {
        int status = run(Map.of("TETHER_SECRET", "fleet-secret", "TETHER_GROUP", "sim-"), target(), "sim-7", "10");
        assertThat(status).isZero();
        assertThat(server.store().lastSeq("sim-7")).isEqualTo(10);
    }

    @Test
    void wrongSecret_exit1_sayingAuthenticationFailedAndWhatToCheck() {
        long start = System.nanoTime();
        int status = run(Map.of("TETHER_SECRET", "wrong"), target(), "truck-42", "100");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(status).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("authentication failed", "AUTH_FAILED",
                "tether credentials add --device truck-42");
        // Not the 30 s connect timeout: the refusal itself ends the program (PBKDF2 and a local
        // handshake take well under a second; 10 s of slack for a loaded machine).
        assertThat(millis).as("ms until exit").isLessThan(10_000);
        assertThat(server.store().lastSeq("truck-42")).isZero();
    }

    @Test
    void badArguments_exit2_withTheExpectedForm() {
        assertThat(run(Map.of(), target())).isEqualTo(2);
        assertThat(run(Map.of(), target(), "truck-42", "-5")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("usage:", "MESSAGES: '-5'");
    }
}
