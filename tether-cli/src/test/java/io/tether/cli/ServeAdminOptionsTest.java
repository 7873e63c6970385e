package io.tether.cli;

import io.tether.server.ApiKeys;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tether serve --admin ... --admin-keys / --insecure-admin, --history-sessions}: flags and their mistakes. */
class ServeAdminOptionsTest {
    @TempDir
    Path dir;

    private static ServeCommand parse(String... args) throws Exception {
        CommandLine root = new CommandLine(new TetherCommand());
        ConfigFile.install(root, args);
        CommandLine.ParseResult pr = root.parseArgs(args);
        return (ServeCommand) pr.subcommand().commandSpec().userObject();
    }

    @Test
    void nonLoopbackAdminWithoutKeys_exits2_sayingWhyAndTheFix() {
        Cli r = Cli.run("serve", "--insecure-no-auth", "--store", "memory", "--port", "0", "--admin", "0.0.0.0:0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--admin 0.0.0.0:0 is not a loopback address").contains("--admin-keys FILE")
                .contains("tether api-keys add").contains("--insecure-admin");
        assertThat(r.errLines()).isEqualTo(1);
    }

    @Test
    void nonLoopbackAdmin_withInsecureAdmin_orKeys_configuresTheBuilder() throws Exception {
        ServeCommand insecure = parse("serve", "--admin", "0.0.0.0:0", "--insecure-admin");
        TetherServer.Builder b = insecure.builder();
        assertThat(insecure.configureAdmin(b)).isNull();
        assertThat(b.build()).isNotNull();

        Path keys = dir.resolve("admin-keys");
        ApiKeys.add(keys, "ops");
        ServeCommand keyed = parse("serve", "--admin", "0.0.0.0:0", "--admin-keys", keys.toString());
        TetherServer.Builder kb = keyed.builder();
        assertThat(keyed.configureAdmin(kb).path()).isEqualTo(keys);
        assertThat(kb.build()).isNotNull();

        ServeCommand loopback = parse("serve", "--admin", "127.0.0.1:0");
        TetherServer.Builder lb = loopback.builder();
        assertThat(loopback.configureAdmin(lb)).as("loopback stays open without keys").isNull();
        assertThat(lb.build()).isNotNull();
    }

    @Test
    void historySessions_defaultIsTheBuilders_andIsShownInHelp() throws Exception {
        assertThat(parse("serve").builder().config().historySessions()).isEqualTo(20)
                .isEqualTo(TetherServer.builder().config().historySessions());
        assertThat(parse("serve", "--history-sessions", "0").builder().config().historySessions()).isZero();
        assertThat(Cli.run("serve", "--help").out()).contains("--history-sessions").contains("default: 20");
    }

    @Test
    void distributionConfig_setsHistoryAndALoopbackAdmin() throws Exception {
        ServeCommand serve = parse("serve", "--config", Path.of("..", "tether-dist", "src", "dist", "etc", "tether.yaml").toString());
        TetherServer.Builder b = serve.builder();
        assertThat(b.config().historySessions()).isEqualTo(20);
        assertThat(serve.configureAdmin(b)).as("loopback: no keys needed").isNull();
    }

    @Test
    void adminMistakes_exit2_withOneClearLine() throws Exception {
        Path keys = dir.resolve("admin-keys");
        ApiKeys.add(keys, "ops");
        Path empty = dir.resolve("empty-keys");
        Files.writeString(empty, "# nothing yet\n");
        String[][] cases = {
                {"--admin-keys", keys.toString()}, {"--admin-keys needs --admin ADDR:PORT"},
                {"--insecure-admin"}, {"--insecure-admin needs --admin ADDR:PORT"},
                {"--admin", "127.0.0.1:0", "--admin-keys", keys.toString(), "--insecure-admin"}, {"choose one"},
                {"--admin", "127.0.0.1:0", "--admin-keys", dir.resolve("none").toString()}, {"--admin-keys: API keys file"},
                {"--admin", "127.0.0.1:0", "--admin-keys", empty.toString()}, {"has no keys"},
                {"--history-sessions", "-1"}, {"history-sessions -1 (expected: 0 to 1000; 0 = off)"},
                {"--history-sessions", "1001"}, {"history-sessions 1001 (expected: 0 to 1000; 0 = off)"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = new String[cases[i].length + 6];
            args[0] = "serve";
            args[1] = "--insecure-no-auth";
            args[2] = "--store";
            args[3] = "memory";
            args[4] = "--port";
            args[5] = "0";
            System.arraycopy(cases[i], 0, args, 6, cases[i].length);
            Cli r = Cli.run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            for (String expected : cases[i + 1]) {
                assertThat(r.err()).as(String.join(" ", args)).contains(expected);
            }
            assertThat(r.err()).as(String.join(" ", args)).doesNotContain("Exception").doesNotContain("\tat ");
            assertThat(r.errLines()).as(String.join(" ", args)).isEqualTo(1);
        }
    }
}
