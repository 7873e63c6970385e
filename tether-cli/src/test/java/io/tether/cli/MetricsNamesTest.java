package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.server.TetherServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Issue 12 item 12: /metrics has no counters for outcomes that are not failures. */
class MetricsNamesTest {
    @Test
    void noCounterForOkOrNone() throws Exception {
        try (TetherServer server = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .admin(new InetSocketAddress("127.0.0.1", 0)).shutdownTimeout(Duration.ofSeconds(1)).build().start()) {
            InetSocketAddress admin = server.adminAddress();
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + admin.getPort() + "/metrics.json")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            System.out.println(body);
            assertThat(body).contains("tether.auth.failures").contains("tether.connections.refused");
            assertThat(body).doesNotContainPattern("cause.{0,4}OK\\b").doesNotContainPattern("cause.{0,4}NONE\\b");
        }
    }
}
