package io.tether.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Frames over plain blocking streams, for tests that play a device byte for byte (a raw socket
 * with no SDK in between). Stateless.
 */
public final class Frames {
    private Frames() {
    }

    /** The frame as bytes on the wire, length prefix included. */
    public static byte[] encode(Frame f) {
        ByteBuf buf = Unpooled.buffer(FrameCodec.encodedLength(f));
        try {
            FrameCodec.encode(f, buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /**
     * The frame as bytes on the wire with {@code version} as its version byte: what a version 2
     * connection sends for every frame (a version 1 type included).
     */
    public static byte[] encode(Frame f, int version) {
        ByteBuf buf = Unpooled.buffer(FrameCodec.encodedLength(f));
        try {
            FrameCodec.encode(f, version, buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** Writes one frame. */
    public static void write(OutputStream out, Frame f) throws IOException {
        out.write(encode(f));
        out.flush();
    }

    /** Writes one frame with {@code version} as its version byte. */
    public static void write(OutputStream out, Frame f, int version) throws IOException {
        out.write(encode(f, version));
        out.flush();
    }

    /**
     * Reads one whole frame, of either version (a command frame only in version 2); null on EOF
     * before its first byte.
     */
    public static Frame read(DataInputStream in) throws IOException {
        return read(in, 0);
    }

    /**
     * Like {@link #read(DataInputStream)}, and checks that the frame's version byte is
     * {@code version} (0: any), for tests that hold a peer to one version per connection.
     *
     * @throws IOException also if the version byte differs
     */
    public static Frame read(DataInputStream in, int version) throws IOException {
        int length;
        try {
            length = in.readInt();
        } catch (EOFException e) {
            return null;
        }
        byte[] frame = new byte[4 + length];
        frame[0] = (byte) (length >>> 24);
        frame[1] = (byte) (length >>> 16);
        frame[2] = (byte) (length >>> 8);
        frame[3] = (byte) length;
        in.readFully(frame, 4, length);
        if (version != 0 && length > 0 && (frame[4] & 0xFF) != version) {
            throw new IOException("frame version " + (frame[4] & 0xFF) + " (expected: " + version + ")");
        }
        ByteBuf buf = Unpooled.wrappedBuffer(frame);
        try {
            return FrameCodec.decode(buf);
        } finally {
            buf.release();
        }
    }
}
