package io.tether.server;

import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code Builder.admin}: the admin endpoint lives and dies with the server. */
class AdminOptionIT {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void adminEndpoint_servesWhileTheServerRuns_andClosesWithIt() throws Exception {
        InetSocketAddress admin;
        try (TetherServer server = TetherServer.builder().port(0).store(MessageStores.inMemory())
                .admin(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .shutdownTimeout(Duration.ofSeconds(1)).build().start()) {
            admin = server.adminAddress();
            assertThat(admin).isNotNull();
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + admin.getPort() + "/sessions")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(SessionsSnapshot.parse(res.body()).port()).isEqualTo(server.port());
        }
        assertThatThrownBy(() -> new Socket(admin.getAddress(), admin.getPort()).close())
                .as("admin port closed with the server").isInstanceOf(java.net.ConnectException.class);
    }

    @Test
    void adminAddressInUse_failsStart_andReleasesTheDevicePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int devicePort;
            try (ServerSocket probe = new ServerSocket(0)) {
                devicePort = probe.getLocalPort();
            }
            TetherServer server = TetherServer.builder().port(devicePort).store(MessageStores.inMemory())
                    .admin(new InetSocketAddress(InetAddress.getLoopbackAddress(), taken.getLocalPort())).build();
            assertThatThrownBy(server::start).isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("admin endpoint");
            server.close();
            try (ServerSocket again = new ServerSocket(devicePort)) {
                assertThat(again.getLocalPort()).as("device port free again").isEqualTo(devicePort);
            }
        }
    }
}
