package io.tether.testkit.fault;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Which connections a fault affects, described from the namespace the fault is installed in. A
 * match never covers loopback traffic: only packets crossing the lab's link.
 *
 * <p>Immutable and thread-safe.
 */
public final class Match {
    private final InetAddress localAddress;
    private final int localPort;
    private final int remotePort;

    private Match(InetAddress localAddress, int localPort, int remotePort) {
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remotePort = remotePort;
    }

    /** Every packet over the link. */
    public static Match all() {
        return new Match(null, 0, 0);
    }

    /**
     * Packets from or to one address of this namespace: one device, when each device has its own
     * address ({@link Namespace#addAddress()}).
     */
    public static Match address(InetAddress local) {
        return new Match(Objects.requireNonNull(local, "local"), 0, 0);
    }

    /** TCP packets of the connection(s) whose local port in this namespace is {@code port}. */
    public static Match localPort(int port) {
        checkPort(port);
        return new Match(null, port, 0);
    }

    /** TCP packets of the connection(s) whose remote port (seen from this namespace) is {@code port}. */
    public static Match remotePort(int port) {
        checkPort(port);
        return new Match(null, 0, port);
    }

    private static void checkPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
        }
    }

    /** The iptables match for packets arriving on {@code iface}. */
    List<String> inbound(String iface) {
        List<String> m = new ArrayList<>(List.of("-i", iface));
        if (localAddress != null) {
            m.addAll(List.of("-d", localAddress.getHostAddress()));
        }
        if (localPort != 0) {
            m.addAll(List.of("-p", "tcp", "--dport", String.valueOf(localPort)));
        }
        if (remotePort != 0) {
            m.addAll(List.of("-p", "tcp", "--sport", String.valueOf(remotePort)));
        }
        return m;
    }

    /** The iptables match for packets leaving through {@code iface}. */
    List<String> outbound(String iface) {
        List<String> m = new ArrayList<>(List.of("-o", iface));
        if (localAddress != null) {
            m.addAll(List.of("-s", localAddress.getHostAddress()));
        }
        if (localPort != 0) {
            m.addAll(List.of("-p", "tcp", "--sport", String.valueOf(localPort)));
        }
        if (remotePort != 0) {
            m.addAll(List.of("-p", "tcp", "--dport", String.valueOf(remotePort)));
        }
        return m;
    }

    /** Whether the match is restricted to TCP (a port is named). */
    boolean isTcp() {
        return localPort != 0 || remotePort != 0;
    }

    @Override
    public String toString() {
        if (localAddress != null) {
            return "address " + localAddress.getHostAddress();
        }
        if (localPort != 0) {
            return "local port " + localPort;
        }
        if (remotePort != 0) {
            return "remote port " + remotePort;
        }
        return "all";
    }
}
