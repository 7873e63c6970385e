package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.server.Flapping;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** tether sim against a real server: each behaviour produces the closes it should. */
class SimCommandIT {
    private final TetherServer server = TetherServer.builder()
            .bindAddress(new InetSocketAddress("127.0.0.1", 0))
            .heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1))
            .drain(Duration.ofMillis(200))
            .shutdownTimeout(Duration.ofSeconds(1))
            .flapping(Flapping.OFF)
            .build().start();

    @AfterEach
    void stop() {
        server.close();
    }

    private JsonNode sim(String... args) throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setOut(new PrintWriter(out));
        String[] all = new String[args.length + 3];
        all[0] = "sim";
        all[1] = "--target";
        all[2] = "127.0.0.1:" + server.port();
        System.arraycopy(args, 0, all, 3, args.length);
        assertThat(cl.execute(all)).isZero();
        return new ObjectMapper().readTree(out.toString().trim());
    }

    @Test
    void normal_sendsAndGetsEverythingAcked() throws Exception {
        JsonNode s = sim("--devices", "20", "--messages", "50", "--duration", "2s");
        assertThat(s.get("devices").asInt()).isEqualTo(20);
        assertThat(s.get("connected").asInt()).isEqualTo(20);
        assertThat(s.get("messagesSent").asLong()).isEqualTo(1000);
        assertThat(s.get("messagesAcked").asLong()).isEqualTo(1000);
        assertThat(s.get("closes").size()).isZero();
    }

    @Test
    void silent_isClosedWithHeartbeatTimeout() throws Exception {
        JsonNode s = sim("--devices", "10", "--behaviour", "silent", "--heartbeat", "200ms", "--duration", "1500ms");
        assertThat(s.get("closes").get("HEARTBEAT_TIMEOUT").asInt()).isEqualTo(10);
        assertThat(s.get("detectionLateMs").get("count").asInt()).isEqualTo(10);
    }

    @Test
    void late_isNeverClosed() throws Exception {
        JsonNode s = sim("--devices", "10", "--behaviour", "late", "--heartbeat", "200ms", "--duration", "2s");
        assertThat(s.get("connectedAtEnd").asInt()).isEqualTo(10);
        assertThat(s.get("closes").size()).isZero();
    }

    @Test
    void flap_everyOldConnectionIsTakenOver() throws Exception {
        JsonNode s = sim("--devices", "5", "--behaviour", "flap", "--flap-interval", "100ms", "--duration", "1500ms");
        assertThat(s.get("flaps").asInt()).isGreaterThan(20);
        assertThat(s.get("closes").get("TAKEN_OVER").asInt()).isGreaterThan(15);
    }

    @Test
    void finAndRst_areSeenAsSuchByTheServer() throws Exception {
        JsonNode fin = sim("--devices", "5", "--behaviour", "fin", "--messages", "3", "--id-prefix", "fin-");
        JsonNode rst = sim("--devices", "5", "--behaviour", "rst", "--messages", "3", "--id-prefix", "rst-");
        assertThat(fin.get("messagesAcked").asLong()).isEqualTo(15);
        assertThat(rst.get("messagesAcked").asLong()).isEqualTo(15);
        org.awaitility.Awaitility.await().until(() -> server.registry().size() == 0);
    }
}
