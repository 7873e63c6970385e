package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.server.TetherServer;
import io.tether.server.internal.admin.AdminServer;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tether sockets} against real kernel sockets and a real gateway with its admin endpoint. */
class SocketsCommandTest {

    private record Run(int exitCode, String out, String err) {}

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private TetherServer server;

    @TempDir
    Path dir;

    @AfterEach
    void close() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new SocketsCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** A gateway on 127.0.0.1:0 with its admin endpoint on 127.0.0.1:0. */
    private AdminServer gatewayWithAdmin() {
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(2))
                .build()
                .start();
        cleanup.add(server);
        AdminServer admin = AdminServer.start(server, new InetSocketAddress("127.0.0.1", 0));
        cleanup.add(admin);
        return admin;
    }

    /** A device that connects, completes HELLO and stays. */
    private void device(int port, String id) throws IOException {
        Socket s = new Socket();
        cleanup.add(s);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(new Frame.Hello(0, 0, id, new byte[0]), buf);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            s.getOutputStream().write(bytes);
        } finally {
            buf.release();
        }
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] welcome = new byte[in.readInt()]; // WELCOME: the session is registered
        in.readFully(welcome);
    }

    private static String adminArg(AdminServer admin) {
        return "127.0.0.1:" + admin.address().getPort();
    }

    @Test
    void liveGatewayWithTwoDevices_isCleanAndExits0() throws IOException {
        AdminServer admin = gatewayWithAdmin();
        int port = server.port();
        device(port, "pos-1");
        device(port, "pos-2");

        Run r = run("--admin", adminArg(admin));

        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("port " + port + ", server side")
                .containsPattern("ESTABLISHED +2\\R")
                .contains("sessions: 2, handshaking: 0")
                .contains("ghosts: 0", "orphans: 0", "CLOSE_WAIT: 0");
    }

    @Test
    void jsonOutput_isOneObjectWithTheAudit() throws IOException {
        AdminServer admin = gatewayWithAdmin();
        device(server.port(), "pos-1");

        Run r = run("--admin", adminArg(admin), "--json");

        assertThat(r.exitCode()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.path("healthy").asBoolean()).isTrue();
        assertThat(j.path("states").path("ESTABLISHED").asInt()).isEqualTo(1);
        assertThat(j.path("sessions").asInt()).isEqualTo(1);
        assertThat(j.path("ghosts")).isEmpty();
        assertThat(j.path("orphans")).isEmpty();
    }

    @Test
    void closeWaitOnThePort_exits1AndIsCounted() throws Exception {
        // A server that accepts and never closes: the client's FIN leaves its side in CLOSE_WAIT.
        ServerSocket listener = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        cleanup.add(listener);
        int port = listener.getLocalPort();
        Socket client = new Socket("127.0.0.1", port);
        Socket accepted = listener.accept();
        cleanup.add(accepted);
        client.close();
        await().atMost(5, TimeUnit.SECONDS).until(() ->
                SocketTable.read().countServerSide(port).get(TcpState.CLOSE_WAIT) == 1);

        Run r = run("--port", String.valueOf(port));

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).containsPattern("CLOSE_WAIT +1\\R").contains("CLOSE_WAIT: 1")
                .contains("ghosts: unknown (give --admin");
    }

    @Test
    void kernelSocketNoConnectionOwns_isPrintedAsAGhostAndExits1() throws IOException {
        AdminServer admin = gatewayWithAdmin();
        int port = server.port();
        // The kernel cannot be made to hold a socket the server does not know, so feed a table
        // (as this host's kernel writes it) with one ESTABLISHED socket on the port from 127.0.0.9:40000.
        Files.write(dir.resolve("tcp"), List.of(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                String.format("   0: %s:%04X %s:%04X 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 20 4 30 10 -1",
                        hex(127, 0, 0, 1), port, hex(127, 0, 0, 9), 40000)));

        Run r = run("--admin", adminArg(admin), "--proc-net", dir.toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).contains("ghost   127.0.0.9:40000  inode 4242").contains("ghosts: 1", "orphans: 0");
    }

    @Test
    void unreachableAdminEndpoint_exits2WithAClearMessage() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }

        Run r = run("--admin", "127.0.0.1:" + closedPort);

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("cannot reach the admin endpoint at http://127.0.0.1:" + closedPort);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void portThatDisagreesWithTheServer_exits2() {
        AdminServer admin = gatewayWithAdmin();
        int wrong = server.port() == 65535 ? 65534 : server.port() + 1;

        Run r = run("--admin", adminArg(admin), "--port", String.valueOf(wrong));

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--port " + wrong + " but the server at").contains("listens on " + server.port());
    }

    @Test
    void neitherPortNorAdmin_exits2() {
        Run r = run();

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("give --port P, or --admin HOST:PORT");
    }

    /** An IPv4 address as the kernel prints it: the network-order bytes read as a host-order int. */
    private static String hex(int a, int b, int c, int d) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d})
                .order(java.nio.ByteOrder.nativeOrder());
        return String.format("%08X", buf.getInt());
    }
}
