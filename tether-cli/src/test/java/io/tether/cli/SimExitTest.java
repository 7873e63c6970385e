package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.server.Authenticators;
import io.tether.server.Credentials;
import io.tether.server.Flapping;
import io.tether.server.TetherServer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12 item 10: sim fails (exit 1, a reason on stderr) when nothing worked; its figures are honest. */
class SimExitTest {
    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void noListener_exits1_sayingWhy() throws Exception {
        for (String behaviour : new String[] {"normal", "silent"}) {
            long t0 = System.nanoTime();
            Cli r = Cli.run("sim", "--target", "127.0.0.1:" + closedPort(), "--devices", "3", "--duration", "1s",
                    "--behaviour", behaviour);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println(behaviour + ": " + ms + " ms");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("no device completed a handshake").contains("is a server listening");
            assertThat(ms).as("ends with --duration 1s, slack for closing").isLessThan(8_000);
        }
    }

    @Test
    void everyHelloRefused_exits1_sayingAuthFailed(@TempDir Path dir) throws Exception {
        Path creds = dir.resolve("creds");
        Credentials.addDevice(creds, "other", "s");
        try (TetherServer server = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(Authenticators.tokens(Credentials.load(creds))).flapping(Flapping.OFF)
                .shutdownTimeout(Duration.ofSeconds(1)).build().start()) {
            Cli r = Cli.run("sim", "--target", "127.0.0.1:" + server.port(), "--devices", "2", "--duration", "1500ms",
                    "--secret", "wrong");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("every HELLO was refused").contains("AUTH_FAILED");
        }
    }

    @Test
    void concurrencyBelowDevices_againstASilentPeer_endsWithDuration() throws Exception {
        // A listener that never answers: each connect() waits for a WELCOME that never comes.
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            long t0 = System.nanoTime();
            Cli r = Cli.run("sim", "--target", "127.0.0.1:" + silent.getLocalPort(), "--devices", "5",
                    "--concurrency", "1", "--duration", "1s");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("elapsed " + ms + " ms");
            assertThat(r.code()).isEqualTo(1);
            assertThat(ms).as("--duration 1s plus up to 10 s of closing").isLessThan(12_000);
        }
    }

    @Test
    void ackLatency_isTheDataRoundTrip_notTheConnect() throws Exception {
        try (TetherServer server = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .flapping(Flapping.OFF).shutdownTimeout(Duration.ofSeconds(1)).build().start()) {
            Cli r = Cli.run("sim", "--target", "127.0.0.1:" + server.port(), "--devices", "5", "--messages", "20",
                    "--window", "1", "--duration", "5s", "--stop-when-acked");
            assertThat(r.code()).isZero();
            JsonNode s = new ObjectMapper().readTree(r.out());
            assertThat(s.get("messagesAcked").asLong()).isEqualTo(100);
            double p50 = s.get("ackLatencyMs").get("p50").asDouble();
            // Loopback round trip of one DATA with an in-memory store: well under 50 ms; connect,
            // TLS-free handshake and class loading (the old reference) take longer.
            assertThat(p50).isLessThan(50);
        }
    }

    @Test
    void detectionLateness_keepsItsSign() {
        double[] v = {-1.5, 0.2, 3.0};
        assertThat(SimCommand.Run.percentile(v, 50)).isEqualTo(0.2);
        assertThat(SimCommand.Run.percentile(v, 1)).isEqualTo(-1.5);
    }
}
