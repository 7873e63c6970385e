package io.tether.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLHandshakeException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * TLS in the SDK: verification of the server's certificate and name is on, failures say what was
 * wrong, and the TLS handshake counts in the connect timeout.
 */
class ClientTlsTest {
    @TempDir
    Path dir;

    private final RecordingListener listener = new RecordingListener();
    private TlsTestFiles.Pair localhost;
    private FakeServer server;
    private TetherClient client;

    @BeforeEach
    void makeCertificate() {
        localhost = TlsTestFiles.selfSigned(dir, "server", "localhost", "DNS:localhost,IP:127.0.0.1");
    }

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
            await(client.closeFuture());
        }
        if (server != null) {
            server.close();
        }
    }

    // ---- builder ---------------------------------------------------------------------------

    @Test
    void tls_missingFile_namesIt() {
        Path missing = dir.resolve("ca.pem");

        assertThatThrownBy(() -> TetherClient.builder().tls(missing))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining(missing + ": no such file");
    }

    @Test
    void tls_keyFileInsteadOfCertificate_saysDevicesNeedOnlyTheCertificate() {
        assertThatThrownBy(() -> TetherClient.builder().tls(localhost.key()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("this is a private key");
    }

    // ---- handshakes ------------------------------------------------------------------------

    @Test
    void trustedServer_sessionOverTls13_messagesAcked() {
        server = new FakeServer(localhost.serverContext()).autoRespond();
        client = TestClients.builder(server, listener).tls(localhost.cert()).build();

        await(client.connect());
        assertThat(await(client.send(bytes("over tls")))).isEqualTo(1L);

        FakeServer.Conn conn = server.accept();
        assertThat(conn.hello().deviceId()).isEqualTo("dev-1");
        assertThat(conn.ch.pipeline().get(SslHandler.class).engine().getSession().getProtocol()).isEqualTo("TLSv1.3");
    }

    @Test
    void untrustedServer_isRefusedWithAClearReason() {
        TlsTestFiles.Pair rogue = TlsTestFiles.selfSigned(dir, "rogue", "localhost", "DNS:localhost,IP:127.0.0.1");
        server = new FakeServer(rogue.serverContext()).autoRespond();
        client = TestClients.builder(server, listener).tls(localhost.cert()).reconnect(false).build();

        Throwable cause = connectFailure();

        assertThat(cause).isInstanceOf(SSLHandshakeException.class)
                .hasMessageStartingWith("TLS handshake with 127.0.0.1:" + server.port() + " failed: ")
                .hasMessageContaining("not trusted");
        RecordingListener.Disconnect d = take(listener.disconnects);
        assertThat(d.reason()).isEqualTo(Reason.IO_ERROR);
        assertThat(d.cause()).isSameAs(cause);
        assertThat(listener.connected).isEmpty();
    }

    @Test
    void certificateForAnotherName_isRefused() {
        TlsTestFiles.Pair other = TlsTestFiles.selfSigned(dir, "other", "other.example", "DNS:other.example");
        server = new FakeServer(other.serverContext()).autoRespond();
        client = TestClients.builder(server, listener).tls(other.cert()).reconnect(false).build();

        assertThat(connectFailure()).isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("subjectAltName must name 127.0.0.1");
    }

    @Test
    void nameIsVerified_evenWithAContextBuiltWithoutEndpointIdentification() throws Exception {
        TlsTestFiles.Pair other = TlsTestFiles.selfSigned(dir, "other", "other.example", "DNS:other.example");
        server = new FakeServer(other.serverContext()).autoRespond();
        SslContext lax = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                .trustManager(other.cert().toFile()).endpointIdentificationAlgorithm(null).build();
        client = TestClients.builder(server, listener).tls(new ClientTls(lax, "lax")).reconnect(false).build();

        assertThat(connectFailure()).isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("subjectAltName must name 127.0.0.1");
    }

    @Test
    void plaintextServer_isReportedAsNotTls() throws Exception {
        try (ServerSocket plain = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            client = TetherClient.builder().target("127.0.0.1", plain.getLocalPort()).deviceId("dev-1")
                    .tls(localhost.cert()).reconnect(false).listener(listener).build();
            client.connect();
            try (Socket accepted = plain.accept()) {
                // A plaintext gateway answering with a plaintext frame, whatever arrived.
                accepted.getOutputStream().write(encode(new Frame.Bye(Reason.PROTOCOL_ERROR)));

                assertThat(connectFailure()).isInstanceOf(SSLHandshakeException.class)
                        .hasMessageContaining("the server did not answer with TLS");
            }
        }
    }

    @Test
    void serverStalledInTlsHandshake_endsWithHandshakeTimeoutAtTheConnectTimeout() throws Exception {
        Duration connectTimeout = Duration.ofMillis(600);
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            client = TetherClient.builder().target("127.0.0.1", silent.getLocalPort()).deviceId("dev-1")
                    .tls(localhost.cert()).connectTimeout(connectTimeout).reconnect(false).listener(listener).build();
            long start = System.nanoTime();
            client.connect();
            try (Socket accepted = silent.accept()) {
                // Accepted, never read from, never answered: the ClientHello goes nowhere.
                assertThat(accepted.isConnected()).isTrue();
                RecordingListener.Disconnect d = take(listener.disconnects);
                long millis = TimeUnit.NANOSECONDS.toMillis(d.nanos() - start);

                assertThat(d.reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
                // Slack for scheduling on a busy host; SslHandler's own 10 s timer must not be the one that fires.
                assertThat(millis).isBetween(connectTimeout.toMillis(), connectTimeout.toMillis() + 1_000);
            }
        }
    }

    private Throwable connectFailure() {
        ExecutionException e = (ExecutionException) catchThrowable(
                () -> client.connect().get(FakeServer.WAIT.toMillis(), TimeUnit.MILLISECONDS));
        assertThat(e).as("connect() must fail").isNotNull();
        assertThat(e.getCause()).isInstanceOf(ClientClosedException.class);
        return e.getCause().getCause();
    }

    private static byte[] encode(Frame f) {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(f, buf);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            return bytes;
        } finally {
            buf.release();
        }
    }
}
