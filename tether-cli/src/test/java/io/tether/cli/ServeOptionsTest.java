package io.tether.cli;

import io.tether.server.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Flags and the YAML config file map onto the server configuration; flags win. */
class ServeOptionsTest {
    private static ServerConfig configOf(String... args) throws Exception {
        CommandLine root = new CommandLine(new TetherCommand());
        root.setOverwrittenOptionsAllowed(true);
        String[] expanded = ConfigFile.expand(root, args);
        CommandLine.ParseResult pr = root.parseArgs(expanded);
        ServeCommand serve = (ServeCommand) pr.subcommand().commandSpec().userObject();
        return serve.builder().config();
    }

    @Test
    void defaults_matchTheDocumentedOnes() throws Exception {
        ServerConfig c = configOf("serve");
        assertThat(c.bindAddress().getPort()).isEqualTo(7400);
        assertThat(c.handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.heartbeat()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.heartbeatMultiplier()).isEqualTo(1.5);
        assertThat(c.drain()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.keepAliveIdle()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.keepAliveInterval()).isEqualTo(Duration.ofSeconds(20));
        assertThat(c.keepAliveCount()).isEqualTo(3);
        assertThat(c.userTimeout()).as("idle + interval x count").isEqualTo(Duration.ofSeconds(120));
        assertThat(c.quiet()).isFalse();
    }

    @Test
    void flags_setTheConfiguration() throws Exception {
        ServerConfig c = configOf("serve", "--port", "9000", "--heartbeat", "0", "--drain", "500ms",
                "--keepalive", "2s,1s,3", "--user-timeout", "4s", "--quiet", "--heartbeat-multiplier", "2");
        assertThat(c.bindAddress().getPort()).isEqualTo(9000);
        assertThat(c.heartbeatsEnabled()).isFalse();
        assertThat(c.drain()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.keepAliveIdle()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.userTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.quiet()).isTrue();
        assertThat(c.heartbeatMultiplier()).isEqualTo(2.0);
    }

    @Test
    void configFile_isRead_andFlagsWin(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "port: 9100\nheartbeat: 10s\nquiet: true\nkeepalive: 30s,5s,4\n");
        ServerConfig c = configOf("serve", "--config", yaml.toString(), "--heartbeat", "20s");
        assertThat(c.bindAddress().getPort()).isEqualTo(9100);
        assertThat(c.heartbeat()).isEqualTo(Duration.ofSeconds(20));
        assertThat(c.quiet()).isTrue();
        assertThat(c.keepAliveCount()).isEqualTo(4);
    }

    @Test
    void configFile_unknownKey_isAnErrorNamingTheKnownKeys(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "heartbeats: 10s\n");
        assertThatThrownBy(() -> configOf("serve", "--config", yaml.toString()))
                .hasMessageContaining("unknown key 'heartbeats'")
                .hasMessageContaining("heartbeat-multiplier");
    }

    @Test
    void invalidValue_exitCode2_withAClearMessage() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("serve", "--heartbeat", "fast");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("'fast' is not a duration");
    }

    @Test
    void badKeepalive_isRejected() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setErr(new PrintWriter(err));
        assertThat(cl.execute("serve", "--keepalive", "60s,20s")).isEqualTo(2);
        assertThat(err.toString()).contains("IDLE,INTVL,CNT");
    }
}
