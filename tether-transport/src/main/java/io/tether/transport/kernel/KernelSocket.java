package io.tether.transport.kernel;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One row of the kernel's TCP socket table ({@code /proc/net/tcp} or {@code /proc/net/tcp6}).
 *
 * <p>Addresses are resolved-free {@link InetSocketAddress}es (no DNS lookup is made). An
 * IPv4-mapped IPv6 address from {@code tcp6} ({@code ::ffff:a.b.c.d}, what a dual-stack listener
 * shows for an IPv4 client) is given as the plain IPv4 address, so IPv4 clients of a dual-stack
 * listener count as IPv4.
 *
 * <p>Immutable and thread-safe.
 *
 * @param local the local address and port; never {@code null}
 * @param remote the remote address and port; {@code 0.0.0.0:0} or {@code [::]:0} for a listener
 * @param state the TCP state; never {@code null}
 * @param inode the socket's inode number (matches {@code /proc/<pid>/fd/* -> socket:[inode]});
 *     0 for sockets no process owns: connections still in the accept queue (already ESTABLISHED,
 *     not yet accepted), TIME_WAIT, and orphans in FIN_WAIT after the application closed
 * @param uid the owning user id
 * @param txQueue for a connected socket, bytes sent and not yet acknowledged by the peer; for a
 *     listener, 0
 * @param rxQueue for a connected socket, bytes received and not yet read by the application; for
 *     a listener, the current accept-queue length
 */
public record KernelSocket(
        InetSocketAddress local,
        InetSocketAddress remote,
        TcpState state,
        long inode,
        int uid,
        long txQueue,
        long rxQueue) {

    /**
     * @throws NullPointerException if {@code local}, {@code remote} or {@code state} is null
     */
    public KernelSocket {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(state, "state");
    }

    /** Whether the local address is IPv4, including IPv4-mapped addresses read from tcp6. */
    public boolean isIpv4() {
        return local.getAddress() instanceof Inet4Address;
    }
}
