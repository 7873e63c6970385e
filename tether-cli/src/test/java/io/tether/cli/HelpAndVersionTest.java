package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Issue 12 item 12: help that reads well, -V everywhere. */
class HelpAndVersionTest {
    @Test
    void booleanFlags_showNoJavaFieldNames() {
        String serve = Cli.run("serve", "--help").out();
        assertThat(serve).contains("--quiet").contains("--[no-]sync").contains("--[no-]tcp-nodelay")
                .contains("--insecure-no-auth");
        assertThat(serve).doesNotContain("<quiet>").doesNotContain("<sync>").doesNotContain("<tcpNoDelay>")
                .doesNotContain("<insecureNoAuth>");
        assertThat(Cli.run("sim", "--help").out()).doesNotContain("<stopWhenAcked>").contains("--stop-when-acked");
    }

    @Test
    void booleanFlags_stillSetWhatTheySay() throws Exception {
        ServeCommand c = parse("serve", "--no-sync", "--quiet", "--no-tcp-nodelay");
        assertThat(c.sync).isFalse();
        assertThat(c.quiet).isTrue();
        assertThat(c.tcpNoDelay).isFalse();
        ServeCommand d = parse("serve", "--sync", "--tcp-nodelay");
        assertThat(d.sync).isTrue();
        assertThat(d.tcpNoDelay).isTrue();
        assertThat(parse("serve").sync).as("default").isTrue();
    }

    private static ServeCommand parse(String... args) {
        picocli.CommandLine root = new picocli.CommandLine(new TetherCommand());
        return (ServeCommand) root.parseArgs(args).subcommand().commandSpec().userObject();
    }

    @Test
    void commandSummaries_areWholeSentences() {
        String top = Cli.run("--help").out();
        String store = Cli.run("store", "--help").out();
        for (String help : new String[] {top, store}) {
            help.lines().filter(l -> l.startsWith("  ") && !l.strip().startsWith("-")).forEach(l ->
                    assertThat(l.strip()).as("summary line").doesNotEndWith(":"));
        }
        assertThat(top.replaceAll("\\s+", " ")).contains("prints one JSON summary line.");
    }

    @Test
    void version_isTheProjectVersion_onEveryCommand() {
        String expected = "tether " + TetherCommand.version();
        assertThat(TetherCommand.version()).isNotEqualTo("unknown").matches("\\d+\\.\\d+.*");
        assertThat(Cli.run("-V").out().strip()).isEqualTo(expected);
        assertThat(Cli.run("serve", "-V").out().strip()).isEqualTo(expected);
        assertThat(Cli.run("store", "dump", "-V").out().strip()).isEqualTo(expected);
    }

    @Test
    void everyCommandsHelp_formatsWithoutPicocliWarnings() {
        // A bare '%' in a description makes picocli print "[picocli WARN] Could not format ..."
        // to stderr and show the text raw: each '%' must be written '%%'.
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try {
            picocli.CommandLine root = new picocli.CommandLine(new TetherCommand());
            java.util.List<picocli.CommandLine> all = new java.util.ArrayList<>();
            java.util.ArrayDeque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(root));
            while (!todo.isEmpty()) {
                picocli.CommandLine c = todo.pop();
                all.add(c);
                todo.addAll(c.getSubcommands().values());
            }
            for (picocli.CommandLine c : all) {
                c.getUsageMessage();
            }
            assertThat(all.size()).isGreaterThan(10);
        } finally {
            System.setErr(saved);
        }
        assertThat(err.toString()).doesNotContain("picocli WARN");
    }

    @Test
    void configHelp_describesKeysAsFlagNamesWithoutTheLeadingDashes() {
        assertThat(Cli.run("serve", "--help").out().replaceAll("\\s+", " "))
                .contains("each key a flag's name without the leading --");
    }
}
