package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.testkit.fault.Fault;
import io.tether.testkit.fault.Match;
import io.tether.testkit.fault.NamespaceProcess;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import static io.tether.cli.fault.FaultRig.awaitEvents;
import static io.tether.cli.fault.FaultRig.ms;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The other side of the drop: the gateway's host loses power (every packet in and out of the
 * server namespace dropped), and SDK devices must notice within the bound the SDK documents, in
 * normal mode (silence) and in quiet mode (TCP_USER_TIMEOUT on the device socket).
 */
class DeadServerIT extends FaultTestBase {
    private static final int DEVICES = 3;

    /**
     * Normal mode, heartbeat 1 s, timeout 1.5 s: the SDK aborts with HEARTBEAT_TIMEOUT when nothing
     * came for timeout_ms. The last PONG came at most one interval before the drop, so detection
     * is between timeout − interval and timeout after it; 250 ms of slack on top.
     */
    @Test
    void deadServer_normalMode_deviceDetectsSilenceWithinTimeout() {
        int intervalMs = 1000;
        int timeoutMs = 1500;
        rig.startServer("--heartbeat-ms", String.valueOf(intervalMs), "--multiplier", "1.5");
        NamespaceProcess devices = startDevices();

        Fault serverPowerLoss = rig.lab.server().blackhole(Match.all());
        List<JsonNode> lost = awaitEvents(devices, "disconnected", e -> true, DEVICES, Duration.ofSeconds(10));

        Figures.print(name, "bound drop -> detection <= timeout %d + 250 ms", timeoutMs);
        for (JsonNode d : lost) {
            double since = ms(d.get("mono").asLong() - serverPowerLoss.startedNanos());
            Figures.print(name, "%s: %s after %.1f ms (%s)", d.get("device").asText(), d.get("reason").asText(), since,
                    d.get("cause").asText());
            assertThat(d.get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
            assertThat(since).as("drop -> detection, ms").isLessThanOrEqualTo(timeoutMs + 250);
            assertThat(ms(d.get("mono").asLong() - serverPowerLoss.activeNanos())).as("drop -> detection, ms")
                    .isGreaterThanOrEqualTo(timeoutMs - intervalMs - 50);
        }
    }

    /**
     * Quiet mode, heartbeat 1 s: the server never answers a PING, so the SDK sets TCP_USER_TIMEOUT
     * = timeout_ms (1.5 s) on its socket. The first PING after the drop (within one interval) is
     * never acknowledged and the kernel fails the socket with ETIMEDOUT a user timeout later.
     * Documented bound: heartbeat interval + user timeout; 1 s of slack on top (the kernel's
     * retransmission timer, the event loop). Detection cannot come before one user timeout.
     */
    @Test
    void deadServer_quietMode_deviceDetectsByUserTimeout() {
        int intervalMs = 1000;
        int userTimeoutMs = 1500;
        rig.startServer("--heartbeat-ms", String.valueOf(intervalMs), "--multiplier", "1.5", "--quiet");
        NamespaceProcess devices = startDevices();
        assertThat(FaultRig.events(devices, "connected", e -> true))
                .allSatisfy(c -> assertThat(c.get("quiet").asBoolean()).as("WELCOME quiet flag").isTrue());

        Fault serverPowerLoss = rig.lab.server().blackhole(Match.all());
        List<JsonNode> lost = awaitEvents(devices, "disconnected", e -> true, DEVICES, Duration.ofSeconds(10));

        int bound = intervalMs + userTimeoutMs + 1000;
        Figures.print(name, "bound drop -> detection <= interval %d + user timeout %d + 1000 ms = %d ms",
                intervalMs, userTimeoutMs, bound);
        for (JsonNode d : lost) {
            double since = ms(d.get("mono").asLong() - serverPowerLoss.startedNanos());
            Figures.print(name, "%s: %s after %.1f ms (%s)", d.get("device").asText(), d.get("reason").asText(), since,
                    d.get("cause").asText());
            assertThat(d.get("reason").asText()).isEqualTo("KEEPALIVE_TIMEOUT");
            assertThat(since).as("drop -> detection, ms").isLessThanOrEqualTo(bound);
            assertThat(ms(d.get("mono").asLong() - serverPowerLoss.activeNanos())).as("drop -> detection, ms")
                    .isGreaterThanOrEqualTo(userTimeoutMs - 50);
        }
    }

    /** SDK devices asking for a 1 s heartbeat, connected and through a few heartbeats. */
    private NamespaceProcess startDevices() {
        NamespaceProcess devices = rig.startDevices("devices", rig.deviceAddresses(DEVICES), "--mode", "sdk",
                "--devices", String.valueOf(DEVICES), "--heartbeat-ms", "1000", "--backoff-ms", "200,1000");
        List<JsonNode> connected = awaitEvents(devices, "connected", e -> true, DEVICES, Duration.ofSeconds(20));
        assertThat(connected).allSatisfy(c -> assertThat(c.get("timeoutMs").asInt()).isEqualTo(1500));
        awaitHeartbeats(devices, 2);
        return devices;
    }

    /** Steady state: every device has sent {@code pings} PINGs since its WELCOME (polled, 10 s at most). */
    private static void awaitHeartbeats(NamespaceProcess devices, int pings) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            int before = devices.lines(FaultRig.isEvent("stats")).size();
            devices.send("stats");
            List<JsonNode> stats = awaitEvents(devices, "stats", e -> true, before + DEVICES, Duration.ofSeconds(5))
                    .subList(before, before + DEVICES);
            if (stats.stream().allMatch(s -> s.get("pingsSent").asLong() >= pings)) {
                return;
            }
            assertThat(System.nanoTime()).as("devices through %d heartbeats within 10 s: %s", pings, stats)
                    .isLessThan(deadline);
            LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
        }
    }
}
