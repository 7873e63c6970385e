package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The admin endpoint's device history, and its keys. */
class AdminHistoryIT {
    private static final InetSocketAddress LOOPBACK_ANY_PORT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private TetherServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private TetherServer start(TetherServer.Builder b) {
        server = b.bindAddress(new InetSocketAddress("127.0.0.1", 0)).store(MessageStores.inMemory())
                .shutdownTimeout(Duration.ofSeconds(1)).build().start();
        return server;
    }

    private HttpResponse<String> get(String path, String key) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + path))
                .timeout(Duration.ofSeconds(5)).GET();
        if (key != null) {
            r.header("Authorization", "Bearer " + key);
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void historyEndpoint_listsClosedAndLiveSessions_newestFirst() throws Exception {
        start(TetherServer.builder().admin(LOOPBACK_ANY_PORT));
        try (RawDevice d = new RawDevice(server.port())) {
            d.hello("adm-1", 0);
            d.send(new Frame.Bye(Reason.NORMAL));
            assertThat(d.awaitEnd()).isTrue();
        }
        try (RawDevice live = new RawDevice(server.port())) {
            Frame.Welcome w = live.hello("adm-1", 0);
            await().atMost(5, TimeUnit.SECONDS).until(() -> server.history("adm-1").size() == 2);
            HttpResponse<String> res = get("/devices/adm-1/history", null);
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
            DeviceHistory h = DeviceHistory.parse(res.body());
            assertThat(h.deviceId()).isEqualTo("adm-1");
            assertThat(h.keep()).isEqualTo(20);
            assertThat(h.sessions()).hasSize(2);
            assertThat(h.sessions().get(0).sessionId()).isEqualTo(w.sessionId());
            assertThat(h.sessions().get(0).live()).isTrue();
            assertThat(h.sessions().get(0).reason()).isNull();
            assertThat(h.sessions().get(0).remote()).isEqualTo("127.0.0.1:" + live.localPort());
            assertThat(h.sessions().get(1).reason()).isEqualTo(Reason.NORMAL);
            assertThat(h.sessions().get(1).live()).isFalse();
            assertThat(res.body()).contains("\"reason\":\"NORMAL\"", "\"closedAt\":null", "\"live\":true");
        }
    }

    @Test
    void historyEndpoint_unknownDevice_isEmpty_andABadIdIs400() throws Exception {
        start(TetherServer.builder().admin(LOOPBACK_ANY_PORT));
        HttpResponse<String> none = get("/devices/nobody/history", null);
        assertThat(none.statusCode()).isEqualTo(200);
        assertThat(DeviceHistory.parse(none.body()).sessions()).isEmpty();
        HttpResponse<String> bad = get("/devices/caf%C3%A9/history", null);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("printable ASCII");
    }

    @Test
    void adminKeys_noKeyIs401_aWrongKeyIs401_theRightKeyIs200_healthStaysOpen() throws Exception {
        Path file = dir.resolve("admin-keys");
        String key = ApiKeys.add(file, "ops");
        start(TetherServer.builder().admin(LOOPBACK_ANY_PORT).adminKeys(ApiKeys.load(file)));

        HttpResponse<String> missing = get("/devices/adm-2/history", null);
        assertThat(missing.statusCode()).isEqualTo(401);
        assertThat(missing.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        assertThat(missing.body()).contains("Authorization: Bearer");
        assertThat(get("/sessions", null).statusCode()).isEqualTo(401);
        assertThat(get("/sessions", "tk_" + "A".repeat(43)).statusCode()).isEqualTo(401);

        assertThat(get("/devices/adm-2/history", key).statusCode()).isEqualTo(200);
        assertThat(get("/sessions", key).statusCode()).isEqualTo(200);
        assertThat(get("/health", null).statusCode()).as("load balancers probe without a key").isEqualTo(200);
        // The dashboard page holds no data (a browser cannot send a Bearer header to open it);
        // its data requests carry the key, and without one they are refused like any other.
        HttpResponse<String> page = get("/dashboard", null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Authorization").contains("#key=");
        assertThat(get("/metrics", null).statusCode()).isEqualTo(401);
        assertThat(get("/closes", null).statusCode()).isEqualTo(401);
        assertThat(get("/metrics", key).statusCode()).isEqualTo(200);
    }

    @Test
    void adminKeys_removedFromTheFile_areRefusedAfterReload() throws Exception {
        Path file = dir.resolve("admin-keys");
        String ops = ApiKeys.add(file, "ops");
        String other = ApiKeys.add(file, "other");
        ApiKeys keys = ApiKeys.load(file);
        start(TetherServer.builder().admin(LOOPBACK_ANY_PORT).adminKeys(keys));
        assertThat(get("/sessions", ops).statusCode()).isEqualTo(200);
        ApiKeys.remove(file, "ops");
        keys.reload(true);
        assertThat(get("/sessions", ops).statusCode()).isEqualTo(401);
        assertThat(get("/sessions", other).statusCode()).isEqualTo(200);
    }

    @Test
    void nonLoopbackAdmin_withoutKeys_isRefused() {
        TetherServer.Builder b = TetherServer.builder().port(0).store(MessageStores.inMemory())
                .admin(new InetSocketAddress("0.0.0.0", 0));
        assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not a loopback address")
                .hasMessageContaining("--admin-keys")
                .hasMessageContaining("--insecure-admin");
    }

    @Test
    void nonLoopbackAdmin_withInsecureAdmin_serves() throws Exception {
        start(TetherServer.builder().admin(new InetSocketAddress("0.0.0.0", 0)).insecureAdmin(true));
        assertThat(get("/devices/x/history", null).statusCode()).isEqualTo(200);
    }

    @Test
    void nonLoopbackAdmin_withKeys_serves_andKeysWithInsecureAreRefused() throws Exception {
        Path file = dir.resolve("admin-keys");
        String key = ApiKeys.add(file, "ops");
        assertThatThrownBy(() -> TetherServer.builder().admin(new InetSocketAddress("0.0.0.0", 0))
                .adminKeys(ApiKeys.load(file)).insecureAdmin(true).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("choose one");
        assertThatThrownBy(() -> TetherServer.builder().insecureAdmin(true).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("--admin ADDR:PORT");
        start(TetherServer.builder().admin(new InetSocketAddress("0.0.0.0", 0)).adminKeys(ApiKeys.load(file)));
        assertThat(get("/devices/x/history", key).statusCode()).isEqualTo(200);
        assertThat(get("/devices/x/history", null).statusCode()).isEqualTo(401);
    }
}
