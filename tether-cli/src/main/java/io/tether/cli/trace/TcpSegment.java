package io.tether.cli.trace;

/**
 * One TCP segment as {@link TcpSegment#decode} found it in a captured packet. Mutable and reused
 * for every packet, so that reading a capture allocates nothing per packet. Addresses are kept as
 * two longs each (IPv4: high 0, low the address), so that IPv4 and IPv6 share one code path.
 */
final class TcpSegment {
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;

    static final int LINKTYPE_NULL = 0;
    static final int LINKTYPE_ETHERNET = 1;
    static final int LINKTYPE_RAW_OPENBSD = 12;
    static final int LINKTYPE_RAW = 101;
    static final int LINKTYPE_LINUX_SLL = 113;
    static final int LINKTYPE_IPV4 = 228;
    static final int LINKTYPE_IPV6 = 229;
    static final int LINKTYPE_LINUX_SLL2 = 276;

    boolean ipv6;
    long srcHi;
    long srcLo;
    long dstHi;
    long dstLo;
    int srcPort;
    int dstPort;
    int seq;
    int ack;
    int flags;
    int window;
    /** Payload length by the IP header: what the sender sent, whether or not it was all captured. */
    int payloadLength;
    /** Where the captured payload starts in {@link #data}, and how many of its bytes were captured. */
    int payloadOffset;
    int payloadCaptured;
    byte[] data;

    /**
     * Decodes a packet down to TCP.
     *
     * @return false if it is not an unfragmented (or first-fragment) TCP segment over IPv4 or IPv6
     *     on a link type this reader knows
     */
    boolean decode(int linkType, byte[] d, int off, int caplen) {
        int end = off + caplen;
        int ip;
        switch (linkType) {
            case LINKTYPE_ETHERNET -> {
                if (caplen < 14) {
                    return false;
                }
                int et = u16(d, off + 12);
                ip = off + 14;
                // 802.1Q and 802.1ad tags, possibly stacked
                while ((et == 0x8100 || et == 0x88a8) && ip + 4 <= end) {
                    et = u16(d, ip + 2);
                    ip += 4;
                }
                if (et != 0x0800 && et != 0x86dd) {
                    return false;
                }
            }
            case LINKTYPE_LINUX_SLL -> {
                if (caplen < 16) {
                    return false;
                }
                int et = u16(d, off + 14);
                if (et != 0x0800 && et != 0x86dd) {
                    return false;
                }
                ip = off + 16;
            }
            case LINKTYPE_LINUX_SLL2 -> {
                if (caplen < 20) {
                    return false;
                }
                int et = u16(d, off);
                if (et != 0x0800 && et != 0x86dd) {
                    return false;
                }
                ip = off + 20;
            }
            case LINKTYPE_NULL -> {
                // BSD loopback: the address family in the capturing host's byte order.
                if (caplen < 4) {
                    return false;
                }
                ip = off + 4;
            }
            case LINKTYPE_RAW, LINKTYPE_RAW_OPENBSD, LINKTYPE_IPV4, LINKTYPE_IPV6 -> ip = off;
            default -> {
                return false;
            }
        }
        if (ip >= end) {
            return false;
        }
        int version = (d[ip] & 0xff) >>> 4;
        int tcp;
        int tcpEnd; // end of the TCP segment by the IP header (may lie beyond the captured bytes)
        if (version == 4) {
            if (ip + 20 > end) {
                return false;
            }
            int ihl = (d[ip] & 0x0f) * 4;
            int total = u16(d, ip + 2);
            int frag = u16(d, ip + 6) & 0x1fff;
            if (d[ip + 9] != 6 || frag != 0 || ihl < 20 || total < ihl) {
                return false;
            }
            ipv6 = false;
            srcHi = 0;
            dstHi = 0;
            srcLo = u32(d, ip + 12) & 0xffffffffL;
            dstLo = u32(d, ip + 16) & 0xffffffffL;
            tcp = ip + ihl;
            tcpEnd = ip + total;
        } else if (version == 6) {
            if (ip + 40 > end) {
                return false;
            }
            int next = d[ip + 6] & 0xff;
            tcpEnd = ip + 40 + u16(d, ip + 4);
            tcp = ip + 40;
            // extension headers: hop-by-hop, routing, destination options; a fragment is followed only if it is the first
            int hops = 0;
            while (next != 6 && hops++ < 8) {
                if (tcp + 8 > end) {
                    return false;
                }
                if (next == 0 || next == 43 || next == 60) {
                    int n = d[tcp] & 0xff;
                    tcp += 8 + (d[tcp + 1] & 0xff) * 8;
                    next = n;
                } else if (next == 44) {
                    if ((u16(d, tcp + 2) & 0xfff8) != 0) {
                        return false;
                    }
                    next = d[tcp] & 0xff;
                    tcp += 8;
                } else {
                    return false;
                }
            }
            if (next != 6) {
                return false;
            }
            ipv6 = true;
            srcHi = u64(d, ip + 8);
            srcLo = u64(d, ip + 16);
            dstHi = u64(d, ip + 24);
            dstLo = u64(d, ip + 32);
        } else {
            return false;
        }
        if (tcp + 20 > end) {
            return false;
        }
        srcPort = u16(d, tcp);
        dstPort = u16(d, tcp + 2);
        seq = u32(d, tcp + 4);
        ack = u32(d, tcp + 8);
        int hlen = ((d[tcp + 12] & 0xff) >>> 4) * 4;
        flags = d[tcp + 13] & 0x3f;
        window = u16(d, tcp + 14);
        if (hlen < 20) {
            return false;
        }
        int payload = tcp + hlen;
        // An Ethernet frame may carry padding after a short IP packet: trust the IP length.
        payloadLength = Math.max(0, tcpEnd - payload);
        payloadOffset = payload;
        payloadCaptured = Math.max(0, Math.min(payloadLength, end - payload));
        data = d;
        return true;
    }

    boolean has(int flag) {
        return (flags & flag) != 0;
    }

    static int u16(byte[] d, int at) {
        return ((d[at] & 0xff) << 8) | (d[at + 1] & 0xff);
    }

    static int u32(byte[] d, int at) {
        return ((d[at] & 0xff) << 24) | ((d[at + 1] & 0xff) << 16) | ((d[at + 2] & 0xff) << 8) | (d[at + 3] & 0xff);
    }

    static long u64(byte[] d, int at) {
        return ((long) u32(d, at) << 32) | (u32(d, at + 4) & 0xffffffffL);
    }
}
