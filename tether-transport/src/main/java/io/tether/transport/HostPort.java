package io.tether.transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;

/**
 * {@code host:port}, parsed and formatted one way everywhere (flags, config, event log, admin
 * JSON, SDK): IPv6 literals in brackets ({@code [::1]:7400}, RFC 3986 section 3.2.2), so the
 * last colon is always the port's.
 */
public final class HostPort {
    private HostPort() {
    }

    /**
     * Formats an address as {@code host:port} with the numeric host ({@code 10.0.0.7:7400},
     * {@code [2001:db8::1]:7400}); {@code null} as {@code null}.
     */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress isa) {
            InetAddress a = isa.getAddress();
            String host = a != null ? a.getHostAddress() : isa.getHostString();
            return format(host, isa.getPort());
        }
        return address == null ? null : address.toString();
    }

    /** Formats {@code host} and {@code port}, bracketing an IPv6 literal. */
    public static String format(String host, int port) {
        int zone = host.indexOf('%');
        boolean v6 = host.indexOf(':') >= 0;
        return (v6 ? "[" + (zone >= 0 ? host.substring(0, zone) : host) + "]" : host) + ":" + port;
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port}, or {@code :port} / a bare port (any address),
     * without resolving names.
     *
     * @param what the flag or key it came from, for the error message ({@code --admin})
     * @throws IllegalArgumentException naming {@code what}, the value and the expected form
     */
    public static InetSocketAddress parse(String what, String value) {
        String v = value == null ? "" : value.trim();
        String host;
        String port;
        if (v.startsWith("[")) {
            int close = v.indexOf(']');
            if (close < 0 || close + 1 >= v.length() || v.charAt(close + 1) != ':') {
                throw bad(what, value);
            }
            host = v.substring(1, close);
            port = v.substring(close + 2);
        } else {
            int colon = v.lastIndexOf(':');
            if (colon < 0) {
                if (!v.isEmpty() && v.chars().allMatch(Character::isDigit)) {
                    return new InetSocketAddress(port(what, value, v));
                }
                throw bad(what, value);
            }
            host = v.substring(0, colon);
            port = v.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw new IllegalArgumentException(what + " '" + value
                        + "': an IPv6 address needs brackets, e.g. [::1]:7400");
            }
        }
        int p = port(what, value, port);
        if (host.isEmpty() || host.equals("*")) {
            return new InetSocketAddress(p);
        }
        return InetSocketAddress.createUnresolved(host, p);
    }

    /**
     * Parses as {@link #parse} and resolves the host name.
     *
     * @throws IllegalArgumentException if the form is wrong or the host does not resolve
     */
    public static InetSocketAddress resolve(String what, String value) {
        InetSocketAddress a = parse(what, value);
        if (!a.isUnresolved()) {
            return a;
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(a.getHostString()), a.getPort());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + " '" + value + "': unknown host '" + a.getHostString() + "'");
        }
    }

    /**
     * Parses {@code IPV4:PORT} or {@code [IPV6]:PORT} where the host is an IP address literal, and
     * never asks DNS: for addresses read back from JSON or logs.
     *
     * @throws IllegalArgumentException if the form is wrong or the host is not an IP literal
     */
    public static InetSocketAddress parseLiteral(String what, String value) {
        InetSocketAddress a = parse(what, value);
        if (!a.isUnresolved()) {
            return a;
        }
        String host = a.getHostString();
        boolean literal = host.indexOf(':') >= 0
                ? host.matches("[0-9A-Fa-f:.]+(%[\\w.]+)?")
                : host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        if (!literal) {
            throw new IllegalArgumentException(what + " '" + value + "': '" + host + "' is not an IP address literal");
        }
        try {
            // A literal: getByName parses it and does not look anything up.
            return new InetSocketAddress(InetAddress.getByName(host), a.getPort());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + " '" + value + "': " + e.getMessage());
        }
    }

    private static int port(String what, String value, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException(what + " '" + value + "': port '" + port + "' is not 0 to 65535");
    }

    private static IllegalArgumentException bad(String what, String value) {
        return new IllegalArgumentException(what + " '" + value + "': expected HOST:PORT, e.g. 127.0.0.1:7400 or [::1]:7400");
    }
}
