package io.tether.server;

import io.tether.server.internal.admin.Json;

import io.tether.transport.kernel.KernelSocket;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Audits the kernel's TCP socket table against the server's own picture of its connections
 * (DESIGN.md invariant 2: sessions in the registry == kernel ESTABLISHED sockets on the port that
 * finished a handshake; no CLOSE_WAIT once the server had a moment to react).
 *
 * <p>The audit itself is a pure function of its inputs ({@link #audit(int, List, SocketTable)}),
 * so it can be tested on fixture tables. Addresses are matched by their raw IP bytes and port: an
 * IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}, what a dual-stack listener reports for an IPv4
 * peer) matches the plain IPv4 address, and IPv6 scope ids are ignored.
 *
 * <p>The kernel table and the server's list cannot be read at the same instant. A connection
 * accepted or closed between the two reads would look like a ghost or an orphan; the
 * {@linkplain #audit(int, List, SocketTable, List, int) four-snapshot form} reads the server's
 * list before and after the kernel's and only reports what both agree on. A ghost or an orphan
 * that persists across audits is real.
 *
 * <p>Stateless and thread-safe.
 */
public final class SocketAudit {

    private SocketAudit() {
    }

    /**
     * The outcome of one audit. Immutable; the lists and the map are unmodifiable.
     *
     * @param port        the server port audited
     * @param states      server-side sockets on the port per TCP state (every state except
     *                    {@link TcpState#LISTEN}, 0 where none), in the kernel's state order
     * @param compared    whether the kernel table was compared with the server's connections; if
     *                    false (a kernel-only report), {@code sessions} is -1 and
     *                    {@code handshaking}, {@code ghosts} and {@code orphans} are empty because
     *                    they are unknown, not because there are none
     * @param sessions    live sessions in the server's registry; -1 when not {@code compared}
     * @param handshaking open connections that have not completed HELLO yet
     * @param ghosts      kernel ESTABLISHED server-side sockets, owned by a process (inode != 0),
     *                    whose remote address matches no open connection of the server: the
     *                    "fake connections" of DESIGN.md R6
     * @param acceptQueue kernel ESTABLISHED server-side sockets that no process owns yet (inode 0):
     *                    connections completed by the kernel and waiting in the listen backlog.
     *                    Normal for a moment; many that persist mean the server is not accepting
     * @param orphans     sessions (connections in state OPEN) with no ESTABLISHED kernel socket,
     *                    each with the state the kernel does have for its address, if any
     */
    public record Report(
            int port,
            Map<TcpState, Integer> states,
            boolean compared,
            int sessions,
            List<ConnectionInfo> handshaking,
            List<KernelSocket> ghosts,
            List<KernelSocket> acceptQueue,
            List<Orphan> orphans) {

        /**
         * @throws NullPointerException if a collection is null
         */
        public Report {
            Map<TcpState, Integer> copy = new EnumMap<>(TcpState.class);
            copy.putAll(states);
            states = Collections.unmodifiableMap(copy);
            handshaking = List.copyOf(handshaking);
            ghosts = List.copyOf(ghosts);
            acceptQueue = List.copyOf(acceptQueue);
            orphans = List.copyOf(orphans);
        }

        /** Server-side sockets on the port in {@code state}; 0 for LISTEN. */
        public int count(TcpState state) {
            return states.getOrDefault(Objects.requireNonNull(state, "state"), 0);
        }

        /** Server-side CLOSE_WAIT sockets: peers that closed and the application did not. */
        public int closeWait() {
            return count(TcpState.CLOSE_WAIT);
        }

        /**
         * Whether the port is clean: no CLOSE_WAIT, no ghost, no orphan. A kernel-only report can
         * only vouch for CLOSE_WAIT.
         */
        public boolean healthy() {
            return closeWait() == 0 && ghosts.isEmpty() && orphans.isEmpty();
        }

        /**
         * This report as one JSON object: {@code port}, {@code healthy}, {@code compared},
         * {@code states} (state name to count), {@code closeWait}, {@code sessions},
         * {@code handshaking}, {@code ghosts}, {@code orphans} (each {@code connection} and
         * {@code kernelState}) and {@code acceptQueue}. In a report that was not
         * {@linkplain #compared() compared}, the unknown fields are {@code null}.
         */
        public String toJson() {
            return Json.report(this);
        }
    }

    /**
     * A session the kernel holds no ESTABLISHED socket for.
     *
     * @param connection  the server's view of the session
     * @param kernelState the state of the kernel's server-side socket with the same remote
     *                    address (e.g. CLOSE_WAIT: the peer closed and the server has not reacted
     *                    yet), or {@code null} if the kernel has no such socket at all
     */
    public record Orphan(ConnectionInfo connection, TcpState kernelState) {
        /** @throws NullPointerException if {@code connection} is null */
        public Orphan {
            Objects.requireNonNull(connection, "connection");
        }
    }

    /**
     * Audits one consistent pair of snapshots. {@code sessions} in the report is the number of
     * handshaken connections in {@code connections}.
     *
     * @param port        the server port, 0 to 65535
     * @param connections the server's open connections ({@link TetherServer#connections()})
     * @param table       the kernel's socket table of the server's network namespace
     * @throws IllegalArgumentException if {@code port} is out of range
     * @throws NullPointerException     if an argument is null
     */
    public static Report audit(int port, List<ConnectionInfo> connections, SocketTable table) {
        int sessions = 0;
        for (ConnectionInfo c : connections) {
            if (c.deviceId() != null) {
                sessions++;
            }
        }
        return audit(port, connections, table, connections, sessions);
    }

    /**
     * Audits a kernel table read between two snapshots of the server's connections, so that
     * connections accepted or closed during the read are neither ghosts nor orphans: a kernel
     * socket is a ghost only if it matches a connection in neither snapshot; a session is an
     * orphan only if it is OPEN in both.
     *
     * @param port     the server port, 0 to 65535
     * @param before   the server's connections read before {@code table}
     * @param table    the kernel's socket table of the server's network namespace
     * @param after    the server's connections read after {@code table}
     * @param sessions the registry's size ({@code TetherServer.registry().size()}), reported as is
     * @throws IllegalArgumentException if {@code port} is out of range or {@code sessions} &lt; 0
     * @throws NullPointerException     if an argument is null
     */
    public static Report audit(int port, List<ConnectionInfo> before, SocketTable table, List<ConnectionInfo> after,
                               int sessions) {
        Objects.requireNonNull(before, "before");
        Objects.requireNonNull(after, "after");
        if (sessions < 0) {
            throw new IllegalArgumentException("sessions: " + sessions + " (expected: >= 0)");
        }
        Map<TcpState, Integer> states = table.countServerSide(port);

        Set<Endpoint> known = new HashSet<>();
        for (ConnectionInfo c : before) {
            addIfPresent(known, c);
        }
        for (ConnectionInfo c : after) {
            addIfPresent(known, c);
        }

        // Every server-side socket by remote address. A remote address may appear twice (a
        // TIME_WAIT left by an earlier connection from the same source port); ESTABLISHED wins.
        Map<Endpoint, TcpState> kernelByRemote = new HashMap<>();
        List<KernelSocket> ghosts = new ArrayList<>();
        List<KernelSocket> acceptQueue = new ArrayList<>();
        for (KernelSocket s : table.sockets()) {
            if (s.local().getPort() != port || s.state() == TcpState.LISTEN) {
                continue;
            }
            Endpoint remote = Endpoint.of(s.remote());
            kernelByRemote.merge(remote, s.state(), (a, b) -> a == TcpState.ESTABLISHED ? a : b);
            if (s.state() == TcpState.ESTABLISHED && !known.contains(remote)) {
                // inode 0: the kernel finished the handshake but no process has accept()ed it.
                (s.inode() == 0 ? acceptQueue : ghosts).add(s);
            }
        }

        Set<ConnectionInfo> openBefore = new HashSet<>();
        for (ConnectionInfo c : before) {
            if (isOpenSession(c)) {
                openBefore.add(c);
            }
        }
        List<Orphan> orphans = new ArrayList<>();
        List<ConnectionInfo> handshaking = new ArrayList<>();
        for (ConnectionInfo c : after) {
            if (c.deviceId() == null) {
                handshaking.add(c);
            } else if (isOpenSession(c) && openBefore.contains(c)) {
                TcpState kernel = c.remote() == null ? null : kernelByRemote.get(Endpoint.of(c.remote()));
                if (kernel != TcpState.ESTABLISHED) {
                    orphans.add(new Orphan(c, kernel));
                }
            }
        }
        return new Report(port, states, true, sessions, handshaking, ghosts, acceptQueue, orphans);
    }

    /**
     * A report of the kernel's side alone, for when the server's connections are not available:
     * the per-state counts and the accept queue. {@link Report#compared()} is false.
     *
     * @throws IllegalArgumentException if {@code port} is out of range
     */
    public static Report kernelOnly(int port, SocketTable table) {
        List<KernelSocket> acceptQueue = new ArrayList<>();
        for (KernelSocket s : table.serverSide(port, TcpState.ESTABLISHED)) {
            if (s.inode() == 0) {
                acceptQueue.add(s);
            }
        }
        return new Report(port, table.countServerSide(port), false, -1, List.of(), List.of(), acceptQueue, List.of());
    }

    /**
     * Audits a running server in this process: reads its connections, the kernel table of this
     * process's network namespace ({@code /proc/net}), its connections again, and its registry
     * size.
     *
     * @param server a started server
     * @throws IOException if {@code /proc/net/tcp} cannot be read
     */
    public static Report of(TetherServer server) throws IOException {
        int port = server.port();
        List<ConnectionInfo> before = server.connections();
        SocketTable table = SocketTable.read();
        List<ConnectionInfo> after = server.connections();
        return audit(port, before, table, after, server.registry().size());
    }

    private static boolean isOpenSession(ConnectionInfo c) {
        return c.deviceId() != null && "OPEN".equals(c.state());
    }

    private static void addIfPresent(Set<Endpoint> set, ConnectionInfo c) {
        if (c.remote() != null) {
            set.add(Endpoint.of(c.remote()));
        }
    }

    /** An address compared by its IPv4 or IPv6 bytes (IPv4-mapped folded to IPv4) and port. */
    private record Endpoint(String ip, int port) {
        static Endpoint of(InetSocketAddress a) {
            InetAddress address = a.getAddress();
            if (address == null) {
                // Unresolved: only a host name is known; it can match nothing the kernel prints.
                return new Endpoint("unresolved:" + a.getHostString(), a.getPort());
            }
            byte[] b = address.getAddress();
            if (address instanceof Inet6Address && isIpv4Mapped(b)) {
                b = Arrays.copyOfRange(b, 12, 16);
            }
            return new Endpoint(toHex(b), a.getPort());
        }

        private static boolean isIpv4Mapped(byte[] b) {
            for (int i = 0; i < 10; i++) {
                if (b[i] != 0) {
                    return false;
                }
            }
            return b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
        }

        private static String toHex(byte[] b) {
            StringBuilder sb = new StringBuilder(b.length * 2);
            for (byte x : b) {
                sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
            }
            return sb.toString();
        }
    }
}
