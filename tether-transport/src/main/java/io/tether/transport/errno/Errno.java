package io.tether.transport.errno;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The Linux errno values a TCP gateway meets, each explained for an operator: what the kernel means
 * by it, what usually causes it in a fleet of devices, and what Tether does about it.
 *
 * <p>Numbers are the Linux (x86-64 and arm64) values; other Unix kernels number some of them
 * differently, which does not matter here because Tether classifies native errors only on Linux
 * (epoll). {@link IoFailure#classify(Throwable)} maps an exception to one of these constants.
 *
 * <p>Immutable and thread-safe, like every enum.
 */
public enum Errno {
    EPERM(1, "Operation not permitted",
            List.of(
                    "A local firewall rule rejected our own packet: an iptables/nftables OUTPUT rule"
                            + " with DROP makes connect() and send() fail with EPERM instead of"
                            + " letting the packet leave.",
                    "A fault-injection test dropped traffic on the local side."),
            List.of(
                    "On a live connection: closes the session with IO_ERROR and records EPERM;"
                            + " the device reconnects once the rule is gone.",
                    "On a device's connect: the client SDK counts a failed attempt and retries with"
                            + " backoff and jitter.")),

    EAGAIN(11, "Resource temporarily unavailable",
            List.of(
                    "A non-blocking read found no data, or a non-blocking write found the socket"
                            + " send buffer full (the device reads slower than we write).",
                    "Also called EWOULDBLOCK; it is flow control, not a failure."),
            List.of(
                    "Nothing visible: the event loop waits for the socket to become readable or"
                            + " writable again (Netty never surfaces EAGAIN as an exception).",
                    "If the per-connection write buffer keeps growing because the device does not"
                            + " read, the session is closed with SLOW_CONSUMER.")),

    EINVAL(22, "Invalid argument",
            List.of(
                    "A socket option value the kernel rejects: TCP_KEEPIDLE / TCP_KEEPINTVL /"
                            + " TCP_KEEPCNT of 0 or above the kernel maximum, a negative"
                            + " TCP_USER_TIMEOUT.",
                    "bind() or connect() with an address of the wrong family or length, or"
                            + " connect() on a listening socket.",
                    "listen() on a socket that is already connected."),
            List.of(
                    "Socket option values are checked by the config builder before they reach the"
                            + " kernel, so EINVAL points at a kernel that lacks the option or a"
                            + " platform difference.",
                    "At startup the server fails to start and names the call; on a live"
                            + " connection the session is closed with IO_ERROR.")),

    ENFILE(23, "Too many open files in system",
            List.of(
                    "The whole host ran out of file handles (fs.file-max), not only this process.",
                    "Another process on the host leaks sockets or files."),
            List.of(
                    "accept() fails: the acceptor pauses for about a second and retries; the"
                            + " kernel keeps new connections queued in the listen backlog"
                            + " meanwhile, and existing sessions are not affected.",
                    "Raise fs.file-max; `tether doctor` shows the host's limits.")),

    EMFILE(24, "Too many open files",
            List.of(
                    "This process reached its open-file limit (ulimit -n; 20,000 hard on the"
                            + " reference machine): one socket per device plus files and pipes.",
                    "A reconnect storm while dead connections are not yet closed doubles the"
                            + " socket count for a while.",
                    "Sockets leak: CLOSE_WAIT sockets the application never closed."),
            List.of(
                    "accept() fails: the acceptor pauses for about a second and retries; existing"
                            + " sessions keep running.",
                    "Session takeover and prompt close on EOF keep dead sockets from piling up;"
                            + " `tether sockets` compares the kernel's socket table with the"
                            + " session registry.")),

    ENOSPC(28, "No space left on device",
            List.of(
                    "The filesystem of --data-dir or of --events FILE is full (or out of inodes):"
                            + " a burst of traffic, logs of another program on the same disk, a"
                            + " store that is never trimmed.",
                    "Not a socket error: the store's write-ahead log or the event log cannot grow."),
            List.of(
                    "Store: the failed batch is not acknowledged; those sessions are closed with"
                            + " IO_ERROR and new HELLOs get BYE SERVER_BUSY, so devices keep the"
                            + " messages and resend them after reconnecting. Nothing acknowledged"
                            + " is lost.",
                    "Event log: events are dropped and counted (tether.events.dropped in /metrics),"
                            + " devices are still served, and writing resumes once space is freed.",
                    "Free space (or move --data-dir), then check `tether doctor`.")),

    EPIPE(32, "Broken pipe",
            List.of(
                    "We wrote to a connection that the device had already closed: the device sent"
                            + " FIN, its kernel then answered our data with RST, and the next write"
                            + " fails with EPIPE.",
                    "We wrote again after a write already failed with ECONNRESET (the first write"
                            + " after an RST reports ECONNRESET, later ones EPIPE).",
                    "We wrote after shutting down our own sending side (shutdown(SHUT_WR))."),
            List.of(
                    "Closes the session with PEER_RESET and records EPIPE; the device is expected"
                            + " to reconnect.",
                    "Bytes that failed to send were never acknowledged by the device, so nothing"
                            + " the device confirmed is lost.")),

    EADDRINUSE(98, "Address already in use",
            List.of(
                    "Another process (or an earlier instance of Tether) already listens on the"
                            + " port.",
                    "A load generator ran out of ephemeral ports on one source address (the"
                            + " 4-tuple is taken), typically with many TIME_WAIT sockets."),
            List.of(
                    "At startup the server fails to start and names the address.",
                    "The listener uses SO_REUSEADDR (Netty's default), so sockets left in"
                            + " TIME_WAIT by a previous run do not block a restart.")),

    EADDRNOTAVAIL(99, "Cannot assign requested address",
            List.of(
                    "bind() to an IP address that is not configured on any local interface.",
                    "A client ran out of ephemeral ports for this destination"
                            + " (net.ipv4.ip_local_port_range exhausted)."),
            List.of(
                    "At startup the server fails to start and names the address.",
                    "Load generators spread over several loopback source addresses (127.0.0.x)"
                            + " to avoid running out of ports.")),

    ENETDOWN(100, "Network is down",
            List.of(
                    "The local interface the traffic leaves by went down: a cable pulled, a VPN or"
                            + " cellular modem link dropped, `ip link set dev X down`.",
                    "A container or namespace whose network was torn down under the process."),
            List.of(
                    "On a live connection: closes the session with IO_ERROR; the device reconnects"
                            + " once the link is back (the listening socket stays open).",
                    "On a device's connect: the client SDK counts a failed attempt and retries with"
                            + " backoff and jitter.")),

    ENETUNREACH(101, "Network is unreachable",
            List.of(
                    "The host has no route at all to the destination network: no default route,"
                            + " the interface is down, the modem has not attached yet.",
                    "A device tried to connect before its cellular data link came up.",
                    "An ICMP network-unreachable answer from a router."),
            List.of(
                    "Seen by devices, not by the server: the client SDK counts a failed connect"
                            + " and retries with exponential backoff and jitter, keeping unsent"
                            + " messages in its outbox.",
                    "On a live server connection: closes the session with IO_ERROR.")),

    ECONNABORTED(103, "Software caused connection abort",
            List.of(
                    "The local kernel aborted the connection: an operator killed it with"
                            + " `ss -K`, or the kernel dropped it under memory pressure.",
                    "On accept(): a connection reset while it waited in the accept queue (on"
                            + " Linux this usually shows as ECONNRESET on the first read instead)."),
            List.of(
                    "Closes the session with IO_ERROR and records ECONNABORTED; the device is"
                            + " expected to reconnect.",
                    "On accept(): the connection is skipped and the acceptor continues.")),

    ECONNRESET(104, "Connection reset by peer",
            List.of(
                    "The device rebooted and its kernel, which no longer knows the connection,"
                            + " answered our packet with RST.",
                    "A NAT or carrier firewall dropped the idle mapping and resets the flow when"
                            + " traffic resumes.",
                    "The device closed with SO_LINGER 0 (an abortive close), or closed while"
                            + " unread data was still in its receive buffer."),
            List.of(
                    "Closes the session with PEER_RESET; the device is expected to reconnect.",
                    "No data that the device saw acknowledged is lost: an ACK frame is sent only"
                            + " after the data is stored.")),

    ENOBUFS(105, "No buffer space available",
            List.of(
                    "The kernel could not allocate socket buffer memory (net.ipv4.tcp_mem"
                            + " pressure) or a queue is full.",
                    "Very many connections with large SO_SNDBUF/SO_RCVBUF on a small host."),
            List.of(
                    "Closes the affected session with IO_ERROR; the device reconnects.",
                    "Keep per-connection buffers small; the write buffer is capped per"
                            + " connection (SLOW_CONSUMER).")),

    ENOTCONN(107, "Transport endpoint is not connected",
            List.of(
                    "A read, write, shutdown() or getpeername() on a socket whose connection is"
                            + " already gone (reset or closed by the kernel).",
                    "A half-close (shutdown) raced with a reset from the device."),
            List.of(
                    "Treated as the end of a connection that has already failed: the session is"
                            + " closed with IO_ERROR unless a more precise reason was recorded"
                            + " first.")),

    ETIMEDOUT(110, "Connection timed out",
            List.of(
                    "TCP keepalive probes went unanswered: the device lost power or radio"
                            + " coverage without sending FIN (a half-open connection).",
                    "TCP_USER_TIMEOUT expired: data we sent stayed unacknowledged (or the device's"
                            + " receive window stayed closed) for longer than allowed.",
                    "connect(): SYN retries were exhausted because nothing answered."),
            List.of(
                    "On a live connection: closes the session with KEEPALIVE_TIMEOUT, the kernel"
                            + " having given up on the device; the device reconnects when it"
                            + " comes back.",
                    "On a device's connect: the client SDK retries with backoff and jitter.")),

    ECONNREFUSED(111, "Connection refused",
            List.of(
                    "Nothing listens on that port: the server is down, restarting, or the port is"
                            + " wrong; the host answered the SYN with RST.",
                    "A firewall rule with REJECT --reject-with tcp-reset.",
                    "The listen backlog overflowed with net.ipv4.tcp_abort_on_overflow=1."),
            List.of(
                    "Seen by devices, not by the server: the client SDK retries with exponential"
                            + " backoff and jitter, so a restarting gateway is not stampeded by"
                            + " the fleet.")),

    EHOSTDOWN(112, "Host is down",
            List.of(
                    "The destination is on the local link but does not answer ARP/neighbour"
                            + " discovery (powered off, unplugged)."),
            List.of(
                    "On a device's connect: the client SDK retries with backoff and jitter.",
                    "On a live server connection: closes the session with IO_ERROR.")),

    EHOSTUNREACH(113, "No route to host",
            List.of(
                    "A router answered with ICMP host-unreachable: the device's address is not"
                            + " reachable (left the cellular network, NAT mapping gone).",
                    "A firewall rule with REJECT (icmp-host-unreachable or admin-prohibited).",
                    "The neighbour on the local link does not answer ARP."),
            List.of(
                    "On a device's connect: the client SDK retries with backoff and jitter.",
                    "On a live server connection: closes the session with IO_ERROR; the device"
                            + " is expected to reconnect.")),

    EINPROGRESS(115, "Operation now in progress",
            List.of(
                    "A non-blocking connect() started and has not finished yet; this is the normal"
                            + " first answer of every non-blocking connect, not a failure."),
            List.of(
                    "Nothing: the event loop waits until the socket is writable and then asks the"
                            + " kernel for the connect result (SO_ERROR). If it ever surfaces as"
                            + " an error it is a bug, reported as IO_ERROR."));

    private static final Map<Integer, Errno> BY_NUMBER =
            Stream.of(values()).collect(Collectors.toUnmodifiableMap(Errno::number, Function.identity()));

    private final int number;
    private final String meaning;
    private final List<String> typicalCauses;
    private final List<String> whatTetherDoes;

    Errno(int number, String meaning, List<String> typicalCauses, List<String> whatTetherDoes) {
        this.number = number;
        this.meaning = meaning;
        this.typicalCauses = typicalCauses;
        this.whatTetherDoes = whatTetherDoes;
    }

    /** The positive Linux errno value, e.g. 104 for {@link #ECONNRESET}. */
    public int number() {
        return number;
    }

    /** One line, as {@code strerror(3)} says it, e.g. "Connection reset by peer". */
    public String meaning() {
        return meaning;
    }

    /** What usually produces this errno in a device gateway, one sentence per entry; never empty. */
    public List<String> typicalCauses() {
        return typicalCauses;
    }

    /** How Tether reacts (close reason, retry, startup failure), one sentence per entry; never empty. */
    public List<String> whatTetherDoes() {
        return whatTetherDoes;
    }

    /**
     * Looks up an errno by its positive Linux value.
     *
     * @param number the errno, e.g. 111; Netty's negative form (-111) is not accepted
     * @return the constant, or empty if the number is not one Tether explains
     */
    public static Optional<Errno> byNumber(int number) {
        return Optional.ofNullable(BY_NUMBER.get(number));
    }

    /**
     * Looks up an errno by name, ignoring case and surrounding blanks: "ECONNRESET", "econnreset".
     *
     * @param name the symbolic name; {@code null} gives empty
     * @return the constant, or empty if the name is not one Tether explains
     */
    public static Optional<Errno> byName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String upper = name.strip().toUpperCase(Locale.ROOT);
        for (Errno e : values()) {
            if (e.name().equals(upper)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }
}
