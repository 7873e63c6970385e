package io.tether.transport.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Reads this process's own sockets from the live kernel table. */
class SocketTableLiveTest {

    /** Loopback state changes take microseconds; 5 s only bounds a stalled machine. */
    private static final Duration WAIT = Duration.ofSeconds(5);

    private ServerSocket listener;
    private final List<Socket> clients = new ArrayList<>();
    private final List<Socket> accepted = new ArrayList<>();

    @BeforeEach
    void connectThreeClients() throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        for (int i = 0; i < 3; i++) {
            clients.add(new Socket("127.0.0.1", listener.getLocalPort()));
            accepted.add(listener.accept());
        }
    }

    @AfterEach
    void closeAll() throws IOException {
        for (Socket s : clients) {
            s.close();
        }
        for (Socket s : accepted) {
            s.close();
        }
        listener.close();
    }

    @Test
    void threeConnectedClients_showAsThreeServerSideEstablished() throws IOException {
        int port = listener.getLocalPort();

        assertThat(SocketTable.read().countServerSide(port).get(TcpState.ESTABLISHED)).isEqualTo(3);
        assertThat(SocketTable.read().serverSide(port, TcpState.LISTEN)).hasSize(1);
        assertThat(SocketTable.read().serverSide(port, TcpState.ESTABLISHED))
                .extracting(s -> s.remote().getPort())
                .containsExactlyInAnyOrderElementsOf(clients.stream().map(Socket::getLocalPort).toList());
    }

    @Test
    void clientFinWithoutServerClose_leavesOneCloseWait() throws IOException {
        int port = listener.getLocalPort();
        Socket leaving = clients.get(0);
        int leavingPort = leaving.getLocalPort();

        leaving.close(); // FIN; the accepted socket is deliberately not closed

        await().atMost(WAIT).until(() -> SocketTable.read().countServerSide(port).get(TcpState.CLOSE_WAIT) == 1);
        SocketTable table = SocketTable.read();
        assertThat(table.countServerSide(port).get(TcpState.ESTABLISHED)).isEqualTo(2);
        assertThat(table.serverSide(port, TcpState.CLOSE_WAIT))
                .singleElement()
                .satisfies(s -> assertThat(s.remote()).isEqualTo(
                        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), leavingPort)));
    }

    @Test
    void serverClosingAfterFin_clearsCloseWait() throws IOException {
        int port = listener.getLocalPort();
        clients.get(0).close();
        await().atMost(WAIT).until(() -> SocketTable.read().countServerSide(port).get(TcpState.CLOSE_WAIT) == 1);

        accepted.get(0).close();

        await().atMost(WAIT).until(() -> SocketTable.read().countServerSide(port).get(TcpState.CLOSE_WAIT) == 0);
        assertThat(SocketTable.read().countServerSide(port).get(TcpState.ESTABLISHED)).isEqualTo(2);
    }

    @Test
    void acceptedSocketInodes_areThisProcessesOpenSockets() throws IOException {
        List<Long> inodes = SocketTable.read().serverSide(listener.getLocalPort(), TcpState.ESTABLISHED).stream()
                .map(KernelSocket::inode).toList();

        List<String> fdTargets;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            fdTargets = fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    return ""; // the fd closed while listing (e.g. the listing's own directory fd)
                }
            }).collect(Collectors.toList());
        }
        assertThat(inodes).hasSize(3).allSatisfy(inode -> assertThat(fdTargets).contains("socket:[" + inode + "]"));
    }
}
