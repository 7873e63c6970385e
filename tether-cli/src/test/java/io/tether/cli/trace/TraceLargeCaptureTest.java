package io.tether.cli.trace;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.tether.cli.trace.TcpSegment.ACK;
import static io.tether.cli.trace.TcpSegment.FIN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A capture far larger than the heap that reads it: about 320 MB (some 2.5 million packets:
 * 30,000 short connections one after another, and one connection that lasts the whole capture)
 * read by a JVM limited to {@value #XMX_MB} MB. If anything grew with the file — packets, frames,
 * finished connections, a long connection's story — the child would run out of memory.
 */
class TraceLargeCaptureTest {
    static final int XMX_MB = 48;
    static final int SHORT_CONNECTIONS = 30_000;
    static final int PINGS = 36; // per short connection: 3 handshake + 2 + 2 × 36 + 4 closing = 81 packets

    @TempDir
    Path dir;

    @Test
    void captureOfHundredsOfMegabytes_isStreamedInASmallHeap() throws Exception {
        Path file = dir.resolve("big.pcap");
        long startGen = System.nanoTime();
        long packets = write(file);
        long size = Files.size(file);
        System.out.printf("wrote %s: %d MB, %d packets in %d ms%n", file, size >> 20, packets,
                (System.nanoTime() - startGen) / 1_000_000);
        assertThat(size).isGreaterThan(300L << 20);

        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + XMX_MB + "m",
                "-XX:+UseSerialGC", "-cp", cp, TraceHeapMain.class.getName(), file.toString(), "7400")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("analysis done within 5 minutes").isTrue();
        System.out.println("child: " + out);
        assertThat(p.exitValue()).as("child exit (output: %s)", out).isZero();
        String[] f = out.lines().reduce((a, b) -> b).orElseThrow().split(" ");
        long readPackets = Long.parseLong(f[0]);
        long ms = Long.parseLong(f[3]);
        long peak = Long.parseLong(f[4]);
        long cpuMs = Long.parseLong(f[5]);
        System.out.printf("read %d packets, %d connections in %d ms (%.2f M packets/s; %d ms of the thread's CPU: %.2f M packets"
                        + " per CPU-second), peak heap %d MB with -Xmx%dm%n", readPackets, Long.parseLong(f[1]), ms,
                readPackets / 1000.0 / Math.max(1, ms), cpuMs, readPackets / 1000.0 / Math.max(1, cpuMs), peak >> 20, XMX_MB);
        assertThat(readPackets).isEqualTo(packets);
        assertThat(Long.parseLong(f[1])).as("connections").isEqualTo(SHORT_CONNECTIONS + 1);
        assertThat(peak).as("peak heap").isLessThan((long) XMX_MB << 20);
    }

    /** Short connections one after another, 100 µs per packet, and a long one with a PING every 64 packets. */
    static long write(Path file) {
        byte[] dev = {10, 1, 0, 2};
        byte[] srv = {10, 1, 0, 1};
        byte[] longDev = {10, 1, 0, 3};
        long t = TraceAnalyzerTest.T0;
        long step = 100_000L;
        try (SyntheticCapture cap = new SyntheticCapture(file, SyntheticCapture.Format.PCAP_LE_US, TcpSegment.LINKTYPE_ETHERNET)) {
            SyntheticCapture.Flow lng = cap.flow(longDev, 50000, srv, 7400, t).handshake();
            lng.device(new Frame.Hello(1000, 0, "long-lived", new byte[0]));
            lng.server(new Frame.Welcome(1, 1000, 1500, 0, 65536, 0));
            byte[] payload = new byte[120];
            for (int i = 0; i < SHORT_CONNECTIONS; i++) {
                SyntheticCapture.Flow f = cap.flow(dev, 1024 + i % 60000, srv, 7400, t).handshake();
                f.after(step).device(new Frame.Hello(1000, 0, "dev-" + i, new byte[0]));
                f.after(step).server(new Frame.Welcome(1000 + i, 1000, 1500, 0, 65536, 0));
                for (int k = 0; k < PINGS; k++) {
                    f.after(step).device(new Frame.Data(k + 1, payload));
                    f.after(step).server(new Frame.Ack(k + 1));
                }
                f.after(step).device(new Frame.Bye(Reason.NORMAL));
                f.after(step).fromDevice(ACK | FIN, new byte[0]);
                f.after(step).fromServer(ACK | FIN, new byte[0]);
                f.after(step).fromDevice(ACK, new byte[0]);
                t = f.now + step;
                lng.at(t).device(Frame.Ping.INSTANCE);
                lng.after(step / 2).server(Frame.Pong.INSTANCE);
            }
            return cap.packets;
        }
    }
}
