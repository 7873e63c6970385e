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
import static io.tether.cli.fault.FaultRig.ms;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A middlebox that lost its state (a NAT timeout, a carrier-grade NAT reboot) answers both ends
 * with RST. The gateway must name it PEER_RESET with errno ECONNRESET, not a timeout, and
 * find out as soon as it next sends.
 */
class MiddleboxResetIT extends FaultTestBase {

    @Test
    void middleboxReset_gatewaySeesPeerResetOnItsNextSend() {
        NamespaceProcess server = rig.startServer("--heartbeat-ms", "1000");
        List<InetAddress> addresses = rig.deviceAddresses(2);
        NamespaceProcess devices = rig.startDevices("devices", addresses, "--mode", "raw", "--devices", "2",
                "--heartbeat-ms", "1000");
        awaitEvents(devices, "connected", e -> true, 2, Duration.ofSeconds(20));

        Fault reset = rig.lab.device().reset(Direction.BOTH, Match.address(addresses.get(0)));
        server.send("send dev-0 16");
        JsonNode close = awaitEvents(server, "close", e -> true, 1, Duration.ofSeconds(5)).get(0);
        JsonNode deviceSide = awaitEvents(devices, "disconnected", e -> true, 1, Duration.ofSeconds(5)).get(0);

        Figures.print(name, "gateway: %s %s errno %s after %.1f ms; device: %s after %.1f ms (%s)",
                close.get("device").asText(), close.get("reason").asText(), close.get("errno").asText(),
                ms(close.get("mono").asLong() - reset.startedNanos()), deviceSide.get("device").asText(),
                ms(deviceSide.get("mono").asLong() - reset.startedNanos()), deviceSide.get("cause").asText());
        assertThat(close.get("device").asText()).isEqualTo("dev-0");
        assertThat(close.get("reason").asText()).isEqualTo("PEER_RESET");
        assertThat(close.get("errno").asText()).isEqualTo("ECONNRESET");
        assertThat(ms(close.get("mono").asLong() - reset.startedNanos())).as("fault -> close, ms").isLessThan(1000);
        // The device learns of it when its next PING (within 1 s) is answered with an RST.
        assertThat(deviceSide.get("device").asText()).isEqualTo("dev-0");
        assertThat(deviceSide.get("cause").asText()).contains("SocketException");
        assertThat(ms(deviceSide.get("mono").asLong() - reset.startedNanos())).as("fault -> device sees it, ms")
                .isLessThan(1500);
        assertThat(rig.audit().get("registry").asInt()).as("the other device is untouched").isEqualTo(1);
    }
}
