package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.server.ServerTls;
import io.tether.server.TetherServer;
import io.tether.transport.tls.Tls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tether sim --tls-ca} against a TLS gateway: SDK devices (through ClientTls) and raw
 * devices (through the shared Tls loader) both complete their handshakes.
 */
class SimTlsIT {
    @TempDir
    Path dir;
    private Path cert;
    private TetherServer server;

    @BeforeEach
    void start() throws Exception {
        cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("openssl req finished").isTrue();
        assertThat(p.exitValue()).as("openssl req: %s", new String(p.getInputStream().readAllBytes())).isZero();
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1))
                .drain(Duration.ofMillis(200))
                .shutdownTimeout(Duration.ofSeconds(1))
                .tls(ServerTls.fromPem(cert, key))
                .build().start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void sdkDevices_overTls_getEverythingAcked() throws Exception {
        JsonNode s = sim("--devices", "5", "--messages", "10", "--duration", "2s", "--stop-when-acked");

        assertThat(s.get("connected").asInt()).isEqualTo(5);
        assertThat(s.get("messagesAcked").asLong()).isEqualTo(50);
    }

    @Test
    void rawDevices_overTls_handshakeAndAreTimedOut() throws Exception {
        JsonNode s = sim("--devices", "5", "--behaviour", "silent", "--heartbeat", "200ms", "--duration", "1500ms");

        assertThat(s.get("connected").asInt()).isEqualTo(5);
        assertThat(s.get("closes").get("HEARTBEAT_TIMEOUT").asInt()).isEqualTo(5);
    }

    private JsonNode sim(String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 5];
        all[0] = "sim";
        all[1] = "--target";
        all[2] = "127.0.0.1:" + server.port();
        all[3] = "--tls-ca";
        all[4] = cert.toString();
        System.arraycopy(args, 0, all, 5, args.length);
        assertThat(cl.execute(all)).as("exit code; stderr: %s", err).isZero();
        return new ObjectMapper().readTree(out.toString().trim());
    }
}
