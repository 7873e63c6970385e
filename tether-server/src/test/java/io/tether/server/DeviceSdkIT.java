package io.tether.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.tether.client.ClientListener;
import io.tether.client.TetherClient;
import io.tether.protocol.Reason;
import io.tether.server.internal.connection.Connection;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import io.tether.server.StoredMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The device SDK against the real server: cuts, resends, restarts. */
class DeviceSdkIT {
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private TetherServer startServer(int port, InMemoryMessageStore store) {
        TetherServer server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", port))
                .store(store)
                .shutdownTimeout(Duration.ofMillis(500))
                // BYE SERVER_SHUTDOWN tells devices to come back after 1 s + up to 200 ms.
                .shutdownReconnectSpread(Duration.ofMillis(200))
                .drain(Duration.ofMillis(100))
                .build().start();
        toClose.add(server);
        return server;
    }

    private static void reset(Connection h) {
        Channel ch = h.channel();
        ch.eventLoop().execute(() -> {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.close();
        });
    }

    private static byte[] payload(int i) {
        return ("message-" + i).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void serverRstWhileMessagesInFlight_deviceReconnectsWithJitter_noMessageLostOrStoredTwice() throws Exception {
        InMemoryMessageStore store = new InMemoryMessageStore();
        TetherServer server = startServer(0, store);
        List<Duration> delays = new CopyOnWriteArrayList<>();
        List<Reason> disconnects = new CopyOnWriteArrayList<>();
        SplittableRandom random = new SplittableRandom(7);
        TetherClient client = TetherClient.builder()
                .target("127.0.0.1", server.port())
                .deviceId("truck-1")
                .backoff(Duration.ofMillis(50), Duration.ofMillis(400))
                .random(bound -> random.nextLong(bound))
                .outboxCapacity(5_000)
                .listener(new ClientListener() {
                    @Override
                    public void onReconnectScheduled(int attempt, Duration delay) {
                        delays.add(delay);
                    }

                    @Override
                    public void onDisconnected(Reason reason, Throwable causeOrNull) {
                        disconnects.add(reason);
                    }
                })
                .build();
        toClose.add(client);
        client.connect().get(5, TimeUnit.SECONDS);

        int total = 3_000;
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        int cuts = 0;
        for (int i = 1; i <= total; i++) {
            acks.add(client.send(payload(i)));
            if (i % 1_000 == 500) {
                // Cut the connection from the server side, mid-stream, with RST.
                Connection[] live = new Connection[1];
                await().atMost(5, TimeUnit.SECONDS).until(() -> {
                    io.tether.server.Session s = server.registry().lookup("truck-1");
                    live[0] = (Connection) s;
                    return client.isConnected() && s != null && s.epoch() == client.sessionId();
                });
                long cutEpoch = live[0].epoch();
                reset(live[0]);
                cuts++;
                // The reset runs on the server's event loop, which a loaded machine may run late:
                // the next cut must not find this session again and count a second cut of it.
                await().atMost(5, TimeUnit.SECONDS).until(() -> {
                    io.tether.server.Session s = server.registry().lookup("truck-1");
                    return s == null || s.epoch() != cutEpoch;
                });
            }
        }
        CompletableFuture.allOf(acks.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);

        List<StoredMessage> stored = store.messages("truck-1");
        assertThat(stored).hasSize(total);
        for (int i = 0; i < total; i++) {
            assertThat(stored.get(i).seq()).isEqualTo(i + 1);
            assertThat(stored.get(i).payload()).isEqualTo(payload(i + 1));
        }
        for (int i = 0; i < total; i++) {
            assertThat(acks.get(i).get()).isEqualTo(i + 1L);
        }
        // The last cut's RST may reach the device after every ACK did: the server can read and
        // acknowledge the rest of the stream in the same loop turn that runs the reset task.
        int expectedCuts = cuts;
        await().atMost(5, TimeUnit.SECONDS).until(() -> disconnects.size() >= expectedCuts);
        assertThat(disconnects).hasSize(cuts).containsOnly(Reason.PEER_RESET);
        assertThat(delays).hasSize(cuts);
        // Full jitter: each first retry waits a random time below the base.
        assertThat(delays).allSatisfy(d -> assertThat(d).isLessThan(Duration.ofMillis(50)));
        assertThat(delays.stream().distinct().count()).as("jittered, not fixed").isGreaterThan(1);
    }

    @Test
    void serverRestart_deviceReconnectsOnItsOwn() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        InMemoryMessageStore store = new InMemoryMessageStore();
        TetherServer first = startServer(port, store);
        TetherClient client = TetherClient.builder()
                .target("127.0.0.1", port)
                .deviceId("meter-9")
                .backoff(Duration.ofMillis(50), Duration.ofMillis(200))
                .build();
        toClose.add(client);
        client.connect().get(5, TimeUnit.SECONDS);
        assertThat(client.send(payload(1)).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        long firstSession = client.sessionId();

        first.close();
        await().atMost(5, TimeUnit.SECONDS).until(() -> !client.isConnected());
        TetherServer second = startServer(port, store);

        await().atMost(15, TimeUnit.SECONDS).until(client::isConnected);
        assertThat(client.sessionId()).isNotEqualTo(firstSession);
        assertThat(second.registry().lookup("meter-9")).isNotNull();
        assertThat(client.send(payload(2)).get(5, TimeUnit.SECONDS)).isEqualTo(2);
        assertThat(store.messages("meter-9")).extracting(StoredMessage::seq).containsExactly(1L, 2L);
    }
}
