package io.tether.server.internal.auth;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.client.ClientListener;
import io.tether.client.TetherClient;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Reason;
import io.tether.protocol.auth.DeviceToken;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.TetherServer;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Whoever cannot prove the device's key can neither open a session for it nor take over the real
 * device's session nor store anything in its name.
 */
class AuthenticationIT {
    @TempDir
    Path dir;

    private final InMemoryMessageStore store = new InMemoryMessageStore();
    private final List<SessionClosed> closes = new CopyOnWriteArrayList<>();
    private final List<Reason> deviceDisconnects = new CopyOnWriteArrayList<>();
    private TetherServer server;
    private TetherClient device;
    private final byte[] key = DeviceToken.deviceKey("truck-1", "s3cret");

    @BeforeEach
    void start() throws Exception {
        Path file = dir.resolve("credentials");
        Files.write(file, List.of(CredentialsFile.deviceLine("truck-1", "s3cret")));
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(new TokenAuthenticator(CredentialsFile.load(file), Duration.ofMinutes(5), 10_000))
                .store(store)
                .drain(Duration.ofMillis(200))
                .shutdownTimeout(Duration.ofSeconds(1))
                .listener(new SessionListener() {
                    @Override
                    public void onClose(SessionClosed event) {
                        closes.add(event);
                    }
                })
                .build().start();
        device = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("truck-1").secret("s3cret")
                .listener(new ClientListener() {
                    @Override
                    public void onDisconnected(Reason reason, Throwable causeOrNull) {
                        deviceDisconnects.add(reason);
                    }
                })
                .build();
        device.connect().get(5, TimeUnit.SECONDS);
        assertThat(device.send("real".getBytes()).get(5, TimeUnit.SECONDS)).isEqualTo(1);
    }

    @AfterEach
    void stop() {
        device.close();
        server.close();
    }

    /** An attacker's HELLO followed at once by DATA; returns the reason of the BYE it gets. */
    private Reason attack(byte[] credential) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 2_000);
            s.setSoTimeout(5_000);
            ByteBuf out = Unpooled.buffer();
            FrameCodec.encode(new Frame.Hello(0, 0, "truck-1", credential), out);
            FrameCodec.encode(new Frame.Data(2, "forged".getBytes()), out);
            byte[] bytes = new byte[out.readableBytes()];
            out.readBytes(bytes);
            out.release();
            s.getOutputStream().write(bytes);
            DataInputStream in = new DataInputStream(s.getInputStream());
            int length = in.readInt();
            byte[] frame = new byte[4 + length];
            in.readFully(frame, 4, length);
            frame[3] = (byte) length;
            frame[2] = (byte) (length >>> 8);
            ByteBuf buf = Unpooled.wrappedBuffer(frame);
            try {
                return ((Frame.Bye) FrameCodec.decode(buf)).reason();
            } finally {
                buf.release();
            }
        }
    }

    private void assertRealDeviceUntouched(long session) throws Exception {
        assertThat(server.registry().lookup("truck-1").epoch()).isEqualTo(session);
        assertThat(device.sessionId()).isEqualTo(session);
        assertThat(deviceDisconnects).isEmpty();
        assertThat(store.messages("truck-1")).extracting(m -> new String(m.payload())).containsExactly("real");
        assertThat(closes).allSatisfy(c -> {
            assertThat(c.reason()).isEqualTo(Reason.AUTH_FAILED);
            assertThat(c.deviceId()).as("never became a session").isNull();
        });
        assertThat(server.meters().find("tether.auth.failures").counters().stream()
                .mapToDouble(io.micrometer.core.instrument.Counter::count).sum()).isEqualTo(closes.size());
    }

    @Test
    void missingCredential_isRefused_realDeviceKeepsItsSession() throws Exception {
        long session = device.sessionId();
        assertThat(attack(new byte[0])).isEqualTo(Reason.AUTH_FAILED);
        await().atMost(3, TimeUnit.SECONDS).until(() -> closes.size() == 1);
        assertThat(closes.get(0).detail()).contains("MALFORMED");
        assertRealDeviceUntouched(session);
    }

    @Test
    void wrongKey_isRefused_realDeviceKeepsItsSession() throws Exception {
        long session = device.sessionId();
        byte[] guessed = DeviceToken.create(DeviceToken.deviceKey("truck-1", "password"), "truck-1",
                System.currentTimeMillis() + 60_000);
        assertThat(attack(guessed)).isEqualTo(Reason.AUTH_FAILED);
        await().atMost(3, TimeUnit.SECONDS).until(() -> closes.size() == 1);
        assertThat(closes.get(0).detail()).contains("BAD_MAC");
        assertRealDeviceUntouched(session);
    }

    @Test
    void expiredToken_isRefused_realDeviceKeepsItsSession() throws Exception {
        long session = device.sessionId();
        assertThat(attack(DeviceToken.create(key, "truck-1", System.currentTimeMillis() - 1_000))).isEqualTo(Reason.AUTH_FAILED);
        await().atMost(3, TimeUnit.SECONDS).until(() -> closes.size() == 1);
        assertThat(closes.get(0).detail()).contains("EXPIRED");
        assertRealDeviceUntouched(session);
    }

    @Test
    void replayedToken_isRefused_realDeviceKeepsItsSession() throws Exception {
        // A token the network saw once (here: used once by a legitimate connection that then
        // left), captured and sent again.
        byte[] captured = DeviceToken.create(key, "truck-1", System.currentTimeMillis() + 60_000);
        TetherClient other = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("truck-1")
                .credential(captured).reconnect(false).build();
        other.connect().get(5, TimeUnit.SECONDS);
        other.close();
        await().atMost(5, TimeUnit.SECONDS).until(() -> !deviceDisconnects.isEmpty());
        // The legitimate takeover above displaced the device; let it come back.
        await().atMost(10, TimeUnit.SECONDS).until(() -> device.isConnected()
                && server.registry().lookup("truck-1") != null && server.registry().lookup("truck-1").epoch() == device.sessionId());
        long session = device.sessionId();
        deviceDisconnects.clear();
        closes.clear();

        assertThat(attack(captured)).isEqualTo(Reason.AUTH_FAILED);
        await().atMost(3, TimeUnit.SECONDS).until(() -> closes.stream().anyMatch(c -> c.reason() == Reason.AUTH_FAILED));
        assertThat(closes).filteredOn(c -> c.reason() == Reason.AUTH_FAILED).singleElement()
                .satisfies(c -> assertThat(c.detail()).contains("REPLAYED"));
        assertThat(server.registry().lookup("truck-1").epoch()).isEqualTo(session);
        assertThat(deviceDisconnects).isEmpty();
        assertThat(store.messages("truck-1")).extracting(m -> new String(m.payload())).containsExactly("real");
    }
}
