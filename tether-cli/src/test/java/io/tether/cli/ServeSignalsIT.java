package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 item 11 (and the DEBUG level of item 12): {@code tether serve} as a process, logging
 * with the shipped logback.xml, receiving real signals.
 */
class ServeSignalsIT {
    private static Process serve(Path dir, String logLevel, String... extra) throws Exception {
        // SIGHUP as a service manager leaves it, whatever this test runs under (nohup ignores it,
        // and the child would inherit that).
        return serveWith("--default-signal=HUP", dir, logLevel, extra);
    }

    /** {@code signals}: GNU env's option that sets the child's dispositions before it starts. */
    private static Process serveWith(String signals, Path dir, String logLevel, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("env", signals, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dlogback.configurationFile=" + Path.of("target/classes/logback.xml").toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), "io.tether.cli.TetherCommand",
                "serve", "--insecure-no-auth", "--bind", "127.0.0.1", "--port", "0"));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("serve.log").toFile());
        pb.environment().put("TETHER_LOG_LEVEL", logLevel);
        return pb.start();
    }

    private static void signal(Process p, String sig) throws Exception {
        new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start().waitFor();
    }

    private static void awaitListening(Path log) {
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(log).contains("listening on"));
    }

    /** SIGTERM, and the process has ended within 20 s. */
    private static void stop(Process p) throws Exception {
        signal(p, "TERM");
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void sighupWithoutCredentials_isLoggedAndIgnored_thenSigtermStopsCleanly(@TempDir Path dir) throws Exception {
        Process p = serve(dir, "DEBUG", "--store", "memory");
        try {
            Path log = dir.resolve("serve.log");
            awaitListening(log);
            signal(p, "HUP");
            await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(log).contains("SIGHUP: nothing to reload"));
            Thread.sleep(300);
            assertThat(p.isAlive()).as("alive after SIGHUP").isTrue();
            stop(p);
            String out = Files.readString(log);
            System.out.println(out + "exit " + p.exitValue());
            assertThat(p.exitValue()).isZero();
            assertThat(out).contains("SIGTERM: stopping").contains("DEBUG").contains("store: memory");
            // The WARN is about the disposition, not about every start: here SIGHUP works.
            assertThat(out).doesNotContain("is ignored by this process");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void startedWithSighupIgnored_asUnderNohup_saysSoAtStart(@TempDir Path dir) throws Exception {
        Process p = serveWith("--ignore-signal=HUP", dir, "INFO", "--store", "memory");
        try {
            Path log = dir.resolve("serve.log");
            awaitListening(log);
            signal(p, "HUP");
            Thread.sleep(500);
            stop(p);
            String out = Files.readString(log);
            System.out.println(out + "exit " + p.exitValue());
            assertThat(out).contains("WARN").contains("SIGHUP is ignored by this process (started under nohup?)")
                    .as("the ignored SIGHUP reached no handler").doesNotContain("SIGHUP: nothing to reload");
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void sigtermDuringStartup_exits0_withAMessage(@TempDir Path dir) throws Exception {
        Process p = serve(dir, "INFO", "--data-dir", dir.resolve("data").toString());
        try {
            // Early in start-up: the JVM is up and main() has run (its handlers are in), the
            // store and the listener are not yet.
            Thread.sleep(700);
            stop(p);
            String out = Files.readString(dir.resolve("serve.log"));
            System.out.println(out + "exit " + p.exitValue());
            assertThat(p.exitValue()).as("not 143").isZero();
            assertThat(out).containsAnyOf("SIGTERM during start-up", "SIGTERM: stopping");
        } finally {
            p.destroyForcibly();
        }
    }

    /** Issue 12 item 5: the "listening" line says whether TLS is on, and with which files. */
    @Test
    void listeningLine_saysTlsIsOn_andWhichCertificate(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process gen = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertThat(gen.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(gen.exitValue()).as("openssl").isZero();
        for (boolean tls : new boolean[] {true, false}) {
            Path log = dir.resolve("serve.log");
            Process p = tls
                    ? serve(dir, "INFO", "--store", "memory", "--tls-cert", cert.toString(), "--tls-key", key.toString())
                    : serve(dir, "INFO", "--store", "memory");
            try {
                awaitListening(log);
                String line = Files.readString(log).lines().filter(l -> l.contains("listening on")).findFirst().orElseThrow();
                System.out.println(line);
                if (tls) {
                    assertThat(line).contains("TLS on (certificate " + cert + ", key " + key + ")");
                } else {
                    assertThat(line).contains("plaintext (no TLS)");
                }
                stop(p);
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
