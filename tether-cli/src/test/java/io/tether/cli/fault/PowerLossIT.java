package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.testkit.fault.Fault;
import io.tether.testkit.fault.Match;
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
 * Devices lose power (every packet to and from them dropped by iptables in their namespace: no
 * FIN, no RST, ever) and the gateway must find out within the bound its configuration promises,
 * by each of its three mechanisms: the application heartbeat, TCP keepalive, TCP_USER_TIMEOUT.
 */
class PowerLossIT extends FaultTestBase {

    /**
     * Heartbeat 1 s × 1.5, drain 500 ms. The close (after BYE, half-close and the drain) must come
     * at least timeout + drain after the last PING the server received, and at most 250 ms later
     * than that. The last PING received is the device's last PING sent before the drop; each PING
     * is stamped on the device before it is written, on the same monotonic clock as the server's
     * close event.
     */
    @Test
    void powerLoss_heartbeatOn_closedWithinTimeoutPlusDrainOfLastHeartbeat() {
        int timeoutMs = 1500;
        int drainMs = 500;
        int slackMs = 250;
        int n = 4;
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "1000", "--multiplier", "1.5",
                "--drain-ms", String.valueOf(drainMs));
        List<InetAddress> addresses = rig.deviceAddresses(n);
        NamespaceProcess devices = rig.startDevices("devices", addresses, "--mode", "raw", "--devices", String.valueOf(n),
                "--heartbeat-ms", "1000");
        awaitEvents(devices, "connected", e -> true, n, Duration.ofSeconds(20));
        for (int i = 0; i < n; i++) {
            String id = "dev-" + i;
            awaitEvents(devices, "ping", e -> e.get("device").asText().equals(id), 2, Duration.ofSeconds(10));
        }

        Fault powerLoss = rig.lab.device().blackhole(Match.all());
        List<JsonNode> closes = awaitEvents(server, "close", e -> true, n, Duration.ofSeconds(10));

        Figures.print(name, "drop installed in %.1f ms; bound: timeout %d + drain %d + slack %d = %d ms after the last PING",
                ms(powerLoss.installTook().toNanos()), timeoutMs, drainMs, slackMs, timeoutMs + drainMs + slackMs);
        for (JsonNode c : closes) {
            String id = c.get("device").asText();
            long close = c.get("mono").asLong();
            List<Long> pings = events(devices, "ping", e -> e.get("device").asText().equals(id)).stream()
                    .map(e -> e.get("mono").asLong()).toList();
            // The drop took effect somewhere in [started, active]: a PING sent in between may or
            // may not have arrived. Judge each bound by the candidate that makes it hardest to pass.
            long lastBefore = pings.stream().filter(p -> p < powerLoss.startedNanos()).max(Long::compare).orElseThrow();
            long lastPossible = pings.stream().filter(p -> p <= powerLoss.activeNanos()).max(Long::compare).orElseThrow();
            Figures.print(name, "%s: %s, last PING -> close %.1f ms (drop -> close %.1f ms), lateMs %.3f, durationMs %d",
                    id, c.get("reason").asText(), ms(close - lastBefore), ms(close - powerLoss.startedNanos()),
                    c.get("lateMs").asDouble(), c.get("durationMs").asLong());
            assertThat(c.get("reason").asText()).as(id).isEqualTo("HEARTBEAT_TIMEOUT");
            assertThat(ms(close - lastPossible)).as("%s: last PING -> close, ms", id)
                    .isLessThanOrEqualTo(timeoutMs + drainMs + slackMs);
            assertThat(ms(close - lastBefore)).as("%s: last PING -> close, ms (never before timeout + drain)", id)
                    .isGreaterThanOrEqualTo(timeoutMs + drainMs);
        }
        assertThat(rig.audit().get("registry").asInt()).as("sessions left").isZero();
    }

    /**
     * Heartbeats off; keepalive idle 2 s, interval 1 s, 3 probes; TCP_USER_TIMEOUT left at the
     * gateway's default, idle + interval × count = 5 s.
     *
     * <p>How the two interact on Linux (tcp_keepalive_timer, net/ipv4/tcp_timer.c): with
     * TCP_USER_TIMEOUT set, keepalive gives up at the first probe tick where the time since the
     * last segment received is at least the user timeout and a probe is outstanding, instead of
     * after TCP_KEEPCNT probes. Probes go out at idle, idle + interval, ... after the last segment
     * received, so a user timeout of exactly idle + interval × count gives up at the same tick as
     * the count would: the gateway's default keeps the documented bound. (A larger user timeout
     * would stretch it; a smaller one cannot shorten it below idle + interval.) With nothing in
     * flight, the retransmission timer (where TCP_USER_TIMEOUT acts alone) never runs.
     *
     * <p>The last segment received is at most one idle period before the drop (an answered probe,
     * or the handshake), so the close comes between interval × count and idle + interval × count
     * after the drop; 1 s of slack on top.
     */
    @Test
    void powerLoss_heartbeatOff_closedByKeepaliveWithEtimedout() {
        int idleMs = 2000;
        int intervalMs = 1000;
        int count = 3;
        int n = 3;
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "0", "--keepalive", "2,1,3");
        JsonNode listening = rig.awaitListening();
        assertThat(listening.get("userTimeoutMs").asLong()).as("default user timeout").isEqualTo(idleMs + intervalMs * count);
        NamespaceProcess devices = rig.startDevices("devices", rig.deviceAddresses(n), "--mode", "raw",
                "--devices", String.valueOf(n), "--heartbeat-ms", "0");
        List<JsonNode> connected = awaitEvents(devices, "connected", e -> true, n, Duration.ofSeconds(20));
        assertThat(connected).allSatisfy(c -> assertThat(c.get("heartbeatMs").asInt()).isZero());

        Fault powerLoss = rig.lab.device().blackhole(Match.all());
        List<JsonNode> closes = awaitEvents(server, "close", e -> true, n, Duration.ofSeconds(15));

        int bound = idleMs + intervalMs * count + 1000;
        Figures.print(name, "keepalive %d ms / %d ms x %d, user timeout %d ms; bound drop -> close <= %d ms",
                idleMs, intervalMs, count, listening.get("userTimeoutMs").asLong(), bound);
        for (JsonNode c : closes) {
            String id = c.get("device").asText();
            double sinceDrop = ms(c.get("mono").asLong() - powerLoss.startedNanos());
            Figures.print(name, "%s: %s errno %s (%d), drop -> close %.1f ms", id, c.get("reason").asText(),
                    c.get("errno").asText(), c.get("errnoNumber").asInt(), sinceDrop);
            assertThat(c.get("reason").asText()).as(id).isEqualTo("KEEPALIVE_TIMEOUT");
            assertThat(c.get("errno").asText()).as(id).isEqualTo("ETIMEDOUT");
            assertThat(sinceDrop).as("%s: drop -> close, ms", id).isLessThanOrEqualTo(bound);
            assertThat(ms(c.get("mono").asLong() - powerLoss.activeNanos())).as("%s: drop -> close, ms", id)
                    .isGreaterThanOrEqualTo(intervalMs * count - 100);
        }
    }

    /**
     * The gateway streams downlink DATA to a device when it loses power: unacknowledged data sits
     * in the send queue, so keepalive never probes (tcp_keepalive_timer returns early while
     * packets are out) and only TCP_USER_TIMEOUT (3 s here; keepalive at its 60 s default) ends
     * it. A second device, idle, loses power at the same moment: nothing is in flight on its
     * connection, so the user timeout does not apply to it and it is still there when the busy
     * one is closed (keepalive would find it after 60 + 20 s).
     */
    @Test
    void powerLoss_withDownlinkInFlight_closedByUserTimeout() {
        int userTimeoutMs = 3000;
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "0", "--user-timeout-ms", String.valueOf(userTimeoutMs));
        NamespaceProcess devices = rig.startDevices("devices", rig.deviceAddresses(2), "--mode", "raw",
                "--devices", "2", "--heartbeat-ms", "0");
        awaitEvents(devices, "connected", e -> true, 2, Duration.ofSeconds(20));
        server.send("flood dev-0 512 20");
        awaitEvents(devices, "first-data", e -> e.get("device").asText().equals("dev-0"), 1, Duration.ofSeconds(10));

        Fault powerLoss = rig.lab.device().blackhole(Match.all());
        JsonNode c = awaitEvents(server, "close", e -> true, 1, Duration.ofSeconds(10)).get(0);
        JsonNode audit = rig.audit();
        JsonNode flood = awaitEvents(server, "flood-end", e -> true, 1, Duration.ofSeconds(5)).get(0);

        double sinceDrop = ms(c.get("mono").asLong() - powerLoss.startedNanos());
        Figures.print(name, "%s: %s errno %s, drop -> close %.1f ms (user timeout %d ms, bound %d ms); "
                        + "%d downlink messages (%d bytes) queued before; idle device still registered: %s",
                c.get("device").asText(), c.get("reason").asText(), c.get("errno").asText(), sinceDrop, userTimeoutMs,
                userTimeoutMs + 1000, flood.get("messages").asLong(), flood.get("bytes").asLong(), audit);
        assertThat(c.get("device").asText()).as("the device with data in flight goes first").isEqualTo("dev-0");
        assertThat(c.get("reason").asText()).isEqualTo("KEEPALIVE_TIMEOUT");
        assertThat(c.get("errno").asText()).isEqualTo("ETIMEDOUT");
        assertThat(sinceDrop).as("drop -> close, ms").isLessThanOrEqualTo(userTimeoutMs + 1000);
        assertThat(ms(c.get("mono").asLong() - powerLoss.activeNanos())).as("drop -> close, ms")
                .isGreaterThanOrEqualTo(userTimeoutMs - 100);
        assertThat(audit.get("registry").asInt()).as("the idle device, nothing in flight, is not yet found").isEqualTo(1);
    }
}
