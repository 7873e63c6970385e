package io.tether.client;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Client settings for tests: fast, seeded reconnects against the fake server. */
final class TestClients {
    private TestClients() {
    }

    static TetherClient.Builder builder(FakeServer server, ClientListener listener) {
        return builder(server.port(), listener);
    }

    static TetherClient.Builder builder(int port, ClientListener listener) {
        return TetherClient.builder()
                .target("127.0.0.1", port)
                .deviceId("dev-1")
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .connectTimeout(Duration.ofSeconds(2))
                .random(new SplittableRandom(20_240_601))
                .listener(listener);
    }

    static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(FakeServer.WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
