package io.tether.transport.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parses fixture files written the way a little-endian (x86-64, arm64) kernel writes them. */
class SocketTableTest {

    private static final String TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when"
            + " retrnsmt   uid  timeout inode                                                     ";

    private static final String TCP6_HEADER = "  sl  local_address                         remote_address"
            + "                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

    private static final List<String> TCP = List.of(
            TCP_HEADER,
            // 127.0.0.1:8080 LISTEN, 2 connections waiting in the accept queue
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000  1000        0 52311"
                    + " 1 0000000000000000 100 0 0 10 0",
            // 127.0.0.1:8080 <- 127.0.0.1:53988 ESTABLISHED, 16 bytes unread
            "   1: 0100007F:1F90 0100007F:D2E4 01 00000000:00000010 00:00000000 00000000  1000        0 52400"
                    + " 1 0000000000000000 20 4 30 10 -1",
            // 127.0.0.1:8080 <- 127.0.0.2:41394 CLOSE_WAIT: the peer sent FIN, we did not close
            "   2: 0100007F:1F90 0200007F:A1B2 08 00000000:00000001 00:00000000 00000000  1000        0 52401"
                    + " 1 0000000000000000 20 4 30 10 -1",
            // the client side of line 1: local port is ephemeral, so it is not server side of 8080
            "   3: 0100007F:D2E4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 52399"
                    + " 1 0000000000000000 20 4 30 10 -1",
            // 10.0.0.1:8080 <- 192.168.0.100:50000 ESTABLISHED, 64 bytes unacknowledged, retransmit timer
            "   4: 0100000A:1F90 6400A8C0:C350 01 00000040:00000000 01:00000014 00000002  1000        0 52402"
                    + " 1 0000000000000000 22 4 30 10 -1",
            // TIME_WAIT on the server side (we closed first), no owning inode
            "   5: 0100007F:1F90 0100007F:C000 06 00000000:00000000 03:00001768 00000000     0        0 0"
                    + " 3 0000000000000000");

    private static final List<String> TCP6 = List.of(
            TCP6_HEADER,
            // [::]:8080 LISTEN (dual stack)
            "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A"
                    + " 00000000:00000000 00:00000000 00000000  1000        0 16608 1 00000000d0b72020 100 0 0 10 0",
            // ::ffff:127.0.0.1:8080 <- ::ffff:127.0.0.5:46351 ESTABLISHED
            "   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000500007F:B50F 01"
                    + " 00000000:00000000 00:00000000 00000000  1000        0 14318 2 000000006fffaac2 20 0 0 11 -1",
            // ::ffff:127.0.0.1:8080 <- ::ffff:127.0.0.6:46352 CLOSE_WAIT
            "   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000600007F:B510 08"
                    + " 00000000:00000001 00:00000000 00000000  1000        0 14319 2 000000006fffaac3 20 0 0 11 -1",
            // [2001:db8::1]:8080 <- [2001:db8::2]:57505 ESTABLISHED
            "   3: B80D0120000000000000000001000000:1F90 B80D0120000000000000000002000000:E0A1 01"
                    + " 00000000:00000000 00:00000000 00000000  1000        0 14320 1 00000000a27ee030 20 0 0 10 -1");

    @TempDir
    Path dir;

    private SocketTable fixture() throws IOException {
        Files.write(dir.resolve("tcp"), TCP);
        Files.write(dir.resolve("tcp6"), TCP6);
        return SocketTable.read(dir, ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void everyDataLineOfBothFiles_isParsed() throws IOException {
        assertThat(fixture().sockets()).hasSize(10);
    }

    @Test
    void ipv4Line_givesAddressesPortsStateQueuesUidAndInode() throws IOException {
        KernelSocket s = fixture().sockets().get(1);

        assertThat(s.local()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080));
        assertThat(s.remote()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 53988));
        assertThat(s.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(s.txQueue()).isZero();
        assertThat(s.rxQueue()).isEqualTo(16);
        assertThat(s.uid()).isEqualTo(1000);
        assertThat(s.inode()).isEqualTo(52400);
        assertThat(s.isIpv4()).isTrue();
    }

    @Test
    void ipv4Addresses_areLittleEndianPerWord() throws IOException {
        KernelSocket s = fixture().sockets().get(4);

        assertThat(s.local().getAddress().getHostAddress()).isEqualTo("10.0.0.1");
        assertThat(s.remote().getAddress().getHostAddress()).isEqualTo("192.168.0.100");
        assertThat(s.remote().getPort()).isEqualTo(50000);
        assertThat(s.txQueue()).isEqualTo(64);
    }

    @Test
    void ipv4MappedTcp6Address_isIpv4() throws IOException {
        KernelSocket s = fixture().sockets().get(7);

        assertThat(s.local().getAddress()).isInstanceOf(Inet4Address.class);
        assertThat(s.local().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(s.remote().getAddress().getHostAddress()).isEqualTo("127.0.0.5");
        assertThat(s.remote().getPort()).isEqualTo(46351);
        assertThat(s.isIpv4()).isTrue();
    }

    @Test
    void realIpv6Address_isDecodedWordByWord() throws IOException {
        KernelSocket s = fixture().sockets().get(9);

        assertThat(s.local().getAddress()).isInstanceOf(Inet6Address.class);
        assertThat(s.local().getAddress()).isEqualTo(InetAddress.getByName("2001:db8::1"));
        assertThat(s.remote().getAddress()).isEqualTo(InetAddress.getByName("2001:db8::2"));
        assertThat(s.remote().getPort()).isEqualTo(57505);
        assertThat(s.isIpv4()).isFalse();
    }

    @Test
    void countServerSide_countsLocalPortAcrossBothFiles_withoutListeners() throws IOException {
        Map<TcpState, Integer> counts = fixture().countServerSide(8080);

        assertThat(counts).doesNotContainKey(TcpState.LISTEN);
        assertThat(counts.get(TcpState.ESTABLISHED)).isEqualTo(4);
        assertThat(counts.get(TcpState.CLOSE_WAIT)).isEqualTo(2);
        assertThat(counts.get(TcpState.TIME_WAIT)).isEqualTo(1);
        assertThat(counts.get(TcpState.FIN_WAIT2)).isZero();
        assertThat(counts).hasSize(TcpState.values().length - 1);
    }

    @Test
    void countServerSide_ofAnUnusedPort_isAllZero() throws IOException {
        assertThat(fixture().countServerSide(9999).values()).containsOnly(0);
    }

    @Test
    void serverSide_selectsOneState() throws IOException {
        List<KernelSocket> closeWait = fixture().serverSide(8080, TcpState.CLOSE_WAIT);

        assertThat(closeWait).extracting(s -> s.remote().getAddress().getHostAddress())
                .containsExactly("127.0.0.2", "127.0.0.6");
        assertThat(fixture().serverSide(8080, TcpState.LISTEN)).hasSize(2);
    }

    @Test
    void stateCodes_matchTheKernel() {
        assertThat(TcpState.ofCode(0x01)).isEqualTo(TcpState.ESTABLISHED);
        assertThat(TcpState.ofCode(0x06)).isEqualTo(TcpState.TIME_WAIT);
        assertThat(TcpState.ofCode(0x08)).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(TcpState.ofCode(0x0A)).isEqualTo(TcpState.LISTEN);
        assertThat(TcpState.ofCode(0x0C)).isEqualTo(TcpState.NEW_SYN_RECV);
        assertThat(TcpState.ofCode(0x00)).isNull();
        assertThat(TcpState.ofCode(0x0D)).isNull();
    }

    @Test
    void bigEndianHost_readsWordsInItsOwnOrder() {
        assertThat(SocketTable.parseEndpoint("7F000001:1F90", ByteOrder.BIG_ENDIAN).getAddress().getHostAddress())
                .isEqualTo("127.0.0.1");
    }

    @Test
    void missingTcp6_isAllowed() throws IOException {
        Files.write(dir.resolve("tcp"), TCP);

        assertThat(SocketTable.read(dir, ByteOrder.LITTLE_ENDIAN).sockets()).hasSize(6);
    }

    @Test
    void missingTcp_fails() {
        assertThatThrownBy(() -> SocketTable.read(dir)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void malformedLine_failsNamingFileAndLine() throws IOException {
        Files.write(dir.resolve("tcp"), List.of(TCP_HEADER, "   0: 0100007F:1F90 00000000:0000 0A"));

        assertThatThrownBy(() -> SocketTable.read(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("tcp:2");
    }

    @Test
    void unknownState_fails() throws IOException {
        Files.write(dir.resolve("tcp"), List.of(TCP_HEADER, TCP.get(1).replace(" 0A ", " 0D ")));

        assertThatThrownBy(() -> SocketTable.read(dir)).isInstanceOf(IOException.class);
    }

    @Test
    void portOutOfRange_isRejected() throws IOException {
        SocketTable table = fixture();

        assertThatIllegalArgumentException().isThrownBy(() -> table.countServerSide(65536))
                .withMessageContaining("65536");
        assertThatIllegalArgumentException().isThrownBy(() -> table.serverSide(-1, TcpState.ESTABLISHED));
    }
}
