package io.tether.client;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/** The simulator's shape: many clients on one caller-owned group. */
class SharedGroupTest {

    @Test
    void manyClientsOnOneSharedGroup_allDeliver_andTheGroupOutlivesThem() throws Exception {
        int clients = 200;
        int messages = 5;
        ClientGroup group = ClientGroup.create(2);
        try (FakeServer server = new FakeServer().autoRespond()) {
            List<TetherClient> fleet = new ArrayList<>();
            List<CompletableFuture<?>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                TetherClient c = TestClients.builder(server, new ClientListener() { })
                        .deviceId("sim-" + i)
                        .group(group)
                        .build();
                fleet.add(c);
                futures.add(c.connect());
                for (int m = 0; m < messages; m++) {
                    futures.add(c.send(bytes("reading " + m)));
                }
            }
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);

            ClientStats total = ClientStats.ZERO;
            for (TetherClient c : fleet) {
                total = total.plus(c.stats());
            }
            assertThat(total.connects()).isEqualTo(clients);
            assertThat(total.messagesAcked()).isEqualTo((long) clients * messages);
            assertThat(total.messagesResent()).isZero();

            List<CompletableFuture<Void>> closed = new ArrayList<>();
            for (TetherClient c : fleet) {
                c.close();
                closed.add(c.closeFuture());
            }
            CompletableFuture.allOf(closed.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
            assertThat(group.isClosed()).isFalse();
        } finally {
            group.close();
        }
    }
}
