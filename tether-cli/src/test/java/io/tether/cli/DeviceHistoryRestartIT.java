package io.tether.cli;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.DeviceHistory;
import io.tether.server.SessionRecord;
import io.tether.testkit.Frames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A device's history through the whole product: {@code tether serve} as a process with its
 * RocksDB store, sessions that end in each of the usual ways, a kill -9 and a SIGTERM, restarts
 * on the same data directory, and {@code tether device history} reading the result.
 */
class DeviceHistoryRestartIT {
    private static final String DEVICE = "meter-7";

    @TempDir
    Path dir;

    private int adminPort;

    private Socket hello(ServerProcess server, int heartbeatMillis) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
        s.setSoTimeout(5_000);
        Frames.write(s.getOutputStream(), new Frame.Hello(heartbeatMillis, 0, DEVICE, new byte[0]));
        assertThat(Frames.read(new DataInputStream(s.getInputStream()))).isInstanceOf(Frame.Welcome.class);
        return s;
    }

    private DeviceHistory history() {
        Cli r = Cli.run("device", "history", DEVICE, "--admin", "127.0.0.1:" + adminPort, "--json");
        assertThat(r.code()).as(r.err()).isIn(0, 1);
        try {
            return DeviceHistory.parse(r.out());
        } catch (IOException e) {
            throw new AssertionError(r.out(), e);
        }
    }

    private void awaitSessions(int total, int closed) {
        await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100)).until(() -> {
            List<SessionRecord> s = history().sessions();
            return s.size() == total && s.stream().filter(SessionRecord::closed).count() == closed;
        });
    }

    @Test
    void historySurvivesKill9AndSigterm_withTheReasonOfEverySession() throws Exception {
        try (ServerSocket probe = new ServerSocket(0)) {
            adminPort = probe.getLocalPort();
        }
        try (ServerProcess server = ServerProcess.start(dir, "--insecure-no-auth", "--admin", "127.0.0.1:" + adminPort,
                "--min-heartbeat", "100ms", "--drain", "200ms")) {
            // 1. BYE
            try (Socket s = hello(server, 0)) {
                Frames.write(s.getOutputStream(), new Frame.Bye(Reason.NORMAL));
                DataInputStream in = new DataInputStream(s.getInputStream());
                while (Frames.read(in) != null) {
                    // until the server's FIN
                }
            }
            awaitSessions(1, 1);
            // 2. RST
            Socket rst = hello(server, 0);
            rst.setSoLinger(true, 0);
            rst.close();
            awaitSessions(2, 2);
            // 3. silence: closed by the heartbeat deadline (300 ms x 1.5)
            try (Socket silent = hello(server, 300)) {
                awaitSessions(3, 3);
            }
            // 4. and 5. a session, then the same device again (rebooted): the first is taken over
            Socket old = hello(server, 0);
            Socket rebooted = hello(server, 0);
            awaitSessions(5, 4);
            // 6. kill -9 with that session open: its close is never recorded
            assertThat(server.kill9()).isEqualTo(ServerProcess.KILLED);
            old.close();
            rebooted.close();

            server.restart();
            // 7. a session ended by a graceful stop
            Socket last = hello(server, 0);
            awaitSessions(6, 4);
            server.sigterm();
            assertThat(server.awaitExit(Duration.ofSeconds(20))).isZero();
            last.close();

            server.restart();
            List<SessionRecord> h = history().sessions();
            assertThat(h).extracting(SessionRecord::reason).containsExactly(Reason.SERVER_SHUTDOWN, null,
                    Reason.TAKEN_OVER, Reason.HEARTBEAT_TIMEOUT, Reason.PEER_RESET, Reason.NORMAL);
            assertThat(h.get(1).closed()).as("killed with the session open: not recorded").isFalse();
            assertThat(h.get(1).live()).isFalse();
            assertThat(h.get(1).tookOver()).isTrue();
            assertThat(h.get(3).heartbeatMillis()).isEqualTo(300);
            assertThat(h.get(4).errnoName()).isEqualTo("ECONNRESET");

            Cli table = Cli.run("device", "history", DEVICE, "--admin", "127.0.0.1:" + adminPort);
            assertThat(table.code()).isZero();
            assertThat(table.out()).contains("6 sessions", "not recorded", "? (server stopped)", "SERVER_SHUTDOWN",
                    "TAKEN_OVER", "HEARTBEAT_TIMEOUT", "PEER_RESET", "NORMAL");
        }
    }
}
