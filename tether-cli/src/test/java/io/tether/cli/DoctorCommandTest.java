package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tether doctor} on fixture sysctls: the arithmetic and the plain-words conclusions. */
class DoctorCommandTest {

    private record Run(int exitCode, String out, String err) {}

    @TempDir
    Path proc;

    /** Linux defaults, and this machine's 20,000 open-files limit. */
    private final Map<String, String> sysctls = new TreeMap<>(Map.ofEntries(
            Map.entry("net/ipv4/tcp_keepalive_time", "7200"),
            Map.entry("net/ipv4/tcp_keepalive_intvl", "75"),
            Map.entry("net/ipv4/tcp_keepalive_probes", "9"),
            Map.entry("net/ipv4/tcp_retries2", "15"),
            Map.entry("net/ipv4/tcp_fin_timeout", "60"),
            Map.entry("net/ipv4/tcp_orphan_retries", "0"),
            Map.entry("net/ipv4/tcp_max_syn_backlog", "2048"),
            Map.entry("net/ipv4/tcp_syncookies", "1"),
            Map.entry("net/ipv4/ip_local_port_range", "32768\t60999"),
            Map.entry("net/core/somaxconn", "4096"),
            Map.entry("fs/nr_open", "1048576"),
            Map.entry("fs/file-max", "2466160")));
    private String openFiles = "20000                20000";

    private Run run(String... args) throws IOException {
        for (Map.Entry<String, String> e : sysctls.entrySet()) {
            Path f = proc.resolve("sys").resolve(e.getKey());
            Files.createDirectories(f.getParent());
            Files.writeString(f, e.getValue() + "\n");
        }
        Files.createDirectories(proc.resolve("self"));
        Files.writeString(proc.resolve("self/limits"), String.join("\n",
                "Limit                     Soft Limit           Hard Limit           Units     ",
                "Max processes             94527                94527                processes ",
                "Max open files            " + openFiles + "                files     ",
                "Max locked memory         8388608              8388608              bytes     ", ""));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new DoctorCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        String[] all = new String[args.length + 2];
        all[0] = "--proc";
        all[1] = proc.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int exit = cmd.execute(all);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void linuxKeepaliveDefaults_findADeadIdlePeerAfterTwoHoursElevenMinutesFifteenSeconds() throws IOException {
        Run r = run();

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("A dead idle peer is found after 2 h 11 min 15 s by kernel keepalive alone (7200 + 75 x 9 s)")
                .contains("overridden per socket (TCP_KEEPIDLE 60 s, TCP_KEEPINTVL 20 s, TCP_KEEPCNT 3)");
    }

    @Test
    void retries2Of15_givesUpAfter924point6Seconds() throws IOException {
        Run r = run();

        assertThat(r.out()).contains("given up after ~924.6 s = 15.4 min: 15 retransmissions")
                .contains("(0.2 + 0.4 + ... + 102.4 s = 204.6 s, then 6 x 120 s)")
                .contains("overridden per socket by TCP_USER_TIMEOUT 120 s; tcp_retries2 does not bound its connections");
    }

    @Test
    void retransmissionModel_followsTheKernelsDoublingThenCap() {
        // tcp_model_timeout(): doubling for ilog2(120 s / 200 ms) = 9 retransmissions, then 120 s each.
        assertThat(DoctorCommand.linearBackoffThreshold()).isEqualTo(9);
        assertThat(DoctorCommand.retransmissionGiveUpSeconds(15)).isCloseTo(924.6, within(1e-9));
        assertThat(DoctorCommand.retransmissionGiveUpSeconds(3)).isCloseTo(0.2 + 0.4 + 0.8 + 1.6, within(1e-9));
        assertThat(DoctorCommand.retransmissionGiveUpSeconds(9)).isCloseTo(204.6, within(1e-9));
        assertThat(DoctorCommand.retransmissionGiveUpSeconds(10)).isCloseTo(324.6, within(1e-9));
        assertThat(DoctorCommand.retransmissionGiveUpSeconds(8)).as("tcp_orphan_retries 0 = 8").isCloseTo(102.2, within(1e-9));
    }

    @Test
    void durations_readInHoursMinutesSeconds() {
        assertThat(DoctorCommand.human(7875)).isEqualTo("2 h 11 min 15 s");
        assertThat(DoctorCommand.human(45)).isEqualTo("45 s");
        assertThat(DoctorCommand.human(924.6)).isEqualTo("15 min 24.6 s");
        assertThat(DoctorCommand.human(3600)).isEqualTo("1 h");
        assertThat(DoctorCommand.human(0)).isEqualTo("0 s");
    }

    @Test
    void orphanRetriesZero_meansEightRetransmissions() throws IOException {
        Run r = run();

        assertThat(r.out()).contains("is dropped after ~102.2 s (8 retransmissions; 0 means 8)");
    }

    @Test
    void finTimeout_isTheLingerOfOrphanedFinWait2() throws IOException {
        sysctls.put("net/ipv4/tcp_fin_timeout", "30");

        assertThat(run().out()).contains("linger 30 s (tcp_fin_timeout)")
                .contains("matters little; timed-out peers are ended with RST");
    }

    @Test
    void hardLimitOf20000_holdsAbout19900Connections() throws IOException {
        Run r = run();

        assertThat(r.out()).contains("This process can hold at most ~19,900 connections (hard limit 20,000 minus ~100 of the JVM's own descriptors)")
                .contains("fs.nr_open = 1,048,576");
    }

    @Test
    void softLimitBelowHard_isCalledOut() throws IOException {
        openFiles = "1024                 20000";

        assertThat(run().out()).contains("The soft limit is 1,024: ./tether raises it to the hard limit; a JVM started otherwise stops at ~924.");
    }

    @Test
    void openFilesLimitTooLowForMaxConnections_isAWarning() throws IOException {
        openFiles = "1024                 1024";
        Run r = run("--max-connections", "5000");
        System.out.println(r.out().lines().filter(l -> l.contains("WARNING")).findFirst().orElse("(no warning)"));

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Tether: WARNING: --max-connections 5,000 cannot be reached: the open-files limit"
                + " 1,024 - descriptor-reserve 256 (store, admin, JVM) caps connections at 768")
                .contains("Raise the limit to at least 5,256");
    }

    @Test
    void openFilesLimitEnoughForMaxConnections_orNoneGiven_reportsTheImpliedCap() throws IOException {
        assertThat(run("--max-connections", "5000").out()).contains("applies; --max-connections 5,000 fits")
                .doesNotContain("WARNING");
        assertThat(run().out()).contains("applies; connections are capped at 19,744 (open-files limit 20,000"
                + " - descriptor-reserve 256 (store, admin, JVM))");
        openFiles = "200                  200";
        assertThat(run().out()).contains("WARNING: the open-files limit 200 - descriptor-reserve 256 (store, admin, JVM)"
                + " leaves no descriptor for devices");
        assertThat(run("--descriptor-reserve", "100").out()).contains("connections are capped at 100");
    }

    @Test
    void portRange_givesEphemeralPortsPerSourceAddress() throws IOException {
        assertThat(run().out()).contains("One source address gives ~28,232 ephemeral ports per destination (ip_local_port_range 32768-60999)");
    }

    @Test
    void smallSomaxconn_capsTethersBacklog() throws IOException {
        sysctls.put("net/core/somaxconn", "128");

        assertThat(run().out()).contains("--backlog 4096 becomes 128 (raise net.core.somaxconn to keep it)");
    }

    @Test
    void synBacklog_appliesOnlyWithoutSynCookies() throws IOException {
        sysctls.put("net/ipv4/tcp_syncookies", "0");

        assertThat(run().out()).contains("SYN cookies are off (tcp_syncookies = 0), so it applies")
                .contains("once 1,536 are pending");
    }

    @Test
    void tethersOwnDefaults_areSpelledOut() throws IOException {
        assertThat(run().out()).contains("dead idle device found after 45 s by heartbeat (30 s x 1.5), 120 s by keepalive (60 + 20 x 3),"
                + " unacked data bounded by TCP_USER_TIMEOUT 120 s");
    }

    @Test
    void json_carriesTheValuesAndTheComputedTimes() throws IOException {
        Run r = run("--json");

        assertThat(r.exitCode()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.path("sysctls").path("net.ipv4.tcp_retries2").asInt()).isEqualTo(15);
        assertThat(j.path("sysctls").path("net.ipv4.ip_local_port_range").get(1).asInt()).isEqualTo(60999);
        assertThat(j.path("limits").path("openFilesHard").asLong()).isEqualTo(20000);
        Map<String, Double> seconds = new TreeMap<>();
        j.path("findings").forEach(f -> {
            if (f.has("seconds")) {
                seconds.put(f.path("topic").asText(), f.path("seconds").asDouble());
            }
        });
        assertThat(seconds).containsEntry("keepalive", 7875.0).containsEntry("retransmission", 924.6)
                .containsEntry("orphans", 102.2).containsEntry("fin-wait-2", 60.0);
        assertThat(j.path("tether").path("heartbeatTimeoutSeconds").asDouble()).isEqualTo(45.0);
        assertThat(j.path("tether").path("keepaliveSeconds").asDouble()).isEqualTo(120.0);
    }

    @Test
    void unreadableSetting_isReportedUnknownAndTheRestStillExplained() throws IOException {
        sysctls.remove("net/ipv4/tcp_retries2");

        Run r = run();

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("unknown (cannot read): net.ipv4.tcp_retries2").doesNotContain("retransmission:")
                .contains("2 h 11 min 15 s");
    }

    @Test
    void nothingReadable_exits2() {
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new DoctorCommand());
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));

        int exit = cmd.execute("--proc", proc.resolve("missing").toString());

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("tether doctor: cannot read any setting under");
    }
}
