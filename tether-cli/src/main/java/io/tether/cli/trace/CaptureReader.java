package io.tether.cli.trace;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A streaming reader of classic pcap and pcapng files, written for {@code tether trace}: it holds
 * one buffer (1 MiB, more only for a packet larger than that) whatever the file's size, allocates
 * nothing per packet, and hands each packet to a {@link PacketSink}.
 *
 * <p>Classic pcap: both byte orders, microsecond (magic {@code a1b2c3d4}) and nanosecond
 * ({@code a1b23c4d}) timestamps. pcapng: Section Header (both byte orders, several sections),
 * Interface Description (link type, {@code if_tsresol}, {@code if_tsoffset} per interface),
 * Enhanced, Simple and obsolete Packet blocks; every other block is skipped.
 *
 * <p>Why not a library: the pure-Java readers on Maven Central either read classic pcap only
 * (pkts.io), or are unmaintained (pcapngdecoder, last release 2017), or not published there
 * (SiliconLabs java-pcap), or need the native libpcap (pcap4j, jnetpcap). All of them allocate an
 * object per packet, which costs the throughput {@code tether trace} aims for (a million packets
 * per second); the two formats are small enough to read here in a few hundred lines.
 *
 * <p>A file that ends in the middle of a record or block is not an error: everything complete is
 * delivered and {@link #truncated()} says how many bytes were left over. Not thread-safe.
 */
public final class CaptureReader {
    /** Largest packet or block accepted; anything larger means a corrupt file. */
    static final int MAX_RECORD = 64 << 20;
    private static final int BUFFER = 1 << 20;

    private final InputStream in;
    private final String name;
    private byte[] buf = new byte[BUFFER];
    private int pos;
    private int limit;
    private boolean eof;
    private long consumed;
    private long packets;
    private long truncatedBytes = -1;
    private String format = "unknown";

    // pcapng interfaces of the current section
    private final List<int[]> ifLink = new ArrayList<>();
    private final List<long[]> ifTime = new ArrayList<>(); // {resolution code, offset seconds, snaplen}
    private long lastTime;

    private CaptureReader(InputStream in, String name) {
        this.in = in;
        this.name = name;
    }

    /** Reads {@code file} from start to end, handing every packet to {@code sink}. */
    public static CaptureReader read(Path file, PacketSink sink) throws IOException, CaptureFormatException {
        try (InputStream in = Files.newInputStream(file)) {
            CaptureReader r = new CaptureReader(in, file.toString());
            r.run(sink);
            return r;
        }
    }

    /** Reads a capture from a stream (for tests); the stream is not closed. */
    public static CaptureReader read(InputStream in, String name, PacketSink sink) throws IOException, CaptureFormatException {
        CaptureReader r = new CaptureReader(in, name);
        r.run(sink);
        return r;
    }

    /** "pcap" (with its byte order and resolution) or "pcapng". */
    public String format() {
        return format;
    }

    public long packets() {
        return packets;
    }

    /** Bytes at the end of the file that did not make a whole record or block; -1 if none. */
    public long truncated() {
        return truncatedBytes;
    }

    private void run(PacketSink sink) throws IOException, CaptureFormatException {
        if (!fill(4)) {
            throw new CaptureFormatException(name + " is not a pcap or pcapng capture: "
                    + (limit == 0 ? "the file is empty" : "only " + limit + " bytes"));
        }
        int magicBe = intBe(pos);
        switch (magicBe) {
            case 0xa1b2c3d4 -> classic(sink, true, 1000);
            case 0xd4c3b2a1 -> classic(sink, false, 1000);
            case 0xa1b23c4d -> classic(sink, true, 1);
            case 0x4d3cb2a1 -> classic(sink, false, 1);
            case 0x0a0d0d0a -> pcapng(sink);
            default -> throw new CaptureFormatException(name + " is not a pcap or pcapng capture (it starts with "
                    + String.format("%02x %02x %02x %02x", buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3])
                    + "; a pcap file starts with a1 b2 c3 d4 or d4 c3 b2 a1, a pcapng file with 0a 0d 0d 0a)."
                    + " Write one with: tcpdump -w FILE");
        }
    }

    private void classic(PacketSink sink, boolean bigEndian, int nanosPerUnit) throws IOException, CaptureFormatException {
        format = "pcap (" + (bigEndian ? "big" : "little") + "-endian, " + (nanosPerUnit == 1 ? "ns" : "µs") + ")";
        if (!fill(24)) {
            truncatedBytes = limit - pos;
            return;
        }
        int linkType = int32(pos + 20, bigEndian) & 0x0fffffff;
        pos += 24;
        while (true) {
            if (!fill(16)) {
                noteTail();
                return;
            }
            long sec = int32(pos, bigEndian) & 0xffffffffL;
            long frac = int32(pos + 4, bigEndian) & 0xffffffffL;
            int caplen = int32(pos + 8, bigEndian);
            int origlen = int32(pos + 12, bigEndian);
            if (caplen < 0 || caplen > MAX_RECORD) {
                throw new CaptureFormatException(name + ": corrupt pcap record at byte " + (consumed + pos)
                        + " (captured length " + Integer.toUnsignedString(caplen) + ")");
            }
            if (!fill(16 + caplen)) {
                noteTail();
                return;
            }
            lastTime = sec * 1_000_000_000L + frac * nanosPerUnit;
            packets++;
            sink.packet(lastTime, linkType, buf, pos + 16, caplen, origlen);
            pos += 16 + caplen;
        }
    }

    private void pcapng(PacketSink sink) throws IOException, CaptureFormatException {
        format = "pcapng";
        boolean be = true;
        boolean first = true;
        while (true) {
            if (!fill(12)) {
                noteTail();
                return;
            }
            int typeRaw = intBe(pos);
            if (typeRaw == 0x0a0d0d0a) {
                // Section Header: its byte-order magic decides how to read this section, this block's length included.
                int bom = intBe(pos + 8);
                if (bom == 0x1a2b3c4d) {
                    be = true;
                } else if (bom == 0x4d3c2b1a) {
                    be = false;
                } else {
                    throw new CaptureFormatException(name + ": corrupt pcapng section header at byte " + (consumed + pos)
                            + " (byte-order magic " + Integer.toHexString(bom) + ")");
                }
                ifLink.clear();
                ifTime.clear();
            } else if (first) {
                throw new CaptureFormatException(name + " is not a pcapng capture: no section header");
            }
            first = false;
            int type = int32(pos, be);
            int len = int32(pos + 4, be);
            if (len < 12 || (len & 3) != 0 || len > MAX_RECORD) {
                throw new CaptureFormatException(name + ": corrupt pcapng block at byte " + (consumed + pos)
                        + " (length " + Integer.toUnsignedString(len) + ")");
            }
            if (!fill(len)) {
                noteTail();
                return;
            }
            switch (type) {
                case 1 -> interfaceBlock(pos, len, be);
                case 6 -> {
                    int iface = int32(pos + 8, be);
                    long ts = ((int32(pos + 12, be) & 0xffffffffL) << 32) | (int32(pos + 16, be) & 0xffffffffL);
                    int caplen = int32(pos + 20, be);
                    int orig = int32(pos + 24, be);
                    if (caplen < 0 || caplen > len - 32) {
                        throw new CaptureFormatException(name + ": corrupt pcapng packet block at byte " + (consumed + pos));
                    }
                    deliver(sink, iface, ts, pos + 28, caplen, orig);
                }
                case 3 -> {
                    int orig = int32(pos + 8, be);
                    int caplen = Math.min(orig, len - 16);
                    if (!ifLink.isEmpty() && ifTime.get(0)[2] > 0) {
                        caplen = (int) Math.min(caplen, ifTime.get(0)[2]);
                    }
                    packets++;
                    // A Simple Packet Block has no timestamp: it is taken to be the previous packet's.
                    sink.packet(lastTime, ifLink.isEmpty() ? -1 : ifLink.get(0)[0], buf, pos + 12, Math.max(0, caplen), orig);
                }
                case 2 -> {
                    int iface = short16(pos + 8, be);
                    long ts = ((int32(pos + 12, be) & 0xffffffffL) << 32) | (int32(pos + 16, be) & 0xffffffffL);
                    int caplen = int32(pos + 20, be);
                    int orig = int32(pos + 24, be);
                    if (caplen < 0 || caplen > len - 32) {
                        throw new CaptureFormatException(name + ": corrupt pcapng packet block at byte " + (consumed + pos));
                    }
                    deliver(sink, iface, ts, pos + 28, caplen, orig);
                }
                default -> {
                    // statistics, name resolution, custom blocks: nothing a connection's story needs
                }
            }
            pos += len;
        }
    }

    private void deliver(PacketSink sink, int iface, long ts, int at, int caplen, int orig) throws CaptureFormatException {
        if (iface < 0 || iface >= ifLink.size()) {
            throw new CaptureFormatException(name + ": packet of undeclared interface " + iface + " at byte " + (consumed + at));
        }
        long[] t = ifTime.get(iface);
        lastTime = toNanos(ts, (int) t[0]) + t[1] * 1_000_000_000L;
        packets++;
        sink.packet(lastTime, ifLink.get(iface)[0], buf, at, caplen, orig);
    }

    private void interfaceBlock(int at, int len, boolean be) {
        int link = short16(at + 8, be);
        long snaplen = int32(at + 12, be) & 0xffffffffL;
        int tsresol = 6;
        long tsoffset = 0;
        int o = at + 16;
        int end = at + len - 4;
        while (o + 4 <= end) {
            int code = short16(o, be);
            int olen = short16(o + 2, be);
            if (code == 0) {
                break;
            }
            if (code == 9 && olen >= 1) {
                tsresol = buf[o + 4] & 0xff;
            } else if (code == 14 && olen >= 8) {
                long first = int32(o + 4, be) & 0xffffffffL;
                long second = int32(o + 8, be) & 0xffffffffL;
                // a 64-bit value in the section's byte order: little-endian puts the low half first
                tsoffset = be ? (first << 32) | second : (second << 32) | first;
            }
            o += 4 + ((olen + 3) & ~3);
        }
        ifLink.add(new int[] {link});
        ifTime.add(new long[] {tsresol, tsoffset, snaplen});
    }

    /** A pcapng timestamp in units of 10^-r (high bit of r clear) or 2^-r (set) seconds, in nanoseconds. */
    static long toNanos(long ts, int resol) {
        if ((resol & 0x80) == 0) {
            int r = resol;
            if (r == 9) {
                return ts;
            }
            if (r < 9) {
                return ts * POW10[9 - r];
            }
            return r - 9 < POW10.length ? ts / POW10[r - 9] : 0;
        }
        int p = resol & 0x7f;
        if (p >= 63) {
            return 0;
        }
        long whole = ts >>> p;
        long frac = ts & ((1L << p) - 1);
        return whole * 1_000_000_000L + (p <= 32 ? (frac * 1_000_000_000L) >>> p
                : (long) (frac / Math.pow(2, p) * 1e9));
    }

    private static final long[] POW10 = {1L, 10L, 100L, 1_000L, 10_000L, 100_000L, 1_000_000L, 10_000_000L,
            100_000_000L, 1_000_000_000L, 10_000_000_000L, 100_000_000_000L, 1_000_000_000_000L};

    private void noteTail() {
        if (limit > pos) {
            truncatedBytes = limit - pos;
        }
    }

    /** Makes {@code n} bytes available at {@code pos}; false if the file ends first. */
    private boolean fill(int n) throws IOException {
        if (limit - pos >= n) {
            return true;
        }
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            limit -= pos;
            consumed += pos;
            pos = 0;
        }
        if (n > buf.length) {
            byte[] bigger = new byte[Math.max(n, buf.length * 2)];
            System.arraycopy(buf, 0, bigger, 0, limit);
            buf = bigger;
        }
        while (limit < n && !eof) {
            int r = in.read(buf, limit, buf.length - limit);
            if (r < 0) {
                eof = true;
            } else {
                limit += r;
            }
        }
        return limit - pos >= n;
    }

    private int intBe(int at) {
        return ((buf[at] & 0xff) << 24) | ((buf[at + 1] & 0xff) << 16) | ((buf[at + 2] & 0xff) << 8) | (buf[at + 3] & 0xff);
    }

    private int int32(int at, boolean be) {
        return be ? intBe(at)
                : (buf[at] & 0xff) | ((buf[at + 1] & 0xff) << 8) | ((buf[at + 2] & 0xff) << 16) | ((buf[at + 3] & 0xff) << 24);
    }

    private int short16(int at, boolean be) {
        return be ? ((buf[at] & 0xff) << 8) | (buf[at + 1] & 0xff) : (buf[at] & 0xff) | ((buf[at + 1] & 0xff) << 8);
    }
}
