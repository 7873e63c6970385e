package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.testkit.fault.NamespaceProcess;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

import static io.tether.cli.fault.FaultRig.awaitEvents;
import static io.tether.cli.fault.FaultRig.events;
import static io.tether.cli.fault.FaultRig.ms;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A device that stops reading while the gateway keeps sending to it: its receive window closes,
 * the kernel's send buffer fills, and what the application still sends would pile up in the
 * gateway's heap. The write buffer limit must cut that device off (SLOW_CONSUMER), and only it.
 */
class SlowConsumerIT extends FaultTestBase {
    private static final int MIB = 1024 * 1024;

    /**
     * Write buffer limit 64 KiB. Two devices get the same downlink flood (4 KiB every 2 ms, about
     * 2 MB/s): one has stopped reading (4 KiB receive buffer), the other reads. The stalled one is
     * closed with SLOW_CONSUMER; the reading one stays; the gateway's heap after GC is where it
     * was before the flood (within 4 MiB), although the flood offered far more than that.
     */
    @Test
    void deviceThatStopsReading_isClosedAsSlowConsumer_heapStaysFlat() {
        int limit = 64 * 1024;
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "1000", "--write-buffer-limit", String.valueOf(limit));
        List<InetAddress> addresses = rig.deviceAddresses(2);
        NamespaceProcess stalled = rig.startDevices("stalled", List.of(addresses.get(0)), "--mode", "raw",
                "--id-prefix", "stalled-", "--heartbeat-ms", "1000", "--no-read", "--rcvbuf", "4096");
        NamespaceProcess reader = rig.startDevices("reader", List.of(addresses.get(1)), "--mode", "raw",
                "--id-prefix", "reader-", "--heartbeat-ms", "1000");
        awaitEvents(stalled, "connected", e -> true, 1, Duration.ofSeconds(20));
        awaitEvents(reader, "connected", e -> true, 1, Duration.ofSeconds(20));
        rig.heap(); // warm the command path up, so its own allocations are not counted
        JsonNode before = rig.heap();

        server.send("flood stalled-0 4096 2");
        server.send("flood reader-0 4096 2");
        JsonNode close = awaitEvents(server, "close", e -> true, 1, Duration.ofSeconds(15)).get(0);
        JsonNode floodEnd = awaitEvents(server, "flood-end", e -> e.get("device").asText().equals("stalled-0"), 1,
                Duration.ofSeconds(5)).get(0);
        JsonNode start = events(server, "flood-start", e -> true).get(0);
        JsonNode after = rig.heap();
        JsonNode audit = rig.audit();
        List<JsonNode> readerCloses = events(server, "close", e -> e.get("device").asText().equals("reader-0"));

        long heapBefore = before.get("heapUsedBytes").asLong();
        long heapAfter = after.get("heapUsedBytes").asLong();
        Figures.print(name, "%s closed %s after %.0f ms of flood, %d bytes offered to it; heap after GC %.2f -> %.2f MiB "
                        + "(delta %+.2f MiB); Netty direct (allocator) %.2f MiB before, peak during the flood %.2f MiB, "
                        + "%.2f MiB after; reader still open: %s",
                close.get("device").asText(), close.get("reason").asText(),
                ms(close.get("mono").asLong() - start.get("mono").asLong()), floodEnd.get("bytes").asLong(),
                heapBefore / (double) MIB, heapAfter / (double) MIB, (heapAfter - heapBefore) / (double) MIB,
                before.path("allocatorDirectBytes").asLong() / (double) MIB,
                floodEnd.path("peakAllocatorDirectBytes").asLong() / (double) MIB,
                after.path("allocatorDirectBytes").asLong() / (double) MIB, readerCloses.isEmpty());
        assertThat(close.get("device").asText()).isEqualTo("stalled-0");
        assertThat(close.get("reason").asText()).isEqualTo("SLOW_CONSUMER");
        assertThat(floodEnd.get("bytes").asLong()).as("bytes offered to the stalled device").isGreaterThan(limit);
        assertThat(readerCloses).as("the device that reads is not cut off").isEmpty();
        assertThat(audit.get("registry").asInt()).isEqualTo(1);
        assertThat(heapAfter - heapBefore).as("heap growth after GC, bytes").isLessThan(4L * MIB);
    }
}
