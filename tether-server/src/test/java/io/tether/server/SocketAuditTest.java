package io.tether.server;

import io.tether.server.internal.admin.AdminServer;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.server.ConnectionInfo;
import io.tether.transport.kernel.KernelSocket;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit on fixture tables written the way this host's kernel writes /proc/net/tcp{,6}. */
class SocketAuditTest {
    private static final int PORT = 7400;

    @TempDir
    Path dir;

    private final List<String> tcp = new ArrayList<>();
    private final List<String> tcp6 = new ArrayList<>();

    /** Adds one kernel row; IPv6 local or remote goes to tcp6. */
    private void row(String local, int localPort, String remote, int remotePort, TcpState state, long inode) throws IOException {
        InetAddress l = InetAddress.getByName(local);
        InetAddress r = InetAddress.getByName(remote);
        boolean v6 = l.getAddress().length == 16 || r.getAddress().length == 16;
        List<String> file = v6 ? tcp6 : tcp;
        file.add(String.format("%4d: %s:%04X %s:%04X %02X 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 20 4 30 10 -1",
                file.size(), hex(l, v6), localPort, hex(r, v6), remotePort, state.code(), inode));
    }

    /** The kernel prints each 32-bit word of the address as a host-order integer. */
    private static String hex(InetAddress a, boolean v6) {
        byte[] b = a.getAddress();
        if (v6 && b.length == 4) {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xFF;
            mapped[11] = (byte) 0xFF;
            System.arraycopy(b, 0, mapped, 12, 4);
            b = mapped;
        }
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.nativeOrder());
        StringBuilder sb = new StringBuilder();
        while (buf.hasRemaining()) {
            sb.append(String.format("%08X", buf.getInt()));
        }
        return sb.toString();
    }

    private SocketTable table() throws IOException {
        List<String> t = new ArrayList<>(List.of("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"));
        t.addAll(tcp);
        List<String> t6 = new ArrayList<>(List.of("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"));
        t6.addAll(tcp6);
        Files.write(dir.resolve("tcp"), t);
        Files.write(dir.resolve("tcp6"), t6);
        return SocketTable.read(dir);
    }

    private static ConnectionInfo open(String device, String ip, int port) throws IOException {
        return new ConnectionInfo(new InetSocketAddress(InetAddress.getByName(ip), port), device, device.hashCode() & 0xFFFF, "OPEN");
    }

    private static List<Integer> remotePorts(List<KernelSocket> sockets) {
        return sockets.stream().map(s -> s.remote().getPort()).collect(Collectors.toList());
    }

    @Test
    void stateCounts_includeOnlyTheServerSideOfThePort() throws IOException {
        row("0.0.0.0", PORT, "0.0.0.0", 0, TcpState.LISTEN, 500);
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.ESTABLISHED, 1001);
        row("127.0.0.1", 50001, "127.0.0.1", PORT, TcpState.ESTABLISHED, 2001); // the client's end
        row("127.0.0.1", PORT, "127.0.0.1", 50002, TcpState.CLOSE_WAIT, 1002);
        row("127.0.0.1", PORT, "127.0.0.1", 50003, TcpState.TIME_WAIT, 0);
        row("127.0.0.1", PORT, "127.0.0.1", 50004, TcpState.SYN_RECV, 0);
        row("127.0.0.1", PORT, "127.0.0.1", 50005, TcpState.FIN_WAIT2, 0);
        row("127.0.0.1", 8080, "127.0.0.1", 50006, TcpState.CLOSE_WAIT, 1006); // another service

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(), table());

        assertThat(r.count(TcpState.ESTABLISHED)).isEqualTo(1);
        assertThat(r.closeWait()).isEqualTo(1);
        assertThat(r.count(TcpState.TIME_WAIT)).isEqualTo(1);
        assertThat(r.count(TcpState.SYN_RECV)).isEqualTo(1);
        assertThat(r.count(TcpState.FIN_WAIT2)).isEqualTo(1);
        assertThat(r.count(TcpState.LISTEN)).isZero();
    }

    @Test
    void establishedSocketThatNoConnectionOwns_isAGhost() throws IOException {
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.ESTABLISHED, 1001);
        row("127.0.0.1", PORT, "127.0.0.1", 50002, TcpState.ESTABLISHED, 1002);

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(open("dev-1", "127.0.0.1", 50001)), table());

        assertThat(remotePorts(r.ghosts())).containsExactly(50002);
        assertThat(r.orphans()).isEmpty();
        assertThat(r.sessions()).isEqualTo(1);
        assertThat(r.healthy()).isFalse();
    }

    @Test
    void establishedSocketWithInodeZero_isInTheAcceptQueueNotAGhost() throws IOException {
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.ESTABLISHED, 0);

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(), table());

        assertThat(r.ghosts()).isEmpty();
        assertThat(remotePorts(r.acceptQueue())).containsExactly(50001);
        assertThat(r.healthy()).isTrue();
    }

    @Test
    void ipv4MappedAddresses_matchPlainIpv4BothWays() throws IOException {
        // A dual-stack listener: the kernel lists the IPv4 client in tcp6 as ::ffff:10.0.0.2.
        row("::ffff:127.0.0.1", PORT, "::ffff:10.0.0.2", 50001, TcpState.ESTABLISHED, 1001);
        // An IPv4 listener, while the server reports the peer as an IPv4-mapped Inet6Address.
        row("127.0.0.1", PORT, "10.0.0.3", 50002, TcpState.ESTABLISHED, 1002);
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, 10, 0, 0, 3};
        ConnectionInfo viaMapped = new ConnectionInfo(
                new InetSocketAddress(Inet6Address.getByAddress(null, mapped, -1), 50002), "dev-3", 3, "OPEN");

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(open("dev-2", "10.0.0.2", 50001), viaMapped), table());

        assertThat(r.ghosts()).isEmpty();
        assertThat(r.orphans()).isEmpty();
    }

    @Test
    void ipv6Peers_areMatchedByAddressAndPort() throws IOException {
        row("2001:db8::1", PORT, "2001:db8::2", 50001, TcpState.ESTABLISHED, 1001);
        row("2001:db8::1", PORT, "2001:db8::3", 50001, TcpState.ESTABLISHED, 1002);

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(open("dev-2", "2001:db8::2", 50001)), table());

        assertThat(r.ghosts()).extracting(s -> s.remote().getAddress().getHostAddress()).containsExactly("2001:db8:0:0:0:0:0:3");
    }

    @Test
    void sessionWithoutEstablishedSocket_isAnOrphanShownWithTheKernelsState() throws IOException {
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.CLOSE_WAIT, 1001);

        ConnectionInfo closeWait = open("dev-1", "127.0.0.1", 50001);
        ConnectionInfo gone = open("dev-2", "127.0.0.1", 50002);
        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(closeWait, gone), table());

        assertThat(r.orphans()).containsExactly(
                new SocketAudit.Orphan(closeWait, TcpState.CLOSE_WAIT),
                new SocketAudit.Orphan(gone, null));
    }

    @Test
    void handshakingAndDrainingConnections_areNeitherGhostsNorOrphans() throws IOException {
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.ESTABLISHED, 1001);
        row("127.0.0.1", PORT, "127.0.0.1", 50002, TcpState.FIN_WAIT2, 1002);
        ConnectionInfo handshaking = new ConnectionInfo(new InetSocketAddress("127.0.0.1", 50001), null, 0, "HANDSHAKE");
        ConnectionInfo draining = new ConnectionInfo(new InetSocketAddress("127.0.0.1", 50002), "dev-2", 2, "DRAINING");

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(handshaking, draining), table());

        assertThat(r.handshaking()).containsExactly(handshaking);
        assertThat(r.ghosts()).isEmpty();
        assertThat(r.orphans()).isEmpty();
        assertThat(r.healthy()).isTrue();
    }

    @Test
    void connectionsThatComeOrGoDuringTheKernelRead_areNeitherGhostsNorOrphans() throws IOException {
        // Closed after the first snapshot: the kernel still had it ESTABLISHED.
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.ESTABLISHED, 1001);
        ConnectionInfo leaving = open("leaving", "127.0.0.1", 50001);
        // Opened after the kernel read: the kernel did not list it yet.
        ConnectionInfo arriving = open("arriving", "127.0.0.1", 50002);

        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(leaving), table(), List.of(arriving), 1);

        assertThat(r.ghosts()).isEmpty();
        assertThat(r.orphans()).isEmpty();
        assertThat(r.sessions()).isEqualTo(1);
    }

    @Test
    void kernelOnlyReport_leavesGhostsAndOrphansUnknownInJson() throws IOException {
        row("127.0.0.1", PORT, "127.0.0.1", 50001, TcpState.CLOSE_WAIT, 1001);

        SocketAudit.Report r = SocketAudit.kernelOnly(PORT, table());

        assertThat(r.compared()).isFalse();
        assertThat(r.closeWait()).isEqualTo(1);
        assertThat(r.healthy()).isFalse();
        assertThat(r.toJson()).contains("\"ghosts\":null", "\"orphans\":null", "\"CLOSE_WAIT\":1", "\"healthy\":false");
    }

    @Test
    void reportJson_namesEachGhostAndOrphan() throws IOException {
        row("127.0.0.1", PORT, "127.0.0.1", 50002, TcpState.ESTABLISHED, 1002);
        SocketAudit.Report r = SocketAudit.audit(PORT, List.of(open("dev-9", "127.0.0.1", 50009)), table());

        assertThat(r.toJson())
                .contains("\"ghosts\":[{\"local\":\"127.0.0.1:7400\",\"remote\":\"127.0.0.1:50002\",\"state\":\"ESTABLISHED\"")
                .contains("\"orphans\":[{\"connection\":{\"remote\":\"127.0.0.1:50009\",\"device\":\"dev-9\"")
                .contains("\"kernelState\":null");
    }
}
