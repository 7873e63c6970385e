package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.testkit.fault.Direction;
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
 * A half-dead link: packets get through in one direction only (a radio that still transmits but
 * no longer hears, or the reverse). Neither side may hang on to the connection: each must end up
 * closed, with a reason, within the heartbeat bound. One SDK device (heartbeat 1 s, timeout 1.5 s)
 * loses one direction; a second device keeps its link and must be left alone.
 */
class OneWayLossIT extends FaultTestBase {
    private static final int TIMEOUT_MS = 1500;

    /**
     * The device no longer hears the gateway: its PINGs still arrive, so the gateway's deadline
     * is kept, but no PONG comes back. The device gives up after timeout_ms of silence and aborts
     * (RST, which the working direction carries), so the gateway learns of it at once as
     * PEER_RESET, not after TCP_USER_TIMEOUT (the PONGs it sent stay unacknowledged; 120 s).
     */
    @Test
    void downlinkLost_deviceTimesOut_gatewaySeesItsReset() {
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "1000", "--multiplier", "1.5");
        List<InetAddress> addresses = rig.deviceAddresses(2);
        NamespaceProcess devices = startDevices(addresses);

        Fault deaf = rig.lab.device().drop(Direction.INBOUND, Match.address(addresses.get(0)));
        JsonNode lost = awaitEvents(devices, "disconnected", e -> true, 1, Duration.ofSeconds(5)).get(0);
        JsonNode close = awaitEvents(server, "close", e -> true, 1, Duration.ofSeconds(5)).get(0);

        double deviceMs = ms(lost.get("mono").asLong() - deaf.startedNanos());
        double gatewayMs = ms(close.get("mono").asLong() - deaf.startedNanos());
        Figures.print(name, "device %s: %s after %.1f ms; gateway: %s errno %s after %.1f ms (bound: timeout %d + 250 ms)",
                lost.get("device").asText(), lost.get("reason").asText(), deviceMs, close.get("reason").asText(),
                close.get("errno").asText(), gatewayMs, TIMEOUT_MS);
        assertThat(lost.get("device").asText()).isEqualTo("dev-0");
        assertThat(lost.get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        assertThat(deviceMs).as("drop -> device gives up, ms").isLessThanOrEqualTo(TIMEOUT_MS + 250);
        assertThat(close.get("device").asText()).isEqualTo("dev-0");
        assertThat(close.get("reason").asText()).isEqualTo("PEER_RESET");
        assertThat(close.get("errno").asText()).isEqualTo("ECONNRESET");
        assertThat(gatewayMs).as("drop -> gateway closes, ms").isLessThanOrEqualTo(TIMEOUT_MS + 250);
        assertThat(rig.audit().get("registry").asInt()).as("the other device is untouched").isEqualTo(1);
    }

    /**
     * The gateway no longer hears the device: it times the session out (HEARTBEAT_TIMEOUT) and its
     * BYE and FIN still reach the device; the device, which gets no PONG either, is gone within the
     * same bound, whichever of the two it notices first (both say HEARTBEAT_TIMEOUT). The gateway
     * then ends with an RST after the drain: nothing lingers on its side.
     */
    @Test
    void uplinkLost_gatewayTimesOut_deviceLearnsOfIt() {
        int drainMs = 500;
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "1000", "--multiplier", "1.5",
                "--drain-ms", String.valueOf(drainMs));
        List<InetAddress> addresses = rig.deviceAddresses(2);
        NamespaceProcess devices = startDevices(addresses);

        Fault mute = rig.lab.device().drop(Direction.OUTBOUND, Match.address(addresses.get(0)));
        JsonNode close = awaitEvents(server, "close", e -> true, 1, Duration.ofSeconds(5)).get(0);
        JsonNode lost = awaitEvents(devices, "disconnected", e -> true, 1, Duration.ofSeconds(5)).get(0);
        List<JsonNode> byes = events(devices, "bye", e -> true);
        JsonNode audit = rig.audit();

        double gatewayMs = ms(close.get("mono").asLong() - mute.startedNanos());
        double deviceMs = ms(lost.get("mono").asLong() - mute.startedNanos());
        Figures.print(name, "gateway: %s %s after %.1f ms (bound: timeout %d + drain %d + 250 ms); device %s: %s after "
                        + "%.1f ms (BYE seen: %s); gateway audit %s",
                close.get("device").asText(), close.get("reason").asText(), gatewayMs, TIMEOUT_MS, drainMs,
                lost.get("device").asText(), lost.get("reason").asText(), deviceMs, !byes.isEmpty(), audit.get("states"));
        assertThat(close.get("device").asText()).isEqualTo("dev-0");
        assertThat(close.get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        assertThat(gatewayMs).as("drop -> gateway closes, ms").isLessThanOrEqualTo(TIMEOUT_MS + drainMs + 250);
        assertThat(lost.get("device").asText()).isEqualTo("dev-0");
        assertThat(lost.get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        assertThat(deviceMs).as("drop -> device gone, ms").isLessThanOrEqualTo(TIMEOUT_MS + 250);
        assertThat(audit.get("registry").asInt()).isEqualTo(1);
        assertThat(audit.get("established").asInt()).as("nothing lingers on the gateway's port").isEqualTo(1);
    }

    private NamespaceProcess startDevices(List<InetAddress> addresses) {
        NamespaceProcess devices = rig.startDevices("devices", addresses, "--mode", "sdk", "--devices", "2",
                "--heartbeat-ms", "1000", "--backoff-ms", "5000,10000");
        awaitEvents(devices, "connected", e -> true, 2, Duration.ofSeconds(20));
        return devices;
    }
}
