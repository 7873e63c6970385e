package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Per-device limits on real sockets: a flooding device is slowed to its rate and loses nothing;
 * a device that sends but never reads is closed as SLOW_CONSUMER within the write-stall bound.
 */
class DeviceLimitsIT {
    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    @Test
    void floodingDevice_isSlowedToItsMessageRate_andLosesNothing() throws Exception {
        int rate = 100;
        int messages = 400;
        byte[] payload = new byte[1000];
        InMemoryMessageStore store = new InMemoryMessageStore();
        fixture.start(b -> b.store(store).deviceMessageRate(rate).deviceByteRate(0));
        try (RawDevice device = new RawDevice(fixture.port())) {
            device.hello("flood-1", 0);
            long start = System.nanoTime();
            // Written as fast as the socket takes them; the server reads them at its pace.
            for (int seq = 1; seq <= messages; seq++) {
                device.send(new Frame.Data(seq, payload));
            }
            long acked = 0;
            while (acked < messages) {
                Frame f = device.read();
                assertThat(f).as("frame after ACK %d", acked).isInstanceOf(Frame.Ack.class);
                acked = ((Frame.Ack) f).seq();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            // One second's worth goes at once (the burst), the rest at the rate. Frames decoded from
            // the read that crossed the limit are kept: at most one read (64 KiB, 64 of these) more.
            double expected = (double) (messages - rate - 64) / rate;
            System.out.printf("%d messages at a limit of %d/s: all acknowledged after %.2f s (expected >= %.2f s), "
                    + "%d stored%n", messages, rate, seconds, expected, store.messages("flood-1").size());
            assertThat(seconds).as("slowed to the rate (10%% slack)").isGreaterThanOrEqualTo(expected * 0.9);
            assertThat(seconds).as("but not stopped").isLessThan(expected + 3);
            assertThat(store.messages("flood-1")).hasSize(messages);
            assertThat(store.lastSeq("flood-1")).isEqualTo(messages);
            assertThat(fixture.closes).isEmpty();
            assertThat(fixture.server.meters().counter("tether.devices.throttled").count()).as("pauses counted").isPositive();
        }
    }

    @Test
    void deviceThatSendsButNeverReads_isClosedSlowConsumer_withinTheWriteStallBound() throws Exception {
        Duration stall = Duration.ofSeconds(1);
        // Rates off, so that the device's pace alone decides how fast ACKs pile up; a write
        // buffer too large to fill in this test, so that the stall bound is what closes it.
        fixture.start(b -> b.deviceLimits(DeviceLimits.OFF).writeStallTimeout(stall).writeBufferLimit(64 * 1024 * 1024));
        try (Socket s = new Socket()) {
            // A small receive buffer: the device's window closes after a few KB of ACKs.
            s.setReceiveBufferSize(4096);
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress("127.0.0.1", fixture.port()), 5_000);
            RawDeviceFrames.write(s, new Frame.Hello(0, 0, "deaf-1", new byte[0]));
            // The WELCOME is the last thing this device reads; it stays in its receive buffer.
            AtomicLong sent = new AtomicLong();
            long start = System.nanoTime();
            Thread sender = new Thread(() -> {
                try {
                    for (long seq = 1; ; seq++) {
                        RawDeviceFrames.write(s, new Frame.Data(seq, new byte[16]));
                        sent.set(seq);
                        // Paced like a busy device (~5,000 messages/s), so most reads hold one
                        // message and get an ACK of their own: the ACKs are what it never reads.
                        LockSupport.parkNanos(200_000);
                    }
                } catch (IOException e) {
                    // the server closed the connection
                }
            }, "deaf-sender");
            sender.setDaemon(true);
            sender.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> !fixture.closes.isEmpty());
            SessionClosed close = fixture.closes.get(0).event();
            double seconds = (fixture.closes.get(0).nanos() - start) / 1e9;
            System.out.printf("device that never reads: closed %s after %.2f s, %d DATA sent; %s%n",
                    close.reason(), seconds, sent.get(), close.detail());
            assertThat(close.reason()).isEqualTo(Reason.SLOW_CONSUMER);
            assertThat(close.detail()).contains("write-stall-timeout");
            // The window closes after ~4 KB of ACKs and the kernel keeps 16 KiB unsent: a second or
            // two at this pace, then the bound, then at most one more bound until the check.
            assertThat(seconds).isLessThan(3 + 2 * stall.toSeconds() + 2);
            sender.join(5_000);
            assertThat(sender.isAlive()).as("the device's writes fail once it is closed").isFalse();
        }
    }
}
