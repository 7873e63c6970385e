package io.tether.transport.tls;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathBuilderException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client half of the one TLS loader: trust files and failures in words. No certificates needed. */
class TlsClientTest {
    @TempDir
    Path dir;

    @Test
    void missingTrustFile_isNamed() {
        Path missing = dir.resolve("ca.pem");

        assertThatThrownBy(() -> Tls.clientContext(missing))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("TLS trusted certificate file " + missing + ": no such file");
    }

    @Test
    void keyGivenAsTrustFile_saysDevicesNeedOnlyTheCertificate() throws IOException {
        Path key = Files.writeString(dir.resolve("gateway.key"),
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n");

        assertThatThrownBy(() -> Tls.clientContext(key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(key + ": no -----BEGIN CERTIFICATE----- block")
                .hasMessageContaining("this is a private key: devices need only the certificate");
    }

    @Test
    void brokenCertificateBlock_isReportedAsNotAValidCertificate() throws IOException {
        Path bad = Files.writeString(dir.resolve("ca.pem"),
                "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");

        assertThatThrownBy(() -> Tls.clientContext(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("TLS trusted certificate file " + bad + ": not a valid X.509 certificate");
    }

    @Test
    void plaintextServer_isDescribedAsNotTls_withTheServerBracketedWhenIpv6() throws Exception {
        InetSocketAddress server = new InetSocketAddress(InetAddress.getByName("::1"), 7400);

        SSLException e = Tls.describeClientFailure(new DecoderException(new NotSslRecordException("0a0b")), server);

        assertThat(e).isInstanceOf(SSLHandshakeException.class)
                .hasMessage("TLS handshake with [0:0:0:0:0:0:0:1]:7400 failed: the server did not answer with TLS"
                        + " (is TLS enabled on the gateway's port?)");
        assertThat(e.getCause()).isInstanceOf(DecoderException.class);
    }

    @Test
    void untrustedCertificate_isDescribedAsNotTrusted() {
        SSLHandshakeException h = new SSLHandshakeException("PKIX path building failed");
        h.initCause(new CertPathBuilderException("unable to find valid certification path to requested target"));

        assertThat(Tls.describeClientFailure(h, InetSocketAddress.createUnresolved("gateway.example", 7400)))
                .hasMessageStartingWith("TLS handshake with gateway.example:7400 failed: the server's certificate is not trusted")
                .hasMessageEndingWith("unable to find valid certification path to requested target");
    }

    @Test
    void noTlsFailure_isNotDescribed() {
        assertThat(Tls.describeClientFailure(new IOException("Connection reset by peer"),
                InetSocketAddress.createUnresolved("gateway.example", 7400))).isNull();
    }
}
