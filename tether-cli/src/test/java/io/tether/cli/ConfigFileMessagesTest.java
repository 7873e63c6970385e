package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.server.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Issue 12 item 6: YAML's off, errors that name the file and key, one line instead of the usage. */
class ConfigFileMessagesTest {
    private static ServerConfig configOf(String... args) throws Exception {
        CommandLine root = new CommandLine(new TetherCommand());
        ConfigFile.install(root, args);
        CommandLine.ParseResult pr = root.parseArgs(args);
        return ((ServeCommand) pr.subcommand().commandSpec().userObject()).builder().config();
    }

    @Test
    void yamlOff_turnsKeepaliveAndFlappingOff(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "keepalive: off\nflapping: off\n");
        ServerConfig c = configOf("serve", "--config", yaml.toString());
        System.out.println("keepalive=" + c.keepAlive() + " flapping=" + c.flapping());
        assertThat(c.keepAliveEnabled()).isFalse();
        assertThat(c.flapping()).isEqualTo(io.tether.server.Flapping.OFF);
    }

    @Test
    void badValueInTheFile_namesTheFileAndKey_inOneLine(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "heartbeat: 10x\n");
        Cli r = Cli.run("serve", "--config", yaml.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("tether serve: config file " + yaml + ": heartbeat: '10x' is not a duration");
        assertThat(r.err()).contains("See 'tether serve --help'").doesNotContain("Usage:");
        assertThat(r.errLines()).isEqualTo(2);
    }

    @Test
    void builderRefusal_ofAValueFromTheFile_namesTheFile(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "heartbeat-multiplier: 0.5\n");
        Cli r = Cli.run("serve", "--config", yaml.toString(), "--insecure-no-auth", "--store", "memory");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("config file " + yaml + ": heartbeat-multiplier 0.5 (expected: 1.0 to 100)");
    }

    @Test
    void typedFlag_isNotBlamedOnTheFile(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("tether.yaml");
        Files.writeString(yaml, "heartbeat: 10s\n");
        Cli r = Cli.run("serve", "--config", yaml.toString(), "--heartbeat", "10x");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("tether serve: Invalid value for option '--heartbeat': '10x'");
    }

    @Test
    void missingOrBrokenConfigFile_saysSo(@TempDir Path dir) throws Exception {
        Cli missing = Cli.run("serve", "--config", dir.resolve("nope.yaml").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("config file " + dir.resolve("nope.yaml") + " does not exist");
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "port: [1\n");
        Cli broken = Cli.run("serve", "--config", bad.toString());
        assertThat(broken.code()).isEqualTo(2);
        assertThat(broken.err()).contains("config file " + bad).contains("is not valid YAML");
    }

    @Test
    void parseError_isOneLinePlusAHint_notTheUsage() {
        Cli r = Cli.run("serve", "--port", "abc");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).doesNotContain("Usage:").contains("'abc'").contains("See 'tether serve --help'.");
        assertThat(r.errLines()).isLessThanOrEqualTo(2);
    }
}
