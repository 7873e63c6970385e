package io.tether.server.internal.admission;

import io.tether.client.ClientListener;
import io.tether.client.TetherClient;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Reason;
import io.tether.server.Flapping;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.TetherServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class AdmissionIT {
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<SessionClosed> closes = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private TetherServer start(TetherServer.Builder b) {
        TetherServer s = b.bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1))
                .shutdownTimeout(Duration.ofSeconds(1))
                .listener(new SessionListener() {
                    @Override
                    public void onClose(SessionClosed event) {
                        closes.add(event);
                    }
                })
                .build().start();
        resources.add(s);
        return s;
    }

    /** Connects from {@code source}, reads the first frame (or null if the stream ends first), closes. */
    private static Frame knock(InetAddress source, int port, Frame send) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0); // no TIME_WAIT pile-up on the client side across 20,000 attempts
            s.bind(new InetSocketAddress(source, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout(5_000);
            if (send != null) {
                ByteBuf buf = Unpooled.buffer();
                FrameCodec.encode(send, buf);
                byte[] bytes = new byte[buf.readableBytes()];
                buf.readBytes(bytes);
                buf.release();
                s.getOutputStream().write(bytes);
            }
            DataInputStream in = new DataInputStream(s.getInputStream());
            int length = in.readInt();
            byte[] frame = new byte[4 + length];
            in.readFully(frame, 4, length);
            ByteBuf buf = Unpooled.wrappedBuffer(frame);
            buf.setInt(0, length);
            try {
                return FrameCodec.decode(buf);
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void floodBeyondMaxConnections_isRefused_whileExistingSessionsKeepHeartbeating() throws Exception {
        TetherServer server = start(TetherServer.builder().maxConnections(60));
        AtomicInteger disconnects = new AtomicInteger();
        List<TetherClient> devices = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            TetherClient c = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("dev-" + i)
                    .heartbeat(Duration.ofSeconds(1))
                    .listener(new ClientListener() {
                        @Override
                        public void onDisconnected(Reason reason, Throwable causeOrNull) {
                            disconnects.incrementAndGet();
                        }
                    }).build();
            resources.add(c);
            devices.add(c);
            c.connect().get(5, TimeUnit.SECONDS);
        }
        // Fill the remaining 10 slots with connections that never say HELLO.
        List<Socket> idle = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Socket s = new Socket("127.0.0.1", server.port());
            idle.add(s);
            resources.add(s);
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.connectionCount() == 60);
        long pongsBefore = devices.stream().mapToLong(d -> d.stats().pongsReceived()).sum();
        long start = System.nanoTime();

        int attempts = 20_000;
        int busy = 0;
        InetAddress[] sources = {InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.3"),
                InetAddress.getByName("127.0.0.4"), InetAddress.getByName("127.0.0.5")};
        for (int i = 0; i < attempts; i++) {
            Frame f;
            try {
                f = knock(sources[i % sources.length], server.port(), null);
            } catch (java.net.SocketTimeoutException e) {
                f = null; // admitted instead of refused: counted below as not busy
            }
            if (f instanceof Frame.Bye bye && bye.reason() == Reason.SERVER_BUSY) {
                busy++;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long pongsAfter = devices.stream().mapToLong(d -> d.stats().pongsReceived()).sum();
        System.out.printf("flood: %d attempts in %.1f s, %d refused with SERVER_BUSY; 50 sessions got %d PONGs meanwhile, "
                + "%d disconnects%n", attempts, seconds, busy, pongsAfter - pongsBefore, disconnects.get());

        assertThat(busy).isEqualTo(attempts);
        assertThat(disconnects.get()).isZero();
        assertThat(devices).allSatisfy(d -> assertThat(d.isConnected()).isTrue());
        assertThat(server.registry().size()).isEqualTo(50);
        // Every session kept heartbeating through the flood: ~1 PONG per second each.
        assertThat(pongsAfter - pongsBefore).isGreaterThan((long) (50 * (seconds - 1) * 0.5));
        // Still responsive: once a slot frees, a new device gets in.
        idle.get(0).close();
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.connectionCount() < 60);
        TetherClient late = TetherClient.builder().target("127.0.0.1", server.port()).deviceId("late").build();
        resources.add(late);
        late.connect().get(5, TimeUnit.SECONDS);
        assertThat(server.meters().counter("tether.connections.refused", "cause", "MAX_CONNECTIONS").count())
                .isEqualTo(attempts);
    }

    @Test
    void flappingDevice_isRefused_thenReadmittedAfterTheBan() throws Exception {
        TetherServer server = start(TetherServer.builder().flapping(
                Flapping.DEFAULT.withMaxConnects(3).withWindow(Duration.ofSeconds(10)).withBan(Duration.ofMillis(1500))));
        InetAddress lo = InetAddress.getLoopbackAddress();
        Frame.Hello hello = new Frame.Hello(0, 0, "flappy", new byte[0]);
        for (int i = 0; i < 3; i++) {
            assertThat(knock(lo, server.port(), hello)).isInstanceOf(Frame.Welcome.class);
        }
        long bannedAt = System.nanoTime();
        Frame refused = knock(lo, server.port(), hello);
        assertThat(refused).isInstanceOf(Frame.Bye.class);
        Frame.Bye bye = (Frame.Bye) refused;
        assertThat(bye.reason()).isEqualTo(Reason.FLAPPING);
        assertThat(bye.reconnectAfterMillis()).isBetween(1_000, 1_500);
        assertThat(((Frame.Bye) knock(lo, server.port(), hello)).reason()).isEqualTo(Reason.FLAPPING);
        assertThat(knock(lo, server.port(), new Frame.Hello(0, 0, "steady", new byte[0])))
                .as("other devices are not affected").isInstanceOf(Frame.Welcome.class);

        await().atMost(5, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
                .until(() -> knock(lo, server.port(), hello) instanceof Frame.Welcome);
        long readmittedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bannedAt);
        System.out.println("flapping device readmitted " + readmittedAfter + " ms after its ban began (ban 1500 ms)");
        assertThat(readmittedAfter).isGreaterThanOrEqualTo(1_400);
        assertThat(closes.stream().filter(c -> c.reason() == Reason.FLAPPING).count()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void rateLimit_refusesAFastSource_butNotAnother() throws Exception {
        TetherServer server = start(TetherServer.builder().connectRate(1, 5));
        InetAddress fast = InetAddress.getByName("127.0.0.6");
        InetAddress other = InetAddress.getByName("127.0.0.7");
        Frame.Hello hello = new Frame.Hello(0, 0, "x", new byte[0]);
        int welcomed = 0;
        int busy = 0;
        for (int i = 0; i < 20; i++) {
            Frame f = knock(fast, server.port(), new Frame.Hello(0, 0, "fast-" + i, new byte[0]));
            if (f instanceof Frame.Welcome) {
                welcomed++;
            } else if (f instanceof Frame.Bye b && b.reason() == Reason.SERVER_BUSY) {
                busy++;
            }
        }
        assertThat(welcomed).isBetween(5, 7);
        assertThat(busy).isEqualTo(20 - welcomed);
        assertThat(knock(other, server.port(), hello)).isInstanceOf(Frame.Welcome.class);
    }
}
