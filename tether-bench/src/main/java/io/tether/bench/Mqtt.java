package io.tether.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/** The handful of MQTT 3.1.1 packets the benchmarks use, encoded by hand. */
final class Mqtt {
    static final int CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14;
    static final byte[] CONNACK_OK = {0x20, 0x02, 0x00, 0x00};
    static final byte[] PINGREQ_BYTES = {(byte) 0xC0, 0x00};
    static final byte[] PINGRESP_BYTES = {(byte) 0xD0, 0x00};
    static final byte[] DISCONNECT_BYTES = {(byte) 0xE0, 0x00};

    private Mqtt() {
    }

    /** The remaining length of the packet starting at {@code start}, or -1 if not all of its header is there. */
    static int remainingLength(ByteBuf in, int start) {
        int value = 0;
        int mult = 1;
        for (int i = 1; i <= 4; i++) {
            if (in.writerIndex() <= start + i) {
                return -1;
            }
            int b = in.getUnsignedByte(start + i);
            value += (b & 0x7F) * mult;
            if ((b & 0x80) == 0) {
                return value;
            }
            mult *= 128;
        }
        throw new IllegalStateException("malformed remaining length");
    }

    /** Fixed header length (type byte + varint) for a remaining length. */
    static int headerLength(int remaining) {
        return 1 + (remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4);
    }

    static void writeRemaining(ByteBuf out, int len) {
        do {
            int b = len % 128;
            len /= 128;
            out.writeByte(len > 0 ? b | 0x80 : b);
        } while (len > 0);
    }

    static ByteBuf connect(ByteBufAllocator alloc, String clientId, int keepAliveSeconds) {
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        int len = 10 + 2 + id.length;
        ByteBuf b = alloc.buffer(len + 2);
        b.writeByte(0x10);
        writeRemaining(b, len);
        b.writeShort(4).writeBytes("MQTT".getBytes(StandardCharsets.US_ASCII));
        b.writeByte(4); // protocol level 3.1.1
        b.writeByte(0x02); // clean session
        b.writeShort(keepAliveSeconds);
        b.writeShort(id.length).writeBytes(id);
        return b;
    }

    static ByteBuf publishQos1(ByteBufAllocator alloc, byte[] topic, int packetId, byte[] payload) {
        int len = 2 + topic.length + 2 + payload.length;
        ByteBuf b = alloc.buffer(len + 5);
        b.writeByte(0x32);
        writeRemaining(b, len);
        b.writeShort(topic.length).writeBytes(topic);
        b.writeShort(packetId);
        b.writeBytes(payload);
        return b;
    }

    static ByteBuf puback(ByteBufAllocator alloc, int packetId) {
        return alloc.buffer(4).writeByte(0x40).writeByte(2).writeShort(packetId);
    }
}
