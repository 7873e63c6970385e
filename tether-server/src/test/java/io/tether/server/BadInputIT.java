package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Malformed input closes the one offending connection with a reason; nobody else notices. */
class BadInputIT {
    private static final byte[] HUGE_LENGTH = {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};

    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    private Reason reasonAfter(byte[] input) throws Exception {
        int before = fixture.closes.size();
        try (RawDevice bad = new RawDevice(fixture.port())) {
            bad.sendRaw(input);
            Frame f = bad.read();
            assertThat(f).isInstanceOf(Frame.Bye.class);
            assertThat(bad.awaitEnd()).isTrue();
        }
        await().atMost(3, TimeUnit.SECONDS).until(() -> fixture.closes.size() > before);
        return fixture.closes.get(before).event().reason();
    }

    @Test
    void malformedInput_closesOnlyThatConnection_withItsReason() throws Exception {
        fixture.start(b -> b.heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1)).drain(Duration.ofMillis(100)));
        List<RawDevice> good = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            RawDevice d = new RawDevice(fixture.port());
            d.hello("good-" + i, 0);
            good.add(d);
        }

        assertThat(reasonAfter(HUGE_LENGTH)).isEqualTo(Reason.FRAME_TOO_LARGE);
        assertThat(reasonAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo(Reason.FRAME_TOO_LARGE);
        assertThat(reasonAfter(new byte[] {0, 0, 0, 2, 9, 1})).isEqualTo(Reason.UNSUPPORTED_VERSION);
        assertThat(reasonAfter(new byte[] {0, 0, 0, 2, 1, 0x7F})).isEqualTo(Reason.PROTOCOL_ERROR);
        assertThat(reasonAfter(new byte[] {0, 0, 0, 2, 1, 3})).as("PING before HELLO").isEqualTo(Reason.PROTOCOL_ERROR);
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            byte[] garbage = new byte[64];
            random.nextBytes(garbage);
            garbage[4] = 1; // past the version check, into the body decoders
            garbage[0] = 0;
            garbage[1] = 0;
            garbage[2] = 0;
            garbage[3] = 60;
            assertThat(reasonAfter(garbage)).isIn(Reason.PROTOCOL_ERROR, Reason.FRAME_TOO_LARGE);
        }

        // The good devices never noticed.
        for (RawDevice d : good) {
            d.send(Frame.Ping.INSTANCE);
            assertThat(d.read()).isEqualTo(Frame.Pong.INSTANCE);
            d.close();
        }
        assertThat(fixture.closes.stream().filter(c -> c.event().deviceId() != null)
                .map(c -> c.event().reason())).containsOnly(Reason.PEER_CLOSED);
    }

    @Test
    void unauthenticatedFirstFrameLongerThanAnyHello_isRefusedFromItsHeader_beforeTheBodyIsBuffered() throws Exception {
        fixture.start(b -> b.drain(Duration.ofMillis(100)));
        // A first frame announcing 60,000 bytes (below the 64 KiB frame limit, far above the
        // largest HELLO): refused from its 4-byte length alone, so nobody can make the gateway
        // hold 64 KiB per connection before authenticating (issue 11, item 6).
        byte[] header = {0, 0, (byte) 0xEA, 0x60, 1, 1};
        try (RawDevice bad = new RawDevice(fixture.port())) {
            bad.sendRaw(header);
            Frame f = bad.read();
            assertThat(f).isInstanceOf(Frame.Bye.class);
            assertThat(((Frame.Bye) f).reason()).isEqualTo(Reason.FRAME_TOO_LARGE);
        }
        // DATA as the first frame: refused from its type byte, before its 1,000-byte body arrives.
        try (RawDevice bad = new RawDevice(fixture.port())) {
            bad.sendRaw(new byte[] {0, 0, 0x03, (byte) 0xF2, 1, 5});
            Frame f = bad.read();
            assertThat(f).isInstanceOf(Frame.Bye.class);
            assertThat(((Frame.Bye) f).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
        }
    }

    @Test
    void thousandsOfHugeLengthPrefixes_doNotGrowTheHeap() throws Exception {
        fixture.start(b -> b.drain(Duration.ZERO));
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 200; i++) { // warm up: pools, classes, JIT
            try (RawDevice bad = new RawDevice(fixture.port())) {
                bad.sendRaw(HUGE_LENGTH);
                bad.awaitEnd();
            }
        }
        long before = usedHeapAfterGc(memory);
        for (int i = 0; i < 2_000; i++) {
            try (RawDevice bad = new RawDevice(fixture.port())) {
                bad.sendRaw(HUGE_LENGTH);
                bad.awaitEnd();
            }
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> fixture.server.connectionCount() == 0);
        long after = usedHeapAfterGc(memory);
        assertThat(fixture.closesOf(Reason.FRAME_TOO_LARGE)).hasSize(2_200);
        System.out.printf("2,200 x 0x7FFFFFFF prefixes: heap after GC %d -> %d bytes (growth %d)%n", before, after, after - before);
        // Had any connection allocated its announced 2 GiB, or kept anything, this would show.
        assertThat(after - before).as("heap growth in bytes").isLessThan(8L * 1024 * 1024);
    }

    private static long usedHeapAfterGc(MemoryMXBean memory) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
