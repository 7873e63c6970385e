package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.testkit.fault.DelayProxy;
import io.tether.testkit.fault.NamespaceProcess;
import io.tether.testkit.fault.NetworkLab;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

import static io.tether.cli.fault.FaultRig.awaitEvents;
import static io.tether.cli.fault.FaultRig.events;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The other half of liveness: a slow path must not be taken for a dead peer. Heartbeat 250 ms ×
 * 3 gives a timeout of 750 ms, so a heartbeat may arrive up to 500 ms (the tolerance) later than
 * its interval. The uplink delay changes between 0 and 400 ms (80 % of the tolerance) from one
 * heartbeat to the next, so consecutive PINGs arrive up to 650 ms apart, and so do the PONGs the
 * devices wait for. Over 200 heartbeats per device (50 s), neither side may close anything.
 *
 * <p>Why × 3 and not the default 1.5: the 20 % of the tolerance left over must absorb the host's
 * own noise (three JVMs' timers, GC, CPU shared with whatever else runs). At 250 ms × 1.5 that is
 * 25 ms; on this 2-core machine at load 5 to 9 from parallel builds, stalls of 25 ms (and once
 * 85 ms: every device's PING left 285 ms after the one before instead of 250) were observed and
 * timed out every device at once. That is a property of the test host, not of the gateway; the
 * ratio is what the test is about. × 3 leaves 100 ms for the host, and the children run at
 * {@code nice -10}.
 */
class DelayIT extends FaultTestBase {
    private static final int DEVICES = 4;
    private static final int HEARTBEAT_MS = 250;
    private static final String MULTIPLIER = "3";
    private static final int TIMEOUT_MS = 750;
    private static final int DELAY_MS = 400; // 80 % of TIMEOUT_MS - HEARTBEAT_MS
    private static final int HEARTBEATS = 200;

    /**
     * Kernel delay: netem on the device namespace's link, {@code delay 200ms 200ms} (uniform 0 to
     * 400 ms per packet, uplink), installed once the devices are settled. Skipped, with the reason, where the kernel has no netem.
     */
    @Test
    void delayAt80PercentOfTolerance_netem_noFalseDisconnects() {
        Optional<String> noNetem = NetworkLab.netemUnavailableReason();
        if (noNetem.isPresent()) {
            System.err.println("SKIPPED " + name + ": " + noNetem.get()
                    + " (delayAt80PercentOfTolerance_userspaceDelayProxy_noFalseDisconnects proves the property here)");
        }
        Assumptions.assumeTrue(noNetem.isEmpty(), () -> noNetem.get()
                + "; the userspace-proxy variant of this test covers the property on this machine");
        NamespaceProcess server = rig.startServer("--heartbeat-ms", String.valueOf(HEARTBEAT_MS), "--min-heartbeat-ms", "100",
                "--multiplier", MULTIPLIER);
        NamespaceProcess devices = rig.startDevices("devices", rig.deviceAddresses(DEVICES), "--mode", "sdk",
                "--devices", String.valueOf(DEVICES), "--heartbeat-ms", String.valueOf(HEARTBEAT_MS),
                "--backoff-ms", "200,1000");
        runHeartbeats(server, devices,
                () -> rig.lab.device().delay(Duration.ofMillis(DELAY_MS / 2), Duration.ofMillis(DELAY_MS / 2)));
    }

    /**
     * The same property where the kernel has no netem: a userspace proxy inside the server
     * namespace ({@link DelayProxy}) sits between the devices and the gateway and, once they are
     * settled, holds every third uplink chunk (each a PING) back by 400 ms (order kept, so the next
     * one waits behind it), so every third gap between PINGs at the gateway, and between PONGs at
     * the device, is the worst case: interval + 400 ms = 650 ms of a 750 ms timeout. The proxy delays the byte stream, not packets: TCP's own ACKs are not
     * delayed, which does not matter to heartbeats.
     */
    @Test
    void delayAt80PercentOfTolerance_userspaceDelayProxy_noFalseDisconnects() {
        NamespaceProcess server = rig.startServer("--heartbeat-ms", String.valueOf(HEARTBEAT_MS), "--min-heartbeat-ms", "100",
                "--multiplier", MULTIPLIER);
        rig.awaitListening();
        String address = rig.lab.server().address().getHostAddress();
        NamespaceProcess proxy = rig.startInServerNamespace("delay-proxy", DelayProxy.class.getName(), List.of(
                "--listen", address + ":" + (FaultRig.PORT + 1), "--upstream", address + ":" + FaultRig.PORT,
                "--uplink", "fixed:0", "--downlink", "fixed:0", "--trace"));
        awaitEvents(proxy, "listening", e -> true, 1, Duration.ofSeconds(30));
        NamespaceProcess devices = rig.startDevices("devices", rig.deviceAddresses(DEVICES), "--mode", "sdk",
                "--target", address + ":" + (FaultRig.PORT + 1),
                "--devices", String.valueOf(DEVICES), "--heartbeat-ms", String.valueOf(HEARTBEAT_MS),
                "--backoff-ms", "200,1000");
        runHeartbeats(server, devices, () -> FaultRig.command(proxy, "uplink pattern:" + DELAY_MS + ",0,0", "schedule"));

        JsonNode stats = FaultRig.command(proxy, "stats", "stats");
        List<JsonNode> links = List.copyOf(stats.get("links").findParents("remote")).stream()
                .filter(l -> l.get("open").asBoolean()).toList();
        for (JsonNode l : links) {
            Figures.print(name, "proxy link %s under delay: %d uplink chunks, max delay %.1f ms, longest gap between "
                            + "PINGs at the gateway %.1f ms, between PONGs toward the device %.1f ms (timeout %d ms; "
                            + "host noise on top of interval + delay: %.1f ms)",
                    l.get("remote").asText(), l.get("uplinkChunks").asLong(), l.get("maxUplinkDelayMs").asDouble(),
                    l.get("maxUplinkGapMs").asDouble(), l.get("maxDownlinkGapMs").asDouble(), TIMEOUT_MS,
                    l.get("maxUplinkGapMs").asDouble() - HEARTBEAT_MS - DELAY_MS);
        }
        assertThat(links).as("one open proxied connection per device").hasSize(DEVICES);
        assertThat(links).allSatisfy(l -> {
            assertThat(l.get("maxUplinkDelayMs").asDouble()).as("delay applied").isGreaterThanOrEqualTo(DELAY_MS);
            // The worst case really happened: some gap reached interval + delay (less 10 ms of
            // timer noise), i.e. 80 % of the tolerance was used up.
            assertThat(l.get("maxUplinkGapMs").asDouble()).as("longest gap at the gateway, ms")
                    .isGreaterThanOrEqualTo(HEARTBEAT_MS + DELAY_MS - 10);
        });
    }

    /**
     * Lets the devices connect and settle, turns the delay on, and waits until every device has
     * sent {@value #HEARTBEATS} more PINGs (polled every 2 s, at most 3 × the nominal time),
     * failing at once on any close or disconnect after the delay went on.
     *
     * <p>Settling matters at this tolerance: three freshly started JVMs (device, proxy, gateway)
     * on a loaded 2-core machine take up to a few hundred ms to push their first frames through
     * (class loading, interpreted code), more than the 125 ms a 250 ms heartbeat tolerates even
     * without any delay. Such warm-up reconnects are counted and printed; they are not the
     * property under test, which is about a slow path, not a cold process.
     */
    private void runHeartbeats(NamespaceProcess server, NamespaceProcess devices, Runnable delayOn) {
        awaitEvents(devices, "connected", e -> true, DEVICES, Duration.ofSeconds(20));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            LockSupport.parkNanos(Duration.ofMillis(250).toNanos());
            long lastChange = 0;
            for (JsonNode e : events(devices, "connected", x -> true)) {
                lastChange = Math.max(lastChange, e.get("mono").asLong());
            }
            for (JsonNode e : events(devices, "disconnected", x -> true)) {
                lastChange = Math.max(lastChange, e.get("mono").asLong());
            }
            boolean allUp = stats(devices).stream().allMatch(s -> s.get("connected").asBoolean());
            if (allUp && System.nanoTime() - lastChange > Duration.ofMillis(1500).toNanos()) {
                break;
            }
            assertThat(System.nanoTime()).as("devices settled (all connected, no change for 1.5 s) within 30 s")
                    .isLessThan(deadline);
        }
        int warmupCloses = events(server, "close", e -> true).size();
        int warmupDisconnects = events(devices, "disconnected", e -> true).size();
        int opens = events(server, "open", e -> true).size();
        delayOn.run();
        long start = System.nanoTime();
        List<JsonNode> atStart = stats(devices);
        deadline = start + Duration.ofMillis(3L * HEARTBEATS * HEARTBEAT_MS).toNanos();
        List<JsonNode> stats;
        while (true) {
            LockSupport.parkNanos(Duration.ofSeconds(2).toNanos());
            assertThat(events(server, "close", e -> true)).as("gateway closes under delay (false disconnects)")
                    .hasSize(warmupCloses);
            assertThat(events(devices, "disconnected", e -> true)).as("device disconnects under delay (false disconnects)")
                    .hasSize(warmupDisconnects);
            stats = stats(devices);
            boolean done = true;
            for (int i = 0; i < DEVICES; i++) {
                done &= stats.get(i).get("pingsSent").asLong() - atStart.get(i).get("pingsSent").asLong() >= HEARTBEATS;
            }
            if (done) {
                break;
            }
            assertThat(System.nanoTime()).as("%d heartbeats per device in time: %s", HEARTBEATS, stats).isLessThan(deadline);
        }
        Figures.print(name, "%d devices, %.1f s under delay, heartbeat %d ms, timeout %d ms, uplink delay up to %d ms "
                        + "(80%% of the %d ms tolerance): 0 gateway closes, 0 device disconnects "
                        + "(before the delay, while the JVMs warmed up: %d closes, %d disconnects)",
                DEVICES, (System.nanoTime() - start) / 1e9, HEARTBEAT_MS, TIMEOUT_MS, DELAY_MS, TIMEOUT_MS - HEARTBEAT_MS,
                warmupCloses, warmupDisconnects);
        for (int i = 0; i < DEVICES; i++) {
            JsonNode s = stats.get(i);
            Figures.print(name, "%s: %d PINGs sent under delay (%d in all), %d PONGs received, connects %d, disconnects %d",
                    s.get("device").asText(), s.get("pingsSent").asLong() - atStart.get(i).get("pingsSent").asLong(),
                    s.get("pingsSent").asLong(), s.get("pongsReceived").asLong(),
                    s.get("connects").asLong(), s.get("disconnects").asLong());
            assertThat(s.get("connects").asLong()).as("connects of %s under delay", s.get("device").asText())
                    .isEqualTo(atStart.get(i).get("connects").asLong());
            assertThat(s.get("connected").asBoolean()).isTrue();
        }
        assertThat(events(server, "open", e -> true)).as("sessions opened under delay").hasSize(opens);
    }

    /** One {@code stats} line per device, in device order. */
    private static List<JsonNode> stats(NamespaceProcess devices) {
        int before = devices.lines(FaultRig.isEvent("stats")).size();
        devices.send("stats");
        return awaitEvents(devices, "stats", e -> true, before + DEVICES, Duration.ofSeconds(5))
                .subList(before, before + DEVICES);
    }
}
