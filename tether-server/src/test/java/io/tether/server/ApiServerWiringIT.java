package io.tether.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.client.TetherClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP API as part of a {@link TetherServer}: the builder's rules, TLS on the API port, and a
 * flood of API requests that leaves the devices' side untouched.
 */
class ApiServerWiringIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final InetSocketAddress ANY_LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    @TempDir
    Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<SessionClosed> closes = new CopyOnWriteArrayList<>();
    private final List<SessionOpened> opens = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private TetherServer.Builder builder() {
        return TetherServer.builder().bindAddress(ANY_LOOPBACK).shutdownTimeout(Duration.ofSeconds(1))
                .listener(new SessionListener() {
                    @Override
                    public void onOpen(SessionOpened event) {
                        opens.add(event);
                    }

                    @Override
                    public void onClose(SessionClosed event) {
                        closes.add(event);
                    }
                });
    }

    private TetherServer start(TetherServer.Builder b) {
        TetherServer s = b.build().start();
        toClose.add(s);
        return s;
    }

    private static boolean ledgerWired(TetherServer server) {
        try {
            server.commands();
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    @Test
    void apiWithoutKeys_isRefused_unlessInsecureIsChosen() {
        assertThatThrownBy(() -> TetherServer.builder().api(ANY_LOOPBACK).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no API keys")
                .hasMessageContaining("--api-keys FILE")
                .hasMessageContaining("--insecure-no-api-auth");
        assertThat(TetherServer.builder().api(ANY_LOOPBACK).apiInsecureNoAuth(true).build()).isNotNull();
    }

    @Test
    void keysAndInsecureTogether_orApiOptionsWithoutAnApi_areRefused() throws Exception {
        Path file = dir.resolve("keys");
        ApiKeys.add(file, "alice");
        ApiKeys keys = ApiKeys.load(file);

        assertThatThrownBy(() -> TetherServer.builder().api(ANY_LOOPBACK).apiKeys(keys).apiInsecureNoAuth(true).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("choose one");
        assertThatThrownBy(() -> TetherServer.builder().apiKeys(keys).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("without an API address (--api ADDR:PORT)");
    }

    @Test
    void apiStartsAndStopsWithTheServer() throws Exception {
        TetherServer server = start(builder().api(ANY_LOOPBACK).apiInsecureNoAuth(true));
        InetSocketAddress api = server.apiAddress();
        assertThat(api).isNotNull();
        assertThat(api.getPort()).isPositive();
        assertThat(start(builder()).apiAddress()).as("no API unless asked for").isNull();

        HttpResponse<String> doc = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + api.getPort() + "/v1/openapi.json")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(doc.statusCode()).isEqualTo(200);

        server.close();
        assertThatThrownBy(() -> new Socket("127.0.0.1", api.getPort()).close()).isInstanceOf(ConnectException.class);
    }

    @Test
    void apiPortTaken_failsTheStart_namingTheApi() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            TetherServer server = builder().api(new InetSocketAddress("127.0.0.1", taken.getLocalPort()))
                    .apiInsecureNoAuth(true).build();
            toClose.add(server);
            assertThatThrownBy(server::start).isInstanceOf(java.io.UncheckedIOException.class)
                    .hasMessageContaining("for the HTTP API");
        }
    }

    @Test
    void apiOverTls_servesVerifiedClients_andPlaintextGetsNoAnswer() throws Exception {
        Path cert = dir.resolve("api-cert.pem");
        Path key = dir.resolve("api-key.pem");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        Path file = dir.resolve("keys");
        String alice = ApiKeys.add(file, "alice");
        TetherServer server = start(builder().api(ANY_LOOPBACK).apiKeys(ApiKeys.load(file))
                .apiTls(ServerTls.fromPem(cert, key)));
        int port = server.apiAddress().getPort();
        HttpClient https = HttpClient.newBuilder().sslContext(trusting(cert)).build();

        HttpResponse<String> doc = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port
                + "/v1/openapi.json")).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> noKey = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port
                + "/v1/devices/truck-1")).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> wrongKey = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port
                + "/v1/devices/truck-1")).header("Authorization", "Bearer " + alice + "x").build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(doc.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(doc.body()).get("openapi").asText()).startsWith("3.0");
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertThat(noKey.headers().firstValue("content-type")).hasValue("application/problem+json");
        assertThat(wrongKey.statusCode()).isEqualTo(401);
        assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + port + "/v1/openapi.json")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()))
                .as("plaintext HTTP on the TLS port").isInstanceOf(IOException.class);
    }

    @Test
    void aFloodOfApiRequests_leavesDevicesServed_andIsRefusedWithProblems() throws Exception {
        Path file = dir.resolve("keys");
        String alice = ApiKeys.add(file, "alice");
        TetherServer server = start(builder().heartbeat(Duration.ofSeconds(1)).api(ANY_LOOPBACK)
                .apiKeys(ApiKeys.load(file)).apiRate(new ApiRate(50, 50)));
        TetherClient device = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("truck-1")
                .heartbeat(Duration.ofSeconds(1)).build();
        toClose.add(device);
        device.connect().get(5, TimeUnit.SECONDS);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI uri = URI.create("http://127.0.0.1:" + server.apiAddress().getPort() + "/v1/devices/truck-1");
        int total = 3_000;
        AtomicInteger limited = new AtomicInteger();
        List<String> bad = new CopyOnWriteArrayList<>();
        Semaphore window = new Semaphore(64);
        long start = System.nanoTime();
        CompletableFuture<Void> flood = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < total; i++) {
                window.acquireUninterruptibly();
                http.sendAsync(HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + alice).build(),
                        HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
                            window.release();
                            if (e != null) {
                                bad.add(e.toString());
                            } else if (r.statusCode() == 429) {
                                if (r.headers().firstValue("retry-after").isPresent()
                                        && r.body().contains("\"type\":\"https://tether.dev/problems/rate-limited\"")) {
                                    limited.incrementAndGet();
                                } else {
                                    bad.add(r.statusCode() + " " + r.body());
                                }
                            }
                        });
            }
            window.acquireUninterruptibly(64);
        });

        // Meanwhile the device sends and each message is acknowledged (stored) promptly.
        List<Long> ackMillis = new ArrayList<>();
        while (!flood.isDone()) {
            long t = System.nanoTime();
            device.send("reading".getBytes(StandardCharsets.UTF_8)).get(2, TimeUnit.SECONDS);
            ackMillis.add((System.nanoTime() - t) / 1_000_000);
            Thread.sleep(20);
        }
        flood.get(120, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(bad).as("failed requests, or 429s that are not a rate-limited problem").isEmpty();
        assertThat((double) limited.get()).as("refused of %d in %.1f s", total, seconds)
                .isGreaterThanOrEqualTo(total - (50 + 50 * seconds + 1));
        assertThat(ackMillis).as("device messages acknowledged during the flood").hasSizeGreaterThan(5);
        // The device's acknowledgements take a loopback round trip and a store write; 500 ms is far above that.
        assertThat(ackMillis).allSatisfy(ms -> assertThat(ms).isLessThan(500));
        assertThat(closes).as("sessions ended during the flood").isEmpty();
    }

    @Test
    void deviceResource_followsTheDevicesSessions() throws Exception {
        TetherServer server = start(builder().api(ANY_LOOPBACK).apiInsecureNoAuth(true));
        Assumptions.assumeTrue(ledgerWired(server), "TetherServer.commands() is not the ledger yet: openCommands cannot be read");
        TetherClient device = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("truck-1").build();
        device.connect().get(5, TimeUnit.SECONDS);
        URI uri = URI.create("http://127.0.0.1:" + server.apiAddress().getPort() + "/v1/devices/truck-1");
        HttpClient http = HttpClient.newHttpClient();

        JsonNode online = JSON.readTree(http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(online.get("online").asBoolean()).isTrue();
        assertThat(online.get("session").get("epoch").asLong()).isEqualTo(opens.get(0).sessionId());

        device.close();
        await().atMost(5, TimeUnit.SECONDS).until(() -> !closes.isEmpty());
        JsonNode offline = JSON.readTree(http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(offline.get("online").asBoolean()).isFalse();
        assertThat(offline.get("lastClose").get("reason").asText()).isEqualTo(closes.get(0).reason().name());
    }

    private static SSLContext trusting(Path certPem) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(certPem)) {
            ks.setCertificateEntry("api", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Runs openssl (tests need the command line, as TlsServerIT does), failing with its output. */
    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("openssl %s: %s", String.join(" ", args), out).isZero();
    }
}
