package io.tether.cli;

import io.tether.server.KafkaOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code tether serve --kafka ...}: flags into KafkaOptions, and their mistakes in the flags' own words. */
class KafkaServeOptionsTest {
    @TempDir
    Path dir;

    private static ServeCommand parse(String... args) {
        CommandLine root = new CommandLine(new TetherCommand());
        try {
            ConfigFile.install(root, args);
        } catch (ConfigFile.ConfigException e) {
            throw new IllegalStateException(e);
        }
        CommandLine.ParseResult pr = root.parseArgs(args);
        return (ServeCommand) pr.subcommand().commandSpec().userObject();
    }

    @Test
    void withoutKafka_noOptions() {
        assertThat(parse("serve").kafkaOptions()).isNull();
    }

    @Test
    void kafkaFlags_becomeTheOptions_commandsTopicDefaultsWhenGivenBare() throws Exception {
        Path props = dir.resolve("kafka.properties");
        Files.writeString(props, "security.protocol=SASL_SSL\nsasl.mechanism = PLAIN\n");
        KafkaOptions o = parse("serve", "--kafka", "k1:9092,k2:9093", "--kafka-config", props.toString(),
                "--kafka-topic-messages", "m", "--kafka-topic-events", "e", "--kafka-topic-command-results", "r",
                "--kafka-topic-offsets", "o",
                "--kafka-commands", "--kafka-gateway-id", "gw-7").kafkaOptions();

        assertThat(o.bootstrap()).isEqualTo("k1:9092,k2:9093");
        assertThat(o.properties()).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "PLAIN");
        assertThat(o.topics()).isEqualTo(new KafkaOptions.Topics("m", "e", "r", "o", "tether.commands"));
        assertThat(o.gatewayId()).isEqualTo("gw-7");
    }

    @Test
    void commandsAreOffByDefault_andTakeATopicName() {
        assertThat(parse("serve", "--kafka", "k:9092").kafkaOptions().topics().commands()).isNull();
        assertThat(parse("serve", "--kafka", "k:9092", "--kafka-commands=cmds").kafkaOptions().topics().commands())
                .isEqualTo("cmds");
    }

    @Test
    void defaultGatewayId_isStableForADataDir_andDiffersBetweenDataDirs() {
        String a1 = parse("serve", "--kafka", "k:9092", "--data-dir", dir.resolve("a").toString()).kafkaOptions().gatewayId();
        String a2 = parse("serve", "--kafka", "k:9092", "--data-dir", dir.resolve("a").toString()).kafkaOptions().gatewayId();
        String b = parse("serve", "--kafka", "k:9092", "--data-dir", dir.resolve("b").toString()).kafkaOptions().gatewayId();
        assertThat(a1).isEqualTo(a2).isNotEqualTo(b).matches("[A-Za-z0-9._-]+-[0-9a-f]{8}");
    }

    @Test
    void mistakes_nameTheFlag() {
        assertThatThrownBy(() -> parse("serve", "--kafka", "localhost").kafkaOptions())
                .hasMessageContaining("kafka 'localhost'").hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> parse("serve", "--kafka-commands").kafkaOptions())
                .hasMessage("--kafka-commands needs --kafka HOST:PORT (forwarding to Kafka is off without it)");
        assertThatThrownBy(() -> parse("serve", "--kafka", "k:9092", "--kafka-topic-events", "bad topic").kafkaOptions())
                .hasMessageStartingWith("kafka-topic-events 'bad topic'");
        assertThatThrownBy(() -> parse("serve", "--kafka", "k:9092", "--kafka-config", dir.resolve("none").toString())
                .kafkaOptions()).hasMessageContaining("--kafka-config").hasMessageContaining("no such file");
        assertThatThrownBy(() -> parse("serve", "--kafka", "k:9092", "--kafka-topic-events", "tether.messages").kafkaOptions())
                .hasMessageContaining("tether.messages is named twice");
    }

    @Test
    void badFlag_exits2WithOneLine() {
        Cli r = Cli.run("serve", "--insecure-no-auth", "--store", "memory", "--kafka", "nohost");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("tether serve:").contains("kafka 'nohost'");
    }
}
