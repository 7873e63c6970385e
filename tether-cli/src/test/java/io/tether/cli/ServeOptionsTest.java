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
        ConfigFile.install(root, args);
        CommandLine.ParseResult pr = root.parseArgs(args);
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
    void configFile_unknownKey_isAnErrorNamingTheFileAndTheKnownKeys(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "heartbeats: 10s\n");
        assertThatThrownBy(() -> configOf("serve", "--config", yaml.toString()))
                .hasMessageContaining("config file " + yaml + ": unknown key 'heartbeats'")
                .hasMessageContaining("heartbeat-multiplier");
    }

    @Test
    void configFile_unknownKey_exitCode2(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "heartbeats: 10s\n");
        Run r = run("serve", "--config", yaml.toString());
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("unknown key 'heartbeats'");
    }

    @Test
    void configFile_valueIsCheckedLikeTheFlag(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "keepalive: 10h,20s,3\n");
        Run r = run("serve", "--config", yaml.toString());
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("the kernel accepts 1s to 32767s");
    }

    @Test
    void flagGivenTwice_isAnError() {
        Run r = run("serve", "--heartbeat", "10s", "--heartbeat", "20s");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("'--heartbeat'").contains("should be specified only once");
    }

    @Test
    void keepaliveBeyondTheKernelLimit_isRefusedAtStart_namingTheLimit() {
        Run r = run("serve", "--insecure-no-auth", "--store", "memory", "--port", "0", "--keepalive", "10h,20s,3");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("keepalive idle 10h: the kernel accepts 1s to 32767s (9h6m7s) for TCP_KEEPIDLE");
    }

    @Test
    void keepaliveOff_turnsSoKeepaliveOff() throws Exception {
        ServerConfig c = configOf("serve", "--keepalive", "off");
        assertThat(c.keepAliveEnabled()).isFalse();
        assertThat(c.userTimeout()).as("no keepalive, no derived TCP_USER_TIMEOUT").isEqualTo(Duration.ZERO);
    }

    @Test
    void help_showsTheServerBuildersDefaults() {
        Run r = run("serve", "--help");
        assertThat(r.code).isEqualTo(0);
        io.tether.server.ServerConfig d = io.tether.server.TetherServer.builder().config();
        assertThat(r.out.replaceAll("\\s+", " "))
                .contains("(default: " + io.tether.transport.KeepAlive.format(d.heartbeat()) + ")")
                .contains("(default: " + d.keepAlive() + ")")
                .contains("(default: " + d.flapping() + ")")
                .contains("(default: " + d.heartbeatMultiplier() + ", as MQTT)");
    }

    @Test
    void builderMessage_namesTheFlag() {
        Run r = run("serve", "--insecure-no-auth", "--heartbeat-multiplier", "0.5");
        assertThat(r.code).isEqualTo(2);
        assertThat(r.err).contains("tether serve: heartbeat-multiplier 0.5 (expected: 1.0 to 100)");
    }

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = TetherCommand.execute(cl, args);
        return new Run(code, out.toString(), err.toString());
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
