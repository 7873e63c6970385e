package io.tether.cli.fault;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.testkit.fault.Match;
import io.tether.testkit.fault.NamespaceProcess;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.tether.cli.fault.FaultRig.awaitEvents;
import static io.tether.cli.fault.FaultRig.events;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The source's case 3, which its author could not solve: devices that lose power and come back
 * before the server noticed, again and again. Each old connection is blackholed (its packets
 * dropped in the device namespace, by its source port: the dead device neither answers nor
 * sends FIN or RST) and abandoned by the device program without a close; the rebooted device
 * connects from a new port. Without takeover each cycle would leave one ESTABLISHED ghost per
 * device on the server until a timeout.
 */
class RebootIT extends FaultTestBase {
    private static final int DEVICES = 3;
    private static final int CYCLES = 4;

    /**
     * Heartbeat 2 s (timeout 3 s), so no heartbeat deadline decides anything here: every old
     * connection must end by takeover (BYE TAKEN_OVER and RST, which the dead device never
     * sees), and after each cycle the gateway's registry must match the kernel's socket table
     * on the port: ESTABLISHED = live sessions, no ghost, no CLOSE_WAIT.
     */
    @Test
    void rebootWithoutFin_repeatedly_takeoverLeavesNoGhosts() {
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "2000", "--multiplier", "1.5");
        NamespaceProcess devices = rig.startDevices("devices", rig.deviceAddresses(DEVICES), "--mode", "raw",
                "--devices", String.valueOf(DEVICES), "--heartbeat-ms", "2000");
        awaitEvents(devices, "connected", e -> true, DEVICES, Duration.ofSeconds(20));
        awaitEvents(server, "open", e -> true, DEVICES, Duration.ofSeconds(10));

        for (int cycle = 1; cycle <= CYCLES; cycle++) {
            long start = System.nanoTime();
            for (int i = 0; i < DEVICES; i++) {
                String id = "dev-" + i;
                List<JsonNode> conns = events(devices, "connected", e -> e.get("device").asText().equals(id));
                String local = conns.get(conns.size() - 1).get("local").asText();
                int port = Integer.parseInt(local.substring(local.lastIndexOf(':') + 1));
                rig.lab.device().blackhole(Match.localPort(port)); // power loss of this connection
                devices.send("reboot " + id); // abandoned without close; a new connection from a new port
            }
            int expected = DEVICES * cycle;
            List<JsonNode> takeovers = awaitEvents(server, "open", e -> e.get("tookOver").asBoolean(), expected,
                    Duration.ofSeconds(10));
            List<JsonNode> kicked = awaitEvents(server, "close", e -> true, expected, Duration.ofSeconds(10));
            JsonNode audit = rig.audit();
            String deviceSide = rig.lab.device().execOrThrow("ss", "-Htn", "state", "established");
            long deviceSideEstablished = deviceSide.lines().filter(l -> !l.isBlank()).count();

            Figures.print(name, "cycle %d: %d takeovers so far, %d old connections closed so far (%s), cycle took %.0f ms; gateway audit: "
                            + "registry %d, ESTABLISHED %d, CLOSE_WAIT %d, ghosts %d, sessions without socket %d, states %s; "
                            + "device side still holds %d ESTABLISHED sockets (abandoned ones included)",
                    cycle, takeovers.size(), kicked.size(),
                    kicked.stream().map(k -> k.get("reason").asText()).distinct().toList(),
                    (System.nanoTime() - start) / 1e6, audit.get("registry").asInt(), audit.get("established").asInt(),
                    audit.get("closeWait").asInt(), audit.get("ghosts").asInt(), audit.get("sessionsWithoutSocket").asInt(),
                    audit.get("states"), deviceSideEstablished);
            assertThat(kicked).allSatisfy(k -> assertThat(k.get("reason").asText()).isEqualTo("TAKEN_OVER"));
            assertThat(audit.get("registry").asInt()).as("registry").isEqualTo(DEVICES);
            assertThat(audit.get("established").asInt()).as("kernel ESTABLISHED on the port = registry")
                    .isEqualTo(audit.get("registry").asInt());
            assertThat(audit.get("ghosts").asInt()).as("ghosts").isZero();
            assertThat(audit.get("closeWait").asInt()).as("CLOSE_WAIT").isZero();
            assertThat(audit.get("sessionsWithoutSocket").asInt()).as("sessions without a socket").isZero();
            assertThat(deviceSideEstablished).as("the abandoned sockets are still there on the dead side")
                    .isEqualTo((long) DEVICES * (cycle + 1));
        }
        assertThat(events(server, "close", e -> true)).hasSize(DEVICES * CYCLES);
    }
}
