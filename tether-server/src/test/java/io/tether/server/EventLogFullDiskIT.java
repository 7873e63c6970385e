package io.tether.server;

import io.tether.testkit.fault.LoopFilesystem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.protocol.Frame;
import io.tether.server.internal.events.JsonEventLog;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --events FILE} on a full filesystem, for real: a 2 MiB ext4 image, loop-mounted, filled
 * to the last block. The gateway must keep serving (handshakes, ACKs), count what the event log
 * could not write, and write again once space is freed. Needs root, mkfs.ext4 and loop devices;
 * skipped otherwise.
 */
class EventLogFullDiskIT {
    @TempDir
    Path dir;
    private LoopFilesystem disk;
    private Path mountPoint;
    private TetherServer server;
    private JsonEventLog events;

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        if (events != null) {
            events.close();
        }
        if (disk != null) {
            disk.close();
        }
    }

    @Test
    void fullFilesystem_gatewayKeepsServing_dropsAreCounted_andTheLogResumesWhenSpaceIsFreed() throws Exception {
        try {
            disk = LoopFilesystem.mount(dir, "2M");
        } catch (LoopFilesystem.Unavailable e) {
            Assumptions.abort(e.getMessage());
        }
        mountPoint = disk.root();
        Path log = mountPoint.resolve("events.jsonl");
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        events = new JsonEventLog(new FileOutputStream(log.toFile(), true), true, meters);
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(2))
                .meters(meters)
                .listener(events)
                .build()
                .start();

        connectSendAndLeave("before-full");
        await().atMost(Duration.ofSeconds(5)).until(() -> read(log).contains("before-full"));

        List<Path> fillers = disk.fill();
        for (int i = 0; i < 40; i++) {
            connectSendAndLeave("while-full-" + i); // asserts WELCOME and ACK: the gateway serves
        }
        // 80 events (an open and a close each); all but what a torn write squeezed in are lost.
        await().atMost(Duration.ofSeconds(10)).until(() -> events.dropped() >= 40);
        assertThat(meters.get(JsonEventLog.DROPPED_METER).counter().count()).isEqualTo((double) events.dropped());
        assertThat(read(log)).doesNotContain("\"device\":\"while-full-39\"");

        for (Path filler : fillers) {
            Files.delete(filler);
        }
        // The writer retries once a second; allow a few rounds on a loaded host.
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() -> {
            connectSendAndLeave("after-free");
            return read(log).contains("\"device\":\"after-free\"");
        });
        // No torn line from the failed writes: every line is one whole JSON object.
        assertThat(read(log).lines()).allSatisfy(line -> assertThat(line).startsWith("{\"ts\":").endsWith("}"));
        System.out.printf("EventLogFullDiskIT: 2 MiB ext4 full: 40 devices got WELCOME and ACK, %d events dropped"
                + " (tether.events.dropped %.0f); space freed: logging resumed, %d whole lines in the log%n",
                events.dropped(), meters.get(JsonEventLog.DROPPED_METER).counter().count(), read(log).lines().count());
    }

    /** One device's life: handshake, one DATA acknowledged, FIN. */
    private void connectSendAndLeave(String device) throws IOException {
        try (RawDevice d = new RawDevice(server.port())) {
            d.hello(device, 30_000);
            d.send(new Frame.Data(1, device.getBytes(StandardCharsets.US_ASCII)));
            Frame f;
            do {
                f = d.read();
            } while (f != null && !(f instanceof Frame.Ack));
            assertThat(f).as("ACK for " + device).isEqualTo(new Frame.Ack(1));
        }
    }

    private static String read(Path log) throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }
}
