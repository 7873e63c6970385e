package io.tether.transport.kernel;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of the kernel's TCP socket table, read from {@code /proc/net/tcp} and
 * {@code /proc/net/tcp6}. It lets Tether (and its tests) audit the session registry against what
 * the kernel really holds on the server port: ESTABLISHED sockets that no session owns, CLOSE_WAIT
 * sockets the application never closed.
 *
 * <p>The table describes the network namespace of the reading process when read from
 * {@code /proc/net}; use {@link #read(Path)} with {@code /proc/<pid>/net} to read another
 * process's namespace. The kernel produces these files page by page, so a socket that changes
 * state during the read may be missed or listed twice; the snapshot is exact only for sockets that
 * are stable during the read. Reading costs one pass over every TCP socket of the namespace (about
 * 150 bytes each), fine for tens of thousands of sockets; use netlink {@code sock_diag} beyond.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SocketTable {

    /** The directory holding the kernel's {@code tcp} and {@code tcp6} tables for this process. */
    public static final Path PROC_NET = Path.of("/proc/net");

    private final List<KernelSocket> sockets;

    private SocketTable(List<KernelSocket> sockets) {
        this.sockets = Collections.unmodifiableList(sockets);
    }

    /**
     * Reads the current TCP socket table of this process's network namespace.
     *
     * @throws IOException if {@code /proc/net/tcp} cannot be read or holds a line this parser does
     *     not understand
     */
    public static SocketTable read() throws IOException {
        return read(PROC_NET);
    }

    /**
     * Reads {@code tcp} and {@code tcp6} from a directory laid out like {@code /proc/net}, e.g.
     * {@code /proc/1234/net} or a test fixture. Addresses are decoded in this machine's byte
     * order, as the kernel writes them.
     *
     * @param procNetDir the directory; {@code tcp} must exist, {@code tcp6} is optional (absent
     *     when IPv6 is disabled)
     * @throws NoSuchFileException if {@code procNetDir/tcp} does not exist
     * @throws IOException if a file cannot be read or holds a malformed line
     */
    public static SocketTable read(Path procNetDir) throws IOException {
        return read(procNetDir, ByteOrder.nativeOrder());
    }

    /** As {@link #read(Path)}, with the byte order of the host that wrote the files. */
    static SocketTable read(Path procNetDir, ByteOrder order) throws IOException {
        List<KernelSocket> out = new ArrayList<>();
        parseFile(procNetDir.resolve("tcp"), order, out);
        Path tcp6 = procNetDir.resolve("tcp6");
        if (Files.exists(tcp6)) {
            parseFile(tcp6, order, out);
        }
        return new SocketTable(out);
    }

    /** Every socket in the snapshot, IPv4 first, in the kernel's order; unmodifiable. */
    public List<KernelSocket> sockets() {
        return sockets;
    }

    /**
     * Counts, per state, the sockets whose local port is {@code port}: the server side of
     * connections to that port. Listening sockets are excluded; clients on this host connecting
     * to the port are not counted (their local port is ephemeral).
     *
     * @param port the server port, 0 to 65535
     * @return an unmodifiable map holding every state except {@link TcpState#LISTEN}, with 0 for
     *     states that have no socket, so {@code get(CLOSE_WAIT)} never returns {@code null}
     * @throws IllegalArgumentException if {@code port} is out of range
     */
    public Map<TcpState, Integer> countServerSide(int port) {
        checkPort(port);
        Map<TcpState, Integer> counts = new EnumMap<>(TcpState.class);
        for (TcpState s : TcpState.values()) {
            if (s != TcpState.LISTEN) {
                counts.put(s, 0);
            }
        }
        List<KernelSocket> listeners = listeners(port);
        for (KernelSocket s : sockets) {
            if (s.state() != TcpState.LISTEN && isServerSide(s, port, listeners)) {
                counts.merge(s.state(), 1, Integer::sum);
            }
        }
        return Collections.unmodifiableMap(counts);
    }

    /**
     * The sockets whose local port is {@code port} and whose state is {@code state}.
     *
     * @param port the server port, 0 to 65535
     * @param state the state to select; {@link TcpState#LISTEN} selects the listeners
     * @return an unmodifiable list, possibly empty
     * @throws IllegalArgumentException if {@code port} is out of range
     * @throws NullPointerException if {@code state} is null
     */
    public List<KernelSocket> serverSide(int port, TcpState state) {
        checkPort(port);
        if (state == null) {
            throw new NullPointerException("state");
        }
        List<KernelSocket> listeners = listeners(port);
        List<KernelSocket> out = new ArrayList<>();
        for (KernelSocket s : sockets) {
            if (s.state() == state && (state == TcpState.LISTEN ? s.local().getPort() == port
                    : isServerSide(s, port, listeners))) {
                out.add(s);
            }
        }
        return Collections.unmodifiableList(out);
    }

    private List<KernelSocket> listeners(int port) {
        List<KernelSocket> out = new ArrayList<>();
        for (KernelSocket s : sockets) {
            if (s.state() == TcpState.LISTEN && s.local().getPort() == port) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * A socket is on the server side of the port if its local port is the port and its local
     * address is one a listener of that port covers. A client socket elsewhere on the host can
     * own the same port number on another address (a listener bound to 127.0.0.1:P does not stop
     * a client bound to 127.0.0.2 from using P); it is not counted. Without any listener (the
     * server is gone) every socket with that local port counts.
     */
    private static boolean isServerSide(KernelSocket s, int port, List<KernelSocket> listeners) {
        if (s.local().getPort() != port) {
            return false;
        }
        if (listeners.isEmpty()) {
            return true;
        }
        for (KernelSocket l : listeners) {
            java.net.InetAddress la = l.local().getAddress();
            if (la.isAnyLocalAddress() || la.equals(s.local().getAddress())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "SocketTable[" + sockets.size() + " sockets]";
    }

    private static void checkPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
        }
    }

    private static void parseFile(Path file, ByteOrder order, List<KernelSocket> out) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
            String line = r.readLine(); // header: "  sl  local_address rem_address   st ..."
            int lineNo = 1;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    out.add(parseLine(line, order));
                } catch (RuntimeException e) {
                    throw new IOException(file + ":" + lineNo + ": cannot parse '" + line.strip() + "'", e);
                }
            }
        }
    }

    /**
     * Parses one data line. Columns (whitespace separated): {@code sl local rem st tx:rx tr:when
     * retrnsmt uid timeout inode ...}; the kernel prints them with {@code seq_printf} in
     * {@code net/ipv4/tcp_ipv4.c} and {@code net/ipv6/tcp_ipv6.c}.
     */
    static KernelSocket parseLine(String line, ByteOrder order) {
        String[] f = line.strip().split("\\s+");
        if (f.length < 10) {
            throw new IllegalArgumentException("expected at least 10 columns, got " + f.length);
        }
        InetSocketAddress local = parseEndpoint(f[1], order);
        InetSocketAddress remote = parseEndpoint(f[2], order);
        int code = Integer.parseInt(f[3], 16);
        TcpState state = TcpState.ofCode(code);
        if (state == null) {
            throw new IllegalArgumentException("unknown TCP state 0x" + f[3]);
        }
        int colon = f[4].indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("tx_queue:rx_queue expected, got " + f[4]);
        }
        long tx = Long.parseLong(f[4].substring(0, colon), 16);
        long rx = Long.parseLong(f[4].substring(colon + 1), 16);
        int uid = Integer.parseInt(f[7]);
        long inode = Long.parseLong(f[9]);
        return new KernelSocket(local, remote, state, inode, uid, tx, rx);
    }

    /**
     * Decodes {@code ADDR:PORT}. The kernel prints an address as 32-bit words, each the raw
     * network-order bytes read as a host integer and printed with {@code %08X}; on a
     * little-endian host 127.0.0.1 is therefore {@code 0100007F}. The port is printed after
     * {@code ntohs}, so it reads as a plain hex number.
     */
    static InetSocketAddress parseEndpoint(String field, ByteOrder order) {
        int colon = field.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("ADDR:PORT expected, got " + field);
        }
        String hex = field.substring(0, colon);
        if (hex.length() != 8 && hex.length() != 32) {
            throw new IllegalArgumentException("address must have 8 or 32 hex digits: " + hex);
        }
        ByteBuffer bytes = ByteBuffer.allocate(hex.length() / 2).order(order);
        for (int i = 0; i < hex.length(); i += 8) {
            bytes.putInt(Integer.parseUnsignedInt(hex.substring(i, i + 8), 16));
        }
        int port = Integer.parseInt(field.substring(colon + 1), 16);
        try {
            // getByAddress turns an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into an Inet4Address.
            InetAddress address = InetAddress.getByAddress(bytes.array());
            return new InetSocketAddress(address, port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("bad address length: " + hex, e); // unreachable: 4 or 16 bytes
        }
    }
}
