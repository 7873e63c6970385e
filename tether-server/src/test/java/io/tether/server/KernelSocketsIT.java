package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the kernel holds on the server's port, read from /proc/net/tcp and tcp6: no CLOSE_WAIT
 * after peers close, no ESTABLISHED ghosts after reconnect storms.
 */
class KernelSocketsIT {
    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    private Map<TcpState, Integer> serverSide() throws IOException {
        return SocketTable.read().countServerSide(fixture.port());
    }

    @Test
    void thousandConnectFinCycles_leaveNoCloseWait() throws Exception {
        fixture.start(b -> b);
        for (int i = 0; i < 1_000; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", fixture.port()), 5_000);
                if (i % 2 == 0) {
                    // Half of them complete a handshake first, so both paths are covered.
                    RawDeviceFrames.write(s, new Frame.Hello(0, 0, "cycle-" + i, new byte[0]));
                }
            } // close() sends FIN
        }
        Thread.sleep(500);
        Map<TcpState, Integer> counts = serverSide();
        System.out.println("after 1,000 connect/FIN cycles + 500 ms, server-side sockets on the port: " + counts);
        assertThat(counts.getOrDefault(TcpState.CLOSE_WAIT, 0)).as("CLOSE_WAIT on the port: %s", counts).isZero();
        await().atMost(5, TimeUnit.SECONDS).until(() -> fixture.closes.size() == 1_000);
        assertThat(fixture.closes).allSatisfy(c -> assertThat(c.event().reason()).isEqualTo(Reason.PEER_CLOSED));
    }

    @Test
    void flapStorm_leavesExactlyOneSessionAndOneSocketPerDevice() throws Exception {
        // Flapping detection off: this test is about takeover absorbing the storm.
        fixture.start(b -> b.flapping(Flapping.OFF));
        int devices = 100;
        int reconnects = 20;
        List<RawDevice> all = new ArrayList<>();
        try {
            for (int round = 0; round < reconnects; round++) {
                for (int d = 0; d < devices; d++) {
                    // The device "reboots": a new connection, the old socket is never closed.
                    RawDevice dev = new RawDevice(fixture.port());
                    dev.hello("flap-" + d, 0);
                    all.add(dev);
                }
            }
            await().atMost(10, TimeUnit.SECONDS).until(() ->
                    fixture.closesOf(Reason.TAKEN_OVER).size() == devices * (reconnects - 1));
            await().atMost(5, TimeUnit.SECONDS).until(() ->
                    serverSide().getOrDefault(TcpState.ESTABLISHED, 0) == devices);
            Map<TcpState, Integer> counts = serverSide();
            System.out.printf("flap storm %d x %d: registry %d sessions, TAKEN_OVER closes %d, kernel %s%n", devices, reconnects,
                    fixture.server.registry().size(), fixture.closesOf(Reason.TAKEN_OVER).size(), counts);
            assertThat(fixture.server.registry().size()).isEqualTo(devices);
            assertThat(counts.getOrDefault(TcpState.ESTABLISHED, 0)).isEqualTo(devices);
            assertThat(counts.getOrDefault(TcpState.CLOSE_WAIT, 0)).isZero();
            // The survivors are the newest connections: their local ports are the kernel's
            // remote ports of the server-side ESTABLISHED sockets.
            Set<Integer> newest = all.subList(all.size() - devices, all.size()).stream()
                    .map(d -> d.socket.getLocalPort()).collect(Collectors.toSet());
            Set<Integer> kernel = SocketTable.read().serverSide(fixture.port(), TcpState.ESTABLISHED).stream()
                    .map(s -> s.remote().getPort()).collect(Collectors.toSet());
            assertThat(kernel).isEqualTo(newest);
            assertThat(fixture.closes).allSatisfy(c -> assertThat(c.event().reason()).isEqualTo(Reason.TAKEN_OVER));
        } finally {
            for (RawDevice d : all) {
                d.close();
            }
        }
    }
}
