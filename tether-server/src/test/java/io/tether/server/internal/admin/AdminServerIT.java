package io.tether.server.internal.admin;

import io.tether.server.SessionsSnapshot;
import io.tether.server.SocketAudit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tether.server.ConnectionInfo;
import io.tether.server.RawDevice;
import io.tether.server.TetherServer;
import io.tether.transport.kernel.KernelSocket;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin endpoint over real HTTP, in front of a real gateway with two raw devices connected. */
class AdminServerIT {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<RawDevice> devices = new ArrayList<>();
    private TetherServer server;
    private AdminServer admin;

    @BeforeEach
    void start() throws IOException {
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(2))
                .build()
                .start();
        admin = AdminServer.start(server, new InetSocketAddress("127.0.0.1", 0));
        for (String id : List.of("meter-1", "meter-2")) {
            RawDevice d = new RawDevice(server.port());
            devices.add(d);
            d.hello(id, 0);
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.registry().size() == 2);
    }

    @AfterEach
    void stop() throws IOException {
        for (RawDevice d : devices) {
            d.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(admin.uri().resolve(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void sessions_listEachDeviceWithTheAddressItConnectedFrom() throws Exception {
        HttpResponse<String> res = get("/sessions");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
        SessionsSnapshot s = SessionsSnapshot.parse(res.body());
        assertThat(s.port()).isEqualTo(server.port());
        assertThat(s.sessions()).isEqualTo(2);
        assertThat(s.connections()).extracting(ConnectionInfo::deviceId).containsExactlyInAnyOrder("meter-1", "meter-2");
        assertThat(s.connections()).extracting(c -> c.remote().getPort())
                .containsExactlyInAnyOrderElementsOf(devices.stream().map(RawDevice::localPort).collect(Collectors.toList()));
        assertThat(s.connections()).allSatisfy(c -> assertThat(c.state()).isEqualTo("OPEN"));
    }

    @Test
    void sockets_showTwoEstablishedAndNoGhostsOrphansOrCloseWait() throws Exception {
        HttpResponse<String> res = get("/sockets");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).contains("\"port\":" + server.port(), "\"healthy\":true", "\"ESTABLISHED\":2",
                "\"CLOSE_WAIT\":0", "\"sessions\":2", "\"ghosts\":[]", "\"orphans\":[]");
    }

    @Test
    void auditWithoutOneSession_reportsThatDevicesSocketAsAGhost() throws Exception {
        // The server cannot be made to forget a socket, so hide one of its sessions from the audit.
        List<ConnectionInfo> all = server.connections();
        List<ConnectionInfo> withoutMeter2 = all.stream()
                .filter(c -> !"meter-2".equals(c.deviceId())).collect(Collectors.toList());

        SocketAudit.Report r = SocketAudit.audit(server.port(), withoutMeter2, SocketTable.read());

        assertThat(r.ghosts()).extracting(KernelSocket::remote).extracting(InetSocketAddress::getPort)
                .containsExactly(devices.get(1).localPort());
        assertThat(r.ghosts()).allSatisfy(g -> assertThat(g.state()).isEqualTo(TcpState.ESTABLISHED));
        assertThat(r.orphans()).isEmpty();
        assertThat(r.healthy()).isFalse();
    }

    @Test
    void closedDevice_leavesNoCloseWaitOnceTheServerReacts() throws Exception {
        devices.get(0).close();

        await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get("/sockets").body())
                .contains("\"ESTABLISHED\":1", "\"CLOSE_WAIT\":0", "\"sessions\":1", "\"healthy\":true"));
    }

    @Test
    void metrics_areThePrometheusTextFormat_withBaseUnitsAndTotals() throws Exception {
        HttpResponse<String> res = get("/metrics");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(res.body()).contains("\ntether_sessions_opened_total 2.0\n", "\ntether_sessions_live 2.0\n",
                "tether_connections_closed_total{errno=\"none\",reason=\"HEARTBEAT_TIMEOUT\"} 0.0",
                "tether_detection_lateness_seconds_bucket{reason=\"HEARTBEAT_TIMEOUT\",le=\"0.005\"} 0",
                "tether_connections_handshaking 0.0", "tether_auth_failures_total{cause=\"BAD_MAC\"} 0.0");
        // The kernel gauges show the last audit: /sockets runs one (so does a timer, every 10 s).
        assertThat(get("/sockets").statusCode()).isEqualTo(200);
        assertThat(get("/metrics").body())
                .contains("tether_kernel_sockets{state=\"ESTABLISHED\"} 2.0", "tether_kernel_ghosts 0.0", "tether_kernel_orphans 0.0");
    }

    @Test
    void aRegistryThatCannotRenderPrometheus_keepsTheJsonAtMetrics() throws Exception {
        try (TetherServer own = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .meters(new io.micrometer.core.instrument.simple.SimpleMeterRegistry())
                .admin(new InetSocketAddress("127.0.0.1", 0)).shutdownTimeout(Duration.ofSeconds(1)).build().start()) {
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                    + own.adminAddress().getPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(res.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
            assertThat(res.body()).startsWith("{\"meters\":[");
        }
    }

    @Test
    void aCompositeHoldingAPrometheusRegistry_isScrapedWithTheApplicationsMeters() throws Exception {
        io.micrometer.core.instrument.composite.CompositeMeterRegistry composite = new io.micrometer.core.instrument.composite.CompositeMeterRegistry();
        composite.add(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
        composite.add(new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT));
        composite.counter("app.orders").increment(3);
        try (TetherServer own = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0)).meters(composite)
                .admin(new InetSocketAddress("127.0.0.1", 0)).shutdownTimeout(Duration.ofSeconds(1)).build().start()) {
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                    + own.adminAddress().getPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(res.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
            assertThat(res.body()).contains("\napp_orders_total 3.0\n", "\ntether_sessions_live 0.0\n");
        }
    }

    @Test
    void aConnectionWithoutHello_isHandshakingUntilItCloses() throws Exception {
        try (java.net.Socket silent = new java.net.Socket("127.0.0.1", server.port())) {
            await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get("/metrics").body())
                    .contains("\ntether_connections_handshaking 1.0\n", "\ntether_connections_open 3.0\n"));
        }
        await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get("/metrics").body())
                .contains("\ntether_connections_handshaking 0.0\n", "\ntether_connections_open 2.0\n"));
    }

    @Test
    void sessionsOfOneDevice_sayWhetherItIsOnline() throws Exception {
        assertThat(get("/sessions?device=meter-1").body()).contains("\"device\":\"meter-1\",\"online\":true",
                "\"device\":\"meter-1\",\"session\":").doesNotContain("meter-2");
        assertThat(get("/sessions?device=nobody").body()).contains("\"online\":false,\"connections\":[]");
    }

    @Test
    void dashboard_isAnHtmlPage() throws Exception {
        HttpResponse<String> res = get("/dashboard");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        // Nothing fetched from elsewhere at run time: no script, style or image from another host.
        assertThat(res.body()).startsWith("<!doctype html>").doesNotContainPattern("(src|href|url)\\s*[=(]\\s*[\"']?(https?:)?//");
    }

    @Test
    void metricsJson_countTheTwoHandshakes() throws Exception {
        HttpResponse<String> res = get("/metrics.json");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).contains("{\"name\":\"tether.sessions.opened\",\"type\":\"counter\",\"tags\":{},\"value\":2}")
                .contains("{\"name\":\"tether.sessions.live\",\"type\":\"gauge\",\"tags\":{},\"value\":2}");
    }

    @Test
    void health_isUpWithTheConnectionCount() throws Exception {
        HttpResponse<String> res = get("/health");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).isEqualTo("{\"status\":\"UP\",\"port\":" + server.port() + ",\"connections\":2,\"sessions\":2,"
                + "\"store\":{\"state\":\"HEALTHY\",\"sinceMillis\":0,\"failures\":0}}");
    }

    @Test
    void kafkaForwarderFailing_isInHealth_andTheGatewayStaysUp() throws Exception {
        admin.forwarder(() -> new io.tether.server.internal.kafka.KafkaForwarder.Status(
                io.tether.server.internal.kafka.KafkaForwarder.State.FAILING, 120, 12_465, 12_345, 1_234_500,
                "TimeoutException Timeout expired after 10000ms", 1_700_000_000_000L));

        HttpResponse<String> res = get("/health");

        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).startsWith("{\"status\":\"UP\"").endsWith(",\"forwarder\":{\"state\":\"FAILING\","
                + "\"position\":120,\"head\":12465,\"lag\":12345,\"lagBytes\":1234500,"
                + "\"lastError\":\"TimeoutException Timeout expired after 10000ms\",\"lastCommitAtMillis\":1700000000000}}");
    }

    @Test
    void writesAreRefused_andUnknownPathsAreNotFound() throws Exception {
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(admin.uri().resolve("/sessions"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> missing = get("/nope");

        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("no such endpoint: /nope");
    }

    @Test
    void close_stopsListeningButLeavesTheGatewayRunning() throws Exception {
        admin.close();

        assertThatThrownBy(() -> get("/health")).isInstanceOf(ConnectException.class);
        assertThat(server.registry().size()).isEqualTo(2);
        admin.close(); // idempotent
    }
}
