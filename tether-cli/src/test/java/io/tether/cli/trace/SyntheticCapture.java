package io.tether.cli.trace;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes captures for tests without a network: classic pcap (either byte order, µs or ns) or
 * pcapng, with Ethernet, Linux SLL2 or raw IP framing, IPv4 or IPv6, and TCP segments whose
 * sequence numbers {@link Flow} keeps right.
 */
final class SyntheticCapture implements AutoCloseable {
    enum Format { PCAP_LE_US, PCAP_BE_US, PCAP_LE_NS, PCAPNG_LE, PCAPNG_BE }

    private final OutputStream out;
    private final Format format;
    private final int linkType;
    private final ByteOrder order;
    long packets;

    SyntheticCapture(Path file, Format format, int linkType) {
        this.format = format;
        this.linkType = linkType;
        this.order = format == Format.PCAP_BE_US || format == Format.PCAPNG_BE ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        try {
            this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20);
            header();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ByteBuffer buf(int n) {
        return ByteBuffer.allocate(n).order(order);
    }

    private void header() throws IOException {
        switch (format) {
            case PCAP_LE_US, PCAP_BE_US, PCAP_LE_NS -> {
                ByteBuffer b = buf(24);
                b.putInt(format == Format.PCAP_LE_NS ? 0xa1b23c4d : 0xa1b2c3d4).putShort((short) 2).putShort((short) 4)
                        .putInt(0).putInt(0).putInt(262144).putInt(linkType);
                out.write(b.array());
            }
            case PCAPNG_LE, PCAPNG_BE -> {
                ByteBuffer shb = buf(28);
                shb.putInt(0x0a0d0d0a).putInt(28).putInt(0x1a2b3c4d).putShort((short) 1).putShort((short) 0).putLong(-1).putInt(28);
                out.write(shb.array());
                // IDB with if_tsresol = 9 (nanoseconds)
                ByteBuffer idb = buf(32);
                idb.putInt(1).putInt(32).putShort((short) linkType).putShort((short) 0).putInt(262144)
                        .putShort((short) 9).putShort((short) 1).put((byte) 9).put(new byte[3])
                        .putShort((short) 0).putShort((short) 0).putInt(32);
                out.write(idb.array());
            }
        }
    }

    /** Writes one packet holding {@code frame} (link layer included). */
    void packet(long timeNanos, byte[] frame) {
        packets++;
        try {
            switch (format) {
                case PCAP_LE_US, PCAP_BE_US, PCAP_LE_NS -> {
                    ByteBuffer b = buf(16);
                    long frac = format == Format.PCAP_LE_NS ? timeNanos % 1_000_000_000L : (timeNanos % 1_000_000_000L) / 1000;
                    b.putInt((int) (timeNanos / 1_000_000_000L)).putInt((int) frac).putInt(frame.length).putInt(frame.length);
                    out.write(b.array());
                    out.write(frame);
                }
                case PCAPNG_LE, PCAPNG_BE -> {
                    int pad = (4 - frame.length % 4) % 4;
                    int len = 32 + frame.length + pad;
                    ByteBuffer b = buf(28);
                    b.putInt(6).putInt(len).putInt(0).putInt((int) (timeNanos >>> 32)).putInt((int) timeNanos)
                            .putInt(frame.length).putInt(frame.length);
                    out.write(b.array());
                    out.write(frame);
                    out.write(new byte[pad]);
                    out.write(buf(4).putInt(len).array());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An IP packet with a TCP segment, framed for {@code linkType}. */
    static byte[] tcp(int linkType, byte[] src, int srcPort, byte[] dst, int dstPort, int seq, int ack, int flags, int window,
                      byte[] payload) {
        boolean v6 = src.length == 16;
        int ipLen = (v6 ? 40 : 20) + 20 + payload.length;
        int link = switch (linkType) {
            case TcpSegment.LINKTYPE_ETHERNET -> 14;
            case TcpSegment.LINKTYPE_LINUX_SLL2 -> 20;
            case TcpSegment.LINKTYPE_LINUX_SLL -> 16;
            default -> 0;
        };
        ByteBuffer b = ByteBuffer.allocate(link + ipLen);
        short et = (short) (v6 ? 0x86dd : 0x0800);
        switch (linkType) {
            case TcpSegment.LINKTYPE_ETHERNET -> b.put(new byte[12]).putShort(et);
            case TcpSegment.LINKTYPE_LINUX_SLL2 -> b.putShort(et).put(new byte[18]);
            case TcpSegment.LINKTYPE_LINUX_SLL -> b.put(new byte[14]).putShort(et);
            default -> { }
        }
        if (v6) {
            b.putInt(0x60000000).putShort((short) (20 + payload.length)).put((byte) 6).put((byte) 64).put(src).put(dst);
        } else {
            b.put((byte) 0x45).put((byte) 0).putShort((short) ipLen).putInt(0).put((byte) 64).put((byte) 6).putShort((short) 0)
                    .put(src).put(dst);
        }
        b.putShort((short) srcPort).putShort((short) dstPort).putInt(seq).putInt(ack).put((byte) 0x50).put((byte) flags)
                .putShort((short) window).putInt(0).put(payload);
        return b.array();
    }

    static byte[] frame(Frame f) {
        ByteBuf b = Unpooled.buffer();
        FrameCodec.encode(f, b);
        byte[] a = new byte[b.readableBytes()];
        b.readBytes(a);
        b.release();
        return a;
    }

    /** One TCP connection: keeps each side's next sequence number. */
    final class Flow {
        final byte[] dev;
        final byte[] srv;
        final int devPort;
        final int srvPort;
        int devSeq = 1000;
        int srvSeq = 500000;
        long now;

        Flow(byte[] dev, int devPort, byte[] srv, int srvPort, long start) {
            this.dev = dev;
            this.devPort = devPort;
            this.srv = srv;
            this.srvPort = srvPort;
            this.now = start;
        }

        Flow at(long t) {
            now = t;
            return this;
        }

        Flow after(long nanos) {
            now += nanos;
            return this;
        }

        Flow handshake() {
            fromDevice(TcpSegment.SYN, new byte[0]);
            after(100_000).fromServer(TcpSegment.SYN | TcpSegment.ACK, new byte[0]);
            return after(100_000).fromDevice(TcpSegment.ACK, new byte[0]);
        }

        Flow fromDevice(int flags, byte[] payload) {
            packet(now, tcp(linkType, dev, devPort, srv, srvPort, devSeq, srvSeq, flags, 65535, payload));
            devSeq += payload.length + ((flags & (TcpSegment.SYN | TcpSegment.FIN)) != 0 ? 1 : 0);
            return this;
        }

        Flow fromServer(int flags, byte[] payload) {
            packet(now, tcp(linkType, srv, srvPort, dev, devPort, srvSeq, devSeq, flags, 65535, payload));
            srvSeq += payload.length + ((flags & (TcpSegment.SYN | TcpSegment.FIN)) != 0 ? 1 : 0);
            return this;
        }

        /** A device segment at an explicit seq (for reordering and retransmission); devSeq is left alone. */
        Flow packet3(int seq, byte[] payload) {
            packet(now, tcp(linkType, dev, devPort, srv, srvPort, seq, srvSeq, TcpSegment.ACK | TcpSegment.PSH, 65535, payload));
            return this;
        }

        /** The server's segment sent again, unchanged (a retransmission). */
        Flow serverAgain(int seq, int flags, byte[] payload) {
            packet(now, tcp(linkType, srv, srvPort, dev, devPort, seq, devSeq, flags, 65535, payload));
            return this;
        }

        Flow device(Frame f) {
            return fromDevice(TcpSegment.ACK | TcpSegment.PSH, frame(f));
        }

        Flow server(Frame f) {
            return fromServer(TcpSegment.ACK | TcpSegment.PSH, frame(f));
        }

        /** A keepalive probe from the server: seq one below its next, no data. */
        Flow serverProbe() {
            packet(now, tcp(linkType, srv, srvPort, dev, devPort, srvSeq - 1, devSeq, TcpSegment.ACK, 65535, new byte[0]));
            return this;
        }
    }

    Flow flow(byte[] dev, int devPort, byte[] srv, int srvPort, long start) {
        return new Flow(dev, devPort, srv, srvPort, start);
    }
}
