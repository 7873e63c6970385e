package io.tether.examples.device;

import io.tether.client.TetherClient;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

public class MinimalDevice {
    public static void main(String[] args) throws Exception {
        try (TetherClient client = TetherClient.builder()
                .target("127.0.0.1", 7400)                    // the gateway; 7400 is its default port
                .deviceId("truck-42")
                .secret(System.getenv("TRUCK42_SECRET"))      // or .groupSecret("sim-", ...) for a group entry
                .build()) {
            // The first session; fails at once with AuthenticationFailedException if the gateway
            // refuses the secret. After that the client reconnects on its own until close().
            client.connect().get(30, TimeUnit.SECONDS);
            long seq = client.send("hello".getBytes(StandardCharsets.UTF_8)) // completes once stored
                    .get(10, TimeUnit.SECONDS);
            System.out.println("stored as message " + seq);
        }
    }
}
