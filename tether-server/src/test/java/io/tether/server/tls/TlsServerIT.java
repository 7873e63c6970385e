package io.tether.server.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.client.ClientClosedException;
import io.tether.client.ClientListener;
import io.tether.client.Goodbye;
import io.tether.client.TetherClient;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.tether.server.ServerTls;
import io.tether.server.TetherServer;
import io.tether.transport.tls.Tls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * TLS on the device port, against a real server on port 0: an independent client (openssl
 * s_client) and the SDK complete verified handshakes; the SDK refuses a server it does not trust or
 * whose certificate names another host; a client stalled mid-handshake meets the handshake
 * deadline; plaintext on the TLS port is closed at once.
 */
class TlsServerIT {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Scheduling and GC on a busy CI host; the deadlines under test are far larger than timer jitter. */
    private static final long SLACK_MILLIS = 1_000;

    @TempDir
    Path dir;

    private OpenSsl.Pair localhost;
    private final List<SessionOpened> opens = new CopyOnWriteArrayList<>();
    private final List<SessionClosed> closes = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeEach
    void makeCertificate() {
        localhost = OpenSsl.selfSigned(dir, "server", "localhost", "DNS:localhost,IP:127.0.0.1");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private TetherServer start(OpenSsl.Pair pair, UnaryOperator<TetherServer.Builder> config) {
        TetherServer server = config.apply(TetherServer.builder()
                        .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                        .tls(ServerTls.fromPem(pair.cert(), pair.key()))
                        .shutdownTimeout(Duration.ofSeconds(1))
                        .listener(new SessionListener() {
                            @Override
                            public void onOpen(SessionOpened event) {
                                opens.add(event);
                            }

                            @Override
                            public void onClose(SessionClosed event) {
                                closes.add(event);
                            }
                        }))
                .build().start();
        resources.add(server);
        return server;
    }

    private TetherClient client(TetherClient.Builder b) {
        TetherClient c = b.build();
        resources.add(c);
        return c;
    }

    // ---- an independent client ------------------------------------------------------------

    @Test
    void opensslClient_completesVerifiedTls13Handshake() {
        TetherServer server = start(localhost, b -> b);

        OpenSsl.Result r = OpenSsl.run(dir, 20, "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-servername", "localhost", "-CAfile", localhost.cert().toString(), "-brief");

        assertThat(r.output()).contains("CONNECTION ESTABLISHED", "Protocol version: TLSv1.3", "Verification: OK");
        assertThat(r.exitCode()).as(r.output()).isZero();
        // s_client sends close_notify and FIN when its input ends: an orderly close without a session.
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        assertThat(closes.get(0).reason()).isEqualTo(Reason.PEER_CLOSED);
    }

    @Test
    void opensslClient_completesVerifiedTls12Handshake() {
        TetherServer server = start(localhost, b -> b);

        OpenSsl.Result r = OpenSsl.run(dir, 20, "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-servername", "localhost", "-CAfile", localhost.cert().toString(), "-brief", "-tls1_2");

        assertThat(r.output()).contains("CONNECTION ESTABLISHED", "Protocol version: TLSv1.2", "Verification: OK");
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void opensslClient_offeringOnlyTls11_isRefused() {
        TetherServer server = start(localhost, b -> b);

        // SECLEVEL=0: OpenSSL 3 would not even offer TLS 1.1 otherwise, and the server would not be tested.
        OpenSsl.Result r = OpenSsl.run(dir, 20, "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-servername", "localhost", "-CAfile", localhost.cert().toString(), "-brief", "-tls1_1",
                "-cipher", "DEFAULT@SECLEVEL=0");

        assertThat(r.output()).doesNotContain("CONNECTION ESTABLISHED").contains("alert protocol version");
        assertThat(r.exitCode()).as(r.output()).isNotZero();
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        assertThat(closes.get(0).reason()).isIn(Reason.IO_ERROR, Reason.PROTOCOL_ERROR);
        assertThat(closes.get(0).detail()).contains("TLSv1.1");
    }

    // ---- the SDK ----------------------------------------------------------------------------

    @Test
    void sdkOverTls_sessionOpensAndMessagesAreAcked() throws Exception {
        TetherServer server = start(localhost, b -> b);
        TetherClient device = client(TetherClient.builder().target("127.0.0.1", server.port()).deviceId("meter-1")
                .tls(localhost.cert()));

        device.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            acks.add(device.send(("reading " + i).getBytes()));
        }

        for (int i = 0; i < 3; i++) {
            assertThat(acks.get(i).get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(i + 1);
        }
        assertThat(server.store().lastSeq("meter-1")).isEqualTo(3);
        assertThat(server.registry().lookup("meter-1")).isNotNull();
        assertThat(opens).singleElement().satisfies(o -> assertThat(o.deviceId()).isEqualTo("meter-1"));
        assertThat(closes).isEmpty();

        device.close();
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        assertThat(closes.get(0).reason()).as("the device's BYE arrived through TLS").isEqualTo(Reason.NORMAL);
    }

    @Test
    void sdkOverTls_verifiesAHostName() throws Exception {
        TetherServer server = start(localhost, b -> b);
        TetherClient device = client(TetherClient.builder().target("localhost", server.port()).deviceId("meter-2")
                .tls(localhost.cert()));

        device.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

        assertThat(device.send("x".getBytes()).get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(1);
    }

    @Test
    void sdk_refusesServerWithUntrustedCertificate() {
        TetherServer server = start(localhost, b -> b);
        OpenSsl.Pair rogue = OpenSsl.selfSigned(dir, "rogue", "localhost", "DNS:localhost,IP:127.0.0.1");
        List<Throwable> causes = new CopyOnWriteArrayList<>();
        TetherClient device = client(TetherClient.builder().target("127.0.0.1", server.port()).deviceId("meter-3")
                .tls(rogue.cert()).reconnect(false).listener(recordCauses(causes)));

        assertThatThrownBy(() -> device.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(ClientClosedException.class)
                .cause().isInstanceOf(SSLHandshakeException.class)
                .hasMessageStartingWith("TLS handshake with 127.0.0.1:" + server.port() + " failed: ")
                .hasMessageContaining("the server's certificate is not trusted");
        assertThat(causes).singleElement().isInstanceOf(SSLHandshakeException.class);
        assertThat(opens).isEmpty();
        // The server hears the client's alert (certificate_unknown) as a failed TLS handshake.
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        assertThat(closes.get(0).reason()).isIn(Reason.IO_ERROR, Reason.PROTOCOL_ERROR);
        assertThat(closes.get(0).detail()).contains("certificate_unknown");
    }

    @Test
    void sdk_refusesServerWhoseCertificateNamesAnotherHost() {
        OpenSsl.Pair other = OpenSsl.selfSigned(dir, "other", "other.example", "DNS:other.example");
        TetherServer server = start(other, b -> b);
        List<Throwable> causes = new CopyOnWriteArrayList<>();
        // Trusts the very certificate the server presents: only the name is wrong.
        TetherClient device = client(TetherClient.builder().target("127.0.0.1", server.port()).deviceId("meter-4")
                .tls(other.cert()).reconnect(false).listener(recordCauses(causes)));

        assertThatThrownBy(() -> device.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(ClientClosedException.class)
                .cause().isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("must name 127.0.0.1");
        assertThat(causes).singleElement().isInstanceOf(SSLHandshakeException.class);
        assertThat(opens).isEmpty();
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        assertThat(closes.get(0).detail()).contains("certificate_unknown");
    }

    private static ClientListener recordCauses(List<Throwable> causes) {
        return new ClientListener() {
            @Override
            public void onDisconnected(Reason reason, Throwable causeOrNull) {
                assertThat(reason).isEqualTo(Reason.IO_ERROR);
                causes.add(causeOrNull);
            }
        };
    }

    // ---- deadlines and strangers --------------------------------------------------------------

    @Test
    void clientStalledMidTlsHandshake_isClosedWithHandshakeTimeout() throws Exception {
        Duration handshake = Duration.ofMillis(800);
        Duration drain = Duration.ofMillis(300);
        TetherServer server = start(localhost, b -> b.handshakeTimeout(handshake).drain(drain));

        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            long connected = System.nanoTime();
            s.getOutputStream().write(clientHello());
            s.setSoTimeout((int) WAIT.toMillis());
            InputStream in = s.getInputStream();
            // The server answers the ClientHello (ServerHello and the rest of its flight); we never go on.
            assertThat(in.read()).as("first byte of the server's TLS flight (a handshake record)").isEqualTo(0x16);
            drainUntilClosed(in);
            long closedAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connected);
            assertThat(closedAfterMillis).isBetween(handshake.toMillis(),
                    handshake.plus(drain).toMillis() + SLACK_MILLIS);
        }
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        SessionClosed close = closes.get(0);
        assertThat(close.reason()).isEqualTo(Reason.HANDSHAKE_TIMEOUT);
        assertThat(close.deviceId()).isNull();
        assertThat(close.durationMillis()).isBetween(handshake.toMillis(), handshake.plus(drain).toMillis() + SLACK_MILLIS);
    }

    @Test
    void plaintextHelloToTlsPort_isClosedAtOnce() throws Exception {
        TetherServer server = start(localhost, b -> b.handshakeTimeout(Duration.ofSeconds(10)));

        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            long sent = System.nanoTime();
            s.getOutputStream().write(encode(new Frame.Hello(0, 0, "plain-1", new byte[0])));
            s.setSoTimeout((int) WAIT.toMillis());
            int received = drainUntilClosed(s.getInputStream());
            assertThat(received).as("nothing: no BYE in plaintext, no TLS alert").isZero();
            long closedAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            assertThat(closedAfterMillis).as("well before the 10 s handshake deadline").isLessThan(SLACK_MILLIS);
        }
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        SessionClosed close = closes.get(0);
        // IO_ERROR with Netty's NotSslRecordException as detail today; PROTOCOL_ERROR "not TLS" once
        // Connection classifies SSLExceptions. Never a timeout, never a session.
        assertThat(close.reason()).isIn(Reason.IO_ERROR, Reason.PROTOCOL_ERROR);
        assertThat(close.detail()).containsAnyOf("NotSslRecordException", "not TLS");
        assertThat(close.deviceId()).isNull();
        assertThat(opens).isEmpty();
        assertThat(server.store().lastSeq("plain-1")).isZero();
    }

    @Test
    void refusedConnection_getsServerBusyInsideTls() throws Exception {
        TetherServer server = start(localhost, b -> b.maxConnections(1));
        TetherClient first = client(TetherClient.builder().target("127.0.0.1", server.port()).deviceId("meter-5")
                .tls(localhost.cert()));
        first.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        CompletableFuture<Goodbye> bye = new CompletableFuture<>();

        client(TetherClient.builder().target("127.0.0.1", server.port()).deviceId("meter-6").tls(localhost.cert())
                .listener(new ClientListener() {
                    @Override
                    public void onBye(Goodbye b) {
                        bye.complete(b);
                    }
                })).connect();

        // A plaintext BYE would reach a TLS device as garbage ("not TLS"); this one is readable.
        assertThat(bye.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).reason()).isEqualTo(Reason.SERVER_BUSY);
    }

    @Test
    void refusedConnectionStalledInTlsHandshake_isClosedAfterTheHandshakeTimeout() throws Exception {
        Duration handshake = Duration.ofMillis(800);
        TetherServer server = start(localhost, b -> b.maxConnections(1).handshakeTimeout(handshake));
        TetherClient first = client(TetherClient.builder().target("127.0.0.1", server.port()).deviceId("meter-7")
                .tls(localhost.cert()));
        first.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            long connected = System.nanoTime();
            s.setSoTimeout((int) WAIT.toMillis());
            // Nothing sent: the refusal's BYE waits for a TLS handshake that never comes.
            drainUntilClosed(s.getInputStream());
            long closedAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connected);

            // The server's timer starts at its accept, which can come a few ms before this thread
            // reads the clock after connect() returns: 50 ms of slack on the early side (seen: 797 ms).
            // An immediate close (the failure this guards against) would take a few ms, not ~800.
            assertThat(closedAfterMillis).isBetween(handshake.toMillis() - 50, handshake.toMillis() + SLACK_MILLIS);
        }
        await().atMost(WAIT).until(() -> !closes.isEmpty());
        assertThat(closes.get(0).reason()).isEqualTo(Reason.SERVER_BUSY);
    }

    /** Reads until EOF or reset; returns the bytes read. */
    private static int drainUntilClosed(InputStream in) throws IOException {
        byte[] buf = new byte[4096];
        int total = 0;
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                total += n;
            }
        } catch (SocketException reset) {
            // RST after the drain: closed as well.
        }
        return total;
    }

    /** A real TLS ClientHello from the JDK's engine, to stall after. */
    private static byte[] clientHello() throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine("localhost", 443);
        engine.setUseClientMode(true);
        engine.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        SSLEngineResult r = engine.wrap(ByteBuffer.allocate(0), out);
        assertThat(r.bytesProduced()).isPositive();
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
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
