package io.tether.server.tls;

import io.netty.handler.ssl.SslContext;
import io.tether.server.TetherServer;
import io.tether.transport.tls.Tls;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Tls#serverContext}: what it accepts, and what it says about files it cannot use. */
class TlsServerContextTest {
    @TempDir
    Path dir;

    private OpenSsl.Pair pair;

    @BeforeEach
    void makeCertificate() {
        pair = OpenSsl.selfSigned(dir, "server", "localhost", "DNS:localhost,IP:127.0.0.1");
    }

    @Test
    void pemCertificateAndPkcs8Key_giveJdkServerContextWithTls12And13Only() {
        SslContext context = Tls.serverContext(pair.cert(), pair.key());

        assertThat(context.isServer()).isTrue();
        assertThat(context.newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT).getEnabledProtocols())
                .containsExactlyInAnyOrder("TLSv1.3", "TLSv1.2");
    }

    @Test
    void missingFile_namesTheFile() {
        Path missing = dir.resolve("nope.pem");

        assertThatThrownBy(() -> Tls.serverContext(missing, pair.key()))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("certificate file " + missing + ": no such file");
        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), missing))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("key file " + missing + ": no such file");
    }

    @Test
    void unreadableFile_namesTheFileAndTheError() {
        // A directory: unreadable as a file even for root, who ignores permission bits.
        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), dir))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("key file " + dir + ": cannot be read");
    }

    @Test
    void pkcs1RsaKey_isRefusedWithTheConversionCommand() {
        Path rsa = dir.resolve("rsa.pem");
        OpenSsl.Result r = OpenSsl.run(dir, 30, "genrsa", "-traditional", "-out", rsa.toString(), "2048");
        assertThat(r.exitCode()).as(r.output()).isZero();

        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), rsa))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-----BEGIN RSA PRIVATE KEY-----")
                .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void encryptedPkcs1Key_isRefusedWithTheConversionCommand() {
        Path rsa = dir.resolve("rsa-enc.pem");
        OpenSsl.Result r = OpenSsl.run(dir, 30, "genrsa", "-traditional", "-aes128", "-passout", "pass:x",
                "-out", rsa.toString(), "2048");
        assertThat(r.exitCode()).as(r.output()).isZero();

        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), rsa))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-----BEGIN RSA PRIVATE KEY-----")
                .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt -in " + rsa);
    }

    @Test
    void sec1EcKey_isRefusedWithTheConversionCommand() {
        Path ec = dir.resolve("ec.pem");
        OpenSsl.Result r = OpenSsl.run(dir, 30, "ecparam", "-name", "prime256v1", "-genkey", "-out", ec.toString());
        assertThat(r.exitCode()).as(r.output()).isZero();

        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), ec))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-----BEGIN EC PRIVATE KEY-----")
                .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void convertedKey_isAccepted() {
        Path sec1 = dir.resolve("ec.pem");
        Path pkcs8 = dir.resolve("ec-pkcs8.pem");
        Path cert = dir.resolve("ec-cert.pem");
        assertThat(OpenSsl.run(dir, 30, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec1.toString())
                .exitCode()).isZero();
        assertThat(OpenSsl.run(dir, 30, "req", "-x509", "-key", sec1.toString(), "-out", cert.toString(), "-days", "1",
                "-subj", "/CN=localhost").exitCode()).isZero();
        // The command the error message gives.
        assertThat(OpenSsl.run(dir, 30, "pkcs8", "-topk8", "-nocrypt", "-in", sec1.toString(), "-out", pkcs8.toString())
                .exitCode()).isZero();

        assertThat(Tls.serverContext(cert, pkcs8).isServer()).isTrue();
    }

    @Test
    void encryptedKey_isRefusedWithTheConversionCommand() {
        Path encrypted = dir.resolve("enc.pem");
        assertThat(OpenSsl.run(dir, 30, "pkcs8", "-topk8", "-in", pair.key().toString(), "-passout", "pass:x",
                "-out", encrypted.toString()).exitCode()).isZero();

        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), encrypted))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ENCRYPTED PRIVATE KEY")
                .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void swappedFiles_areNamedAsSwapped() {
        assertThatThrownBy(() -> Tls.serverContext(pair.key(), pair.cert()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("certificate file " + pair.key())
                .hasMessageContaining("swapped");
    }

    @Test
    void keyOfAnotherCertificate_isRefused() {
        OpenSsl.Pair other = OpenSsl.selfSigned(dir, "other", "other.example", "DNS:other.example");

        assertThatThrownBy(() -> Tls.serverContext(pair.cert(), other.key()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not belong to the certificate CN=localhost");
    }

    @Test
    void notPem_saysWhatWasExpected() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "hello\n");

        assertThatThrownBy(() -> Tls.serverContext(garbage, pair.key()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no PEM block")
                .hasMessageContaining("expected: one or more -----BEGIN CERTIFICATE----- blocks");
    }
}
