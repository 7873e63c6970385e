package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.ssl.JdkSslContext;
import io.tether.transport.tls.Tls;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tether command} against an https API with a self-signed certificate: {@code --cacert}. */
class CommandTlsTest {
    private static final Map<String, String> ENV = Map.of("K", FakeCommandApi.KEY);

    @TempDir
    Path dir;
    private Path cert;
    private FakeCommandApi api;

    @BeforeEach
    void start() throws Exception {
        cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("openssl req finished").isTrue();
        assertThat(p.exitValue()).as("openssl req: %s", new String(p.getInputStream().readAllBytes())).isZero();
        api = new FakeCommandApi(((JdkSslContext) Tls.serverContext(cert, key)).context());
    }

    @AfterEach
    void stop() {
        api.close();
    }

    @Test
    void selfSignedApi_withCacert_isTrusted() {
        Cli r = CommandCommandTest.run(ENV, "command", "send", "--api", api.url(), "--api-key-env", "K",
                "--cacert", cert.toString(), "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isZero();
        assertThat(api.requests).hasSize(1);
    }

    @Test
    void selfSignedApi_withoutCacert_exitsTwoSayingWhatToDo() {
        Cli r = CommandCommandTest.run(ENV, "command", "send", "--api", api.url(), "--api-key-env", "K",
                "--device", "meter-0042", "--text", "on");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("TLS handshake with " + api.url() + " failed", "--cacert FILE");
        assertThat(api.requests).isEmpty();
    }

    @Test
    void cacertThatIsNoCertificate_orOverPlainHttp_isAUsageError() throws Exception {
        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello");

        Cli garbage = CommandCommandTest.run(ENV, "command", "get", "--api", api.url(), "--cacert", notPem.toString(),
                "01JD8X6Y0Z3K5V7W9Q1R2S3T4U");
        Cli plain = CommandCommandTest.run(ENV, "command", "get", "--api", "http://127.0.0.1:1", "--cacert",
                cert.toString(), "01JD8X6Y0Z3K5V7W9Q1R2S3T4U");

        assertThat(garbage.code()).isEqualTo(2);
        assertThat(garbage.err()).contains("--cacert " + notPem);
        assertThat(plain.code()).isEqualTo(2);
        assertThat(plain.err()).contains("--cacert applies to an https:// --api only");
    }
}
