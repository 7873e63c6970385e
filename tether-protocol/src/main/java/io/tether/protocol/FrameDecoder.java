package io.tether.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Splits the inbound byte stream into {@link Frame}s.
 *
 * <p>The length field is checked as soon as its four bytes have arrived, and the version byte as
 * soon as it has arrived, so an oversized or foreign frame is refused before any of its body is
 * buffered: the memory one connection can make the server hold is bounded by the maximum frame
 * length. After the first error the decoder discards everything: the connection is being closed
 * and nothing after a framing error can be trusted.
 *
 * <p>On the gateway the first frame of a connection must be a HELLO, and a HELLO is at most
 * {@link Protocol#MAX_HELLO_LENGTH} bytes long: {@link #firstFrameHello()} makes the decoder hold
 * the first frame to that length and check its type byte as soon as it arrives, so an
 * unauthenticated connection can make the server buffer about 1.2 KB, not the maximum frame
 * length (64 KiB by default) — 19,000 such connections hold 22 MB, not 1.2 GB.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameLength;
    private boolean failed;
    /** Until the first frame is decoded: only a HELLO of at most MAX_HELLO_LENGTH is accepted. */
    private boolean expectHello;
    /** The version of the connection: that of its first frame; 0 until then. */
    private int version;

    /**
     * @param maxFrameLength largest accepted value of the length field, in bytes
     * @throws IllegalArgumentException if below {@link Protocol#MIN_MAX_FRAME_LENGTH}
     */
    public FrameDecoder(int maxFrameLength) {
        if (maxFrameLength < Protocol.MIN_MAX_FRAME_LENGTH) {
            throw new IllegalArgumentException("maxFrameLength: " + maxFrameLength
                    + " (expected: >= " + Protocol.MIN_MAX_FRAME_LENGTH + ")");
        }
        this.maxFrameLength = maxFrameLength;
    }

    /**
     * The first frame must be a HELLO: its length is capped at {@link Protocol#MAX_HELLO_LENGTH}
     * and its type is checked as soon as the type byte arrives, before the body is buffered.
     *
     * @return this decoder
     */
    public FrameDecoder firstFrameHello() {
        expectHello = true;
        return this;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int readable = in.readableBytes();
        if (readable < Protocol.LENGTH_FIELD_SIZE) {
            return;
        }
        int start = in.readerIndex();
        long length;
        try {
            length = in.getUnsignedInt(start);
            if (expectHello && length > Protocol.MAX_HELLO_LENGTH) {
                throw new ProtocolException(Reason.FRAME_TOO_LARGE, "first frame length " + length
                        + " exceeds the largest HELLO (" + Protocol.MAX_HELLO_LENGTH + " bytes)");
            }
            FrameCodec.checkLength(length, maxFrameLength);
            if (readable > Protocol.LENGTH_FIELD_SIZE) {
                int v = FrameCodec.checkVersion(in.getUnsignedByte(start + Protocol.LENGTH_FIELD_SIZE));
                if (version != 0 && v != version) {
                    throw new ProtocolException(Reason.PROTOCOL_ERROR,
                            "frame version " + v + " on a version " + version + " connection");
                }
            }
            if (expectHello && readable > Protocol.LENGTH_FIELD_SIZE + 1) {
                int type = in.getUnsignedByte(start + Protocol.LENGTH_FIELD_SIZE + 1);
                if (type != FrameType.HELLO) {
                    throw new ProtocolException(Reason.PROTOCOL_ERROR,
                            "first frame must be HELLO, got " + FrameType.name(type));
                }
            }
        } catch (ProtocolException e) {
            fail(in);
            throw e;
        }
        if (readable < Protocol.LENGTH_FIELD_SIZE + length) {
            return;
        }
        in.skipBytes(Protocol.LENGTH_FIELD_SIZE);
        int frameVersion = in.readUnsignedByte();
        int type = in.readUnsignedByte();
        ByteBuf body = in.readSlice((int) length - Protocol.HEADER_SIZE);
        expectHello = false;
        version = frameVersion;
        try {
            out.add(FrameCodec.decodeBody(frameVersion, type, body));
        } catch (ProtocolException e) {
            fail(in);
            throw e;
        }
    }

    /**
     * The protocol version of this connection: the version byte of its first frame (every later
     * frame must carry the same, else PROTOCOL_ERROR); 0 before the first frame.
     */
    public int version() {
        return version;
    }

    /** Bytes received and held until the rest of their frame arrives (bounded by the maximum frame length + 4). */
    public int buffered() {
        return actualReadableBytes();
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }
}
