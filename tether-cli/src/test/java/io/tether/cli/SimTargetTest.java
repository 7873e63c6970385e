package io.tether.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tether sim --target}: parsed by the one HostPort, errors name the flag. No server needed. */
class SimTargetTest {

    @Test
    void bracketedIpv6Target_isParsed() throws Exception {
        assertThat(SimCommand.parseTarget("[::1]:7400"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 7400));
        assertThat(SimCommand.parseTarget("127.0.0.1:7400"))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 7400));
    }

    @Test
    void unbracketedIpv6Target_isAUsageError_namingTheFlagAndTheFix() {
        String err = runExpectingUsageError("sim", "--target", "::1:7400");

        assertThat(err).contains("--target '::1:7400': an IPv6 address needs brackets, e.g. [::1]:7400");
    }

    @Test
    void targetWithoutHostOrPort_isAUsageError_namingTheFlag() {
        assertThat(runExpectingUsageError("sim", "--target", "localhost"))
                .contains("--target 'localhost': expected HOST:PORT");
        assertThat(runExpectingUsageError("sim", "--target", ":7400"))
                .contains("--target ':7400': expected HOST:PORT with a host");
        assertThat(runExpectingUsageError("sim", "--target", "127.0.0.1:0"))
                .contains("--target '127.0.0.1:0'");
    }

    private static String runExpectingUsageError(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setErr(new PrintWriter(err));
        assertThat(cl.execute(args)).as("picocli's exit code for a usage error").isEqualTo(2);
        return err.toString();
    }
}
