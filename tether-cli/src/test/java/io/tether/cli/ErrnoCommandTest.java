package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.transport.errno.Errno;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class ErrnoCommandTest {

    /** Output of one run of {@code tether errno ARGS}. */
    private record Run(int exitCode, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new ErrnoCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "22, EINVAL, Invalid argument",
        "32, EPIPE, Broken pipe",
        "101, ENETUNREACH, Network is unreachable",
        "104, ECONNRESET, Connection reset by peer",
        "110, ETIMEDOUT, Connection timed out",
        "111, ECONNREFUSED, Connection refused",
        "113, EHOSTUNREACH, No route to host",
        "115, EINPROGRESS, Operation now in progress",
    })
    void number_explainsTheErrno(int number, String name, String meaning) {
        Run r = run(String.valueOf(number));

        assertThat(r.exitCode()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).startsWith(name + " (" + number + "): " + meaning + System.lineSeparator());
        assertThat(r.out()).contains("Typical causes:", "What Tether does:");
        // The first cause is printed as a bullet (wrapping may split it, so compare its first words).
        String[] firstCause = Errno.valueOf(name).typicalCauses().get(0).split(" ");
        assertThat(r.out()).contains("  - " + String.join(" ", Arrays.copyOf(firstCause, 3)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "EINVAL, 22", "EPIPE, 32", "ENETUNREACH, 101", "ECONNRESET, 104", "ETIMEDOUT, 110",
        "ECONNREFUSED, 111", "EHOSTUNREACH, 113", "EINPROGRESS, 115",
    })
    void nameInAnyCase_givesTheSameExplanationAsTheNumber(String name, int number) {
        Run byNumber = run(String.valueOf(number));

        assertThat(run(name)).isEqualTo(byNumber);
        assertThat(run(name.toLowerCase())).isEqualTo(byNumber);
    }

    @Test
    void explanation_putsCausesBeforeTetherActions() {
        String out = run("ETIMEDOUT").out();

        int causes = out.indexOf("Typical causes:");
        int actions = out.indexOf("What Tether does:");
        assertThat(causes).isPositive();
        assertThat(actions).isGreaterThan(causes);
        assertThat(out.substring(causes, actions)).contains("keepalive");
        assertThat(out.substring(actions)).contains("KEEPALIVE_TIMEOUT");
    }

    @Test
    void longLines_areWrappedWithinOneHundredColumns() {
        assertThat(run("ECONNRESET").out().lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(100));
    }

    @Test
    void nettyNegativeErrno_isAccepted() {
        assertThat(run("--", "-110").out()).startsWith("ETIMEDOUT (110): ");
    }

    @Test
    void unknownName_failsWithExitTwoAndListsKnownNames() {
        Run r = run("EFOO");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("EFOO", "ECONNRESET (104)", "ETIMEDOUT (110)", "EINPROGRESS (115)");
    }

    @Test
    void unknownNumber_failsWithExitTwo() {
        Run r = run("9999");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("9999", "Known:");
    }

    @Test
    void missingArgument_failsWithExitTwoAndUsage() {
        Run r = run();

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("missing N|NAME", "Usage: errno");
    }

    @Test
    void all_listsEveryErrnoOnePerLine() {
        Run r = run("--all");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out().lines()).hasSize(Errno.values().length);
        assertThat(r.out().lines())
                .anySatisfy(line -> assertThat(line.split("\\s+", 3))
                        .containsExactly("ECONNRESET", "104", "Connection reset by peer"))
                .allSatisfy(line -> assertThat(line).matches("E[A-Z]+ +\\d+ \\S.*"));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"EMFILE", "ENFILE", "ENOBUFS", "EADDRINUSE",
            "EADDRNOTAVAIL", "EHOSTDOWN", "ENETDOWN", "ENOSPC", "EAGAIN"})
    void errnosAGatewayMeets_areExplained_withWhatTetherDoes(String name) {
        Run r = run(name);

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).startsWith(name + " (").contains("What Tether does:");
    }

    @Test
    void allWithAName_isAUsageError() {
        assertThat(run("--all", "EPIPE").exitCode()).isEqualTo(2);
    }

    @Test
    void help_describesTheCommand() {
        Run r = run("--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Usage: errno", "N|NAME", "--all");
    }
}
