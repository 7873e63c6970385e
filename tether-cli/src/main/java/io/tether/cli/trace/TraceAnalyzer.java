package io.tether.cli.trace;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Follows every TCP connection of a capture (on one port, or all) and hands each finished story to
 * a consumer, in a stream: memory grows with the number of connections open at once, never with
 * the file's size.
 *
 * <p>A connection is over at its RST or at the second FIN; it is kept {@link #LINGER_NANOS} of
 * capture time longer (its last ACKs and retransmitted RSTs still belong to it), or
 * {@link #HOLD_NANOS} if it may have died of a silent path (the server timed it out or probed it
 * unanswered): a device that comes back within that time resuming its session changes its verdict
 * to NAT/middlebox silence. Then it is handed on. Connections still open at the end of the capture
 * are handed on last, in the order they began. If more than {@link #MAX_HELD} finished connections
 * are waiting, the oldest go at once: memory stays bounded by the connections open at once
 * (a few KB each) plus that many.
 *
 * <p>Use: create, feed it packets as a {@link PacketSink} (e.g. from {@link CaptureReader}), then
 * call {@link #finish()}. Not thread-safe.
 */
public final class TraceAnalyzer implements PacketSink {
    static final long LINGER_NANOS = 10_000_000_000L;
    static final long HOLD_NANOS = 120_000_000_000L;
    static final int MAX_HELD = 10_000;

    private final int port;
    private final Consumer<Connection> out;
    private final TcpSegment seg = new TcpSegment();
    private final ConnectionTable table = new ConnectionTable();
    private final ArrayDeque<Connection> lingering = new ArrayDeque<>();
    private final ArrayDeque<Connection> held = new ArrayDeque<>();
    private final Map<Long, Connection> sessions = new HashMap<>();
    private final Map<String, Connection> devices = new HashMap<>();

    private int nextId;
    long packets;
    long tcpPackets;
    long portPackets;
    long unknownLinkPackets;
    long firstTime = -1;
    long lastTime = -1;
    long connections;

    /**
     * @param port the Tether port (the server side of every connection followed), 0 for every TCP connection
     * @param out  receives each finished connection
     */
    TraceAnalyzer(int port, Consumer<Connection> out) {
        this.port = port;
        this.out = out;
    }

    @Override
    public void packet(long t, int linkType, byte[] data, int offset, int capturedLength, int wireLength) {
        packets++;
        if (firstTime < 0) {
            firstTime = t;
        }
        lastTime = t;
        if (!seg.decode(linkType, data, offset, capturedLength)) {
            return;
        }
        tcpPackets++;
        TcpSegment s = seg;
        if (port != 0 && s.srcPort != port && s.dstPort != port) {
            return;
        }
        portPackets++;
        boolean srcIsA = compare(s.srcHi, s.srcLo, s.srcPort, s.dstHi, s.dstLo, s.dstPort) <= 0;
        long aHi = srcIsA ? s.srcHi : s.dstHi;
        long aLo = srcIsA ? s.srcLo : s.dstLo;
        long bHi = srcIsA ? s.dstHi : s.srcHi;
        long bLo = srcIsA ? s.dstLo : s.srcLo;
        int ports = srcIsA ? (s.srcPort << 16) | s.dstPort : (s.dstPort << 16) | s.srcPort;
        Connection c = table.get(aHi, aLo, bHi, bLo, ports);
        boolean newSyn = s.has(TcpSegment.SYN) && !s.has(TcpSegment.ACK);
        if (c != null && newSyn && c.closed() && c.synTime >= 0 && c.device.isn != s.seq) {
            // the same four-tuple, used again by a new connection
            table.remove(c);
            held.remove(c);
            lingering.remove(c);
            emit(c);
            c = null;
        }
        if (c == null) {
            boolean deviceIsSrc;
            if (s.has(TcpSegment.SYN)) {
                deviceIsSrc = !s.has(TcpSegment.ACK);
            } else if (port != 0) {
                deviceIsSrc = s.dstPort == port;
            } else {
                deviceIsSrc = s.srcPort > s.dstPort;
            }
            c = new Connection(nextId++, this, aHi, aLo, bHi, bLo, ports, s.ipv6, deviceIsSrc == srcIsA);
            table.put(c);
            connections++;
        }
        boolean wasClosed = c.closed();
        c.packet(s, srcIsA == c.deviceIsA, t, wireLength);
        if (!wasClosed && c.closed()) {
            (mayResume(c) ? held : lingering).add(c);
        }
        if ((packets & 1023) == 0) {
            expire(t);
        }
    }

    /** A connection the server ended for silence: a later HELLO resuming its session would make it a middlebox's doing. */
    private static boolean mayResume(Connection c) {
        return c.welcomeTime >= 0 && (c.server.byeReason == io.tether.protocol.Reason.HEARTBEAT_TIMEOUT.code()
                || c.server.keepaliveProbes > 0 || c.server.retransmissions > 0);
    }

    private void expire(long now) {
        expire(lingering, LINGER_NANOS, now);
        expire(held, HOLD_NANOS, now);
    }

    private void expire(ArrayDeque<Connection> q, long keep, long now) {
        while (!q.isEmpty() && (q.peek().closedTime + keep < now || lingering.size() + held.size() > MAX_HELD)) {
            Connection c = q.poll();
            table.remove(c);
            emit(c);
        }
    }

    private void emit(Connection c) {
        if (c.emitted) {
            return;
        }
        c.emitted = true;
        c.finish(lastTime);
        if (c.welcomeTime >= 0) {
            sessions.remove(c.sessionId, c);
        }
        if (c.deviceId != null) {
            devices.remove(c.deviceId, c);
        }
        out.accept(c);
    }

    /** Hands on every connection still held or open, in the order they began. */
    public void finish() {
        List<Connection> rest = new ArrayList<>(table.size());
        table.forEach(rest::add);
        rest.sort(Comparator.comparingInt(c -> c.id));
        for (Connection c : rest) {
            emit(c);
        }
        table.clear();
        held.clear();
        lingering.clear();
    }

    void hello(Connection c, long t) {
        Connection prev = devices.put(c.deviceId, c);
        if (prev != null && prev != c && !prev.emitted && (prev.closedTime < 0 || prev.closedTime >= t - 1_000_000L)
                && prev.newerId < 0) {
            prev.newerId = c.id;
            prev.newerTime = t;
        }
        if (c.resumeSession != 0) {
            Connection old = sessions.get(c.resumeSession);
            if (old != null && old != c && !old.emitted && old.resumedById < 0) {
                old.resumedById = c.id;
                old.resumedByTime = t;
            }
        }
    }

    void welcome(Connection c) {
        sessions.put(c.sessionId, c);
    }

    /** A capture time as seconds since the capture's first packet, e.g. {@code 12.345 s}. */
    String rel(long t) {
        return t < 0 ? "?" : seconds(t - firstTime) + " s";
    }

    /** Nanoseconds as seconds with three decimals, rounded half up, without String.format (called per connection). */
    static String seconds(long nanos) {
        long ms = Math.round(nanos / 1e6);
        String sign = ms < 0 ? "-" : "";
        ms = Math.abs(ms);
        long frac = ms % 1000;
        return sign + (ms / 1000) + "." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + frac;
    }

    private static int compare(long hi1, long lo1, int p1, long hi2, long lo2, int p2) {
        int c = Long.compareUnsigned(hi1, hi2);
        if (c != 0) {
            return c;
        }
        c = Long.compareUnsigned(lo1, lo2);
        return c != 0 ? c : Integer.compare(p1, p2);
    }

    /** Open addressing with linear probing, keyed by the canonical four-tuple; no allocation per lookup. */
    static final class ConnectionTable {
        private Connection[] slots = new Connection[1024];
        private int size;

        int size() {
            return size;
        }

        private static int hash(long aHi, long aLo, long bHi, long bLo, int ports) {
            long h = aLo * 0x9E3779B97F4A7C15L ^ bLo * 0xC2B2AE3D27D4EB4FL ^ aHi * 31 ^ bHi * 17 ^ ports * 0x165667B19E3779F9L;
            h ^= h >>> 29;
            return (int) (h ^ (h >>> 32));
        }

        Connection get(long aHi, long aLo, long bHi, long bLo, int ports) {
            int mask = slots.length - 1;
            for (int i = hash(aHi, aLo, bHi, bLo, ports) & mask; ; i = (i + 1) & mask) {
                Connection c = slots[i];
                if (c == null) {
                    return null;
                }
                if (c.ports == ports && c.aLo == aLo && c.bLo == bLo && c.aHi == aHi && c.bHi == bHi) {
                    return c;
                }
            }
        }

        void put(Connection c) {
            if ((size + 1) * 2 > slots.length) {
                Connection[] old = slots;
                slots = new Connection[old.length * 2];
                size = 0;
                for (Connection o : old) {
                    if (o != null) {
                        insert(o);
                    }
                }
            }
            insert(c);
        }

        private void insert(Connection c) {
            int mask = slots.length - 1;
            int i = hash(c.aHi, c.aLo, c.bHi, c.bLo, c.ports) & mask;
            while (slots[i] != null) {
                i = (i + 1) & mask;
            }
            slots[i] = c;
            size++;
        }

        /** Removes by backward-shift deletion, so lookups need no tombstones. */
        void remove(Connection c) {
            int mask = slots.length - 1;
            int i = hash(c.aHi, c.aLo, c.bHi, c.bLo, c.ports) & mask;
            while (slots[i] != c) {
                if (slots[i] == null) {
                    return;
                }
                i = (i + 1) & mask;
            }
            slots[i] = null;
            size--;
            int j = i;
            while (true) {
                j = (j + 1) & mask;
                Connection m = slots[j];
                if (m == null) {
                    return;
                }
                int home = hash(m.aHi, m.aLo, m.bHi, m.bLo, m.ports) & mask;
                // move m back into the hole if its home is not between the hole and its slot (cyclically)
                boolean between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
                if (!between) {
                    slots[i] = m;
                    slots[j] = null;
                    i = j;
                }
            }
        }

        void forEach(Consumer<Connection> f) {
            for (Connection c : slots) {
                if (c != null) {
                    f.accept(c);
                }
            }
        }

        void clear() {
            slots = new Connection[1024];
            size = 0;
        }
    }
}
