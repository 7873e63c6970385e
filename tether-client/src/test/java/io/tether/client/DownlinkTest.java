package io.tether.client;

import io.tether.protocol.Frame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.tether.client.RecordingListener.take;
import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;

class DownlinkTest {
    private final FakeServer server = new FakeServer();
    private final RecordingListener listener = new RecordingListener();
    private TetherClient client;

    @AfterEach
    void tearDown() {
        client.close();
        await(client.closeFuture());
        server.close();
    }

    @Test
    void downlinkData_isDeliveredAndAcked_andARedeliveryIsOnlyAckedAgain() throws InterruptedException {
        client = TestClients.builder(server, listener).build();
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(3, 0, 0, 0, 0);

        conn.send(new Frame.Data(1, bytes("reboot")));
        RecordingListener.Message m = take(listener.messages);
        assertThat(m.seq()).isEqualTo(1);
        assertThat(m.payload()).isEqualTo(bytes("reboot"));
        assertThat(conn.next(Frame.Ack.class).seq()).isEqualTo(1);

        conn.send(new Frame.Data(1, bytes("reboot"))); // the ACK was lost, the server resends
        assertThat(conn.next(Frame.Ack.class).seq()).isEqualTo(1);
        conn.send(new Frame.Data(2, bytes("update")));
        assertThat(conn.next(Frame.Ack.class).seq()).isEqualTo(2);
        assertThat(take(listener.messages).seq()).isEqualTo(2);
        assertThat(listener.messages.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS)).isNull();
        assertThat(client.stats().messagesReceived()).isEqualTo(2);
    }

    @Test
    void throwingListener_stillAcks_andKeepsTheConnection() {
        client = TestClients.builder(server, new ClientListener() {
            @Override
            public void onMessage(long seq, byte[] payload) {
                throw new IllegalStateException("application bug");
            }
        }).build();
        client.connect();
        FakeServer.Conn conn = server.accept();
        conn.hello();
        conn.welcome(3, 0, 0, 0, 0);
        conn.send(new Frame.Data(1, bytes("x")));
        assertThat(conn.next(Frame.Ack.class).seq()).isEqualTo(1);
        assertThat(client.isConnected()).isTrue();
        assertThat(conn.isOpen()).isTrue();
    }
}
