package io.tether.cli;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.ApiKeys;
import io.tether.server.DeviceHistory;
import io.tether.server.MessageStores;
import io.tether.server.SessionRecord;
import io.tether.server.TetherServer;
import io.tether.testkit.Frames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code tether device history} against a real gateway: its admin endpoint, and its store directory. */
class DeviceHistoryCommandTest {
    @TempDir
    Path dir;

    private TetherServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private TetherServer start(TetherServer.Builder b) throws IOException {
        server = b.bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .admin(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .shutdownTimeout(Duration.ofSeconds(1)).build().start();
        return server;
    }

    /** A device that handshakes, then says BYE (or resets, with {@code rst}). */
    private void session(String id, boolean rst) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            s.setSoTimeout(5_000);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            Frames.write(out, new Frame.Hello(0, 0, id, new byte[0]));
            assertThat(Frames.read(in)).isInstanceOf(Frame.Welcome.class);
            if (rst) {
                s.setSoLinger(true, 0);
            } else {
                Frames.write(out, new Frame.Bye(Reason.NORMAL));
                while (Frames.read(in) != null) {
                    // until the server's FIN
                }
            }
        }
    }

    private void awaitHistory(String id, int closed) {
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.history(id).stream().filter(SessionRecord::closed).count() == closed);
    }

    private String admin() {
        return "127.0.0.1:" + server.adminAddress().getPort();
    }

    @Test
    void history_printsOneLinePerSession_newestFirst() throws Exception {
        start(TetherServer.builder().store(MessageStores.inMemory()));
        session("cli-1", false);
        session("cli-1", true);
        awaitHistory("cli-1", 2);

        Cli r = Cli.run("device", "history", "cli-1", "--admin", admin());
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("device cli-1: 2 sessions, newest first (the server keeps 20)");
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(4);
        assertThat(lines[1]).contains("OPENED", "CLOSED", "REMOTE", "REASON", "ERRNO");
        assertThat(lines[2]).contains("PEER_RESET", "ECONNRESET", "127.0.0.1:");
        assertThat(lines[3]).contains("NORMAL", "device said BYE");
    }

    @Test
    void history_json_isTheAdminEndpointsDocument() throws Exception {
        start(TetherServer.builder().store(MessageStores.inMemory()));
        session("cli-2", false);
        awaitHistory("cli-2", 1);
        Cli r = Cli.run("device", "history", "cli-2", "--admin", admin(), "--json");
        assertThat(r.code()).isZero();
        DeviceHistory h = DeviceHistory.parse(r.out());
        assertThat(h.sessions()).extracting(SessionRecord::reason).containsExactly(Reason.NORMAL);
    }

    @Test
    void history_ofADeviceWithNone_exits1() throws Exception {
        start(TetherServer.builder().store(MessageStores.inMemory()));
        Cli r = Cli.run("device", "history", "nobody", "--admin", admin());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("device nobody: no sessions in its history");
    }

    @Test
    void history_withAdminKeys_needsTheKey() throws Exception {
        Path keys = dir.resolve("admin-keys");
        String key = ApiKeys.add(keys, "ops");
        start(TetherServer.builder().store(MessageStores.inMemory()).adminKeys(ApiKeys.load(keys)));
        session("cli-3", false);
        awaitHistory("cli-3", 1);

        Cli denied = Cli.run("device", "history", "cli-3", "--admin", admin());
        assertThat(denied.code()).isEqualTo(2);
        assertThat(denied.err()).contains("wants a key", "--admin-key-env");

        Path keyFile = dir.resolve("key");
        Files.writeString(keyFile, key + "\n");
        Cli ok = Cli.run("device", "history", "cli-3", "--admin", admin(), "--admin-key-file", keyFile.toString());
        assertThat(ok.code()).isZero();
        assertThat(ok.out()).contains("NORMAL");

        DeviceCommand.History.environment = name -> name.equals("ADMIN_KEY") ? key : null;
        try {
            assertThat(Cli.run("device", "history", "cli-3", "--admin", admin(), "--admin-key-env", "ADMIN_KEY").code()).isZero();
        } finally {
            DeviceCommand.History.environment = System::getenv;
        }
    }

    @Test
    void history_fromTheStoreDirectory_whileTheServerRuns_andAfter() throws Exception {
        Path data = dir.resolve("data");
        start(TetherServer.builder().store(MessageStores.rocksDb(data, true)));
        session("cli-4", false);
        session("cli-4", true);
        awaitHistory("cli-4", 2);

        Cli running = Cli.run("device", "history", "cli-4", "--data-dir", data.toString(), "--json");
        assertThat(running.code()).isZero();
        assertThat(DeviceHistory.parse(running.out()).sessions()).extracting(SessionRecord::reason)
                .containsExactly(Reason.PEER_RESET, Reason.NORMAL);

        server.close();
        server = null;
        Cli stopped = Cli.run("device", "history", "cli-4", "--data-dir", data.toString());
        assertThat(stopped.code()).isZero();
        assertThat(stopped.out()).contains("device cli-4: 2 sessions", "PEER_RESET", "NORMAL");
    }

    @Test
    void history_serverNotRunning_saysSo_exit2() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Cli r = Cli.run("device", "history", "x", "--admin", "127.0.0.1:" + port);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("cannot reach the admin endpoint", "--data-dir");
    }
}
