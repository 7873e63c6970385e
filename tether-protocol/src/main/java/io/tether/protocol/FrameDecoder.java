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
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameLength;
    private boolean failed;

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
            length = FrameCodec.checkLength(in.getUnsignedInt(start), maxFrameLength);
            if (readable > Protocol.LENGTH_FIELD_SIZE) {
                FrameCodec.checkVersion(in.getUnsignedByte(start + Protocol.LENGTH_FIELD_SIZE));
            }
        } catch (ProtocolException e) {
            fail(in);
            throw e;
        }
        if (readable < Protocol.LENGTH_FIELD_SIZE + length) {
            return;
        }
        in.skipBytes(Protocol.LENGTH_FIELD_SIZE + 1);
        int type = in.readUnsignedByte();
        ByteBuf body = in.readSlice((int) length - Protocol.HEADER_SIZE);
        try {
            out.add(FrameCodec.decodeBody(type, body));
        } catch (ProtocolException e) {
            fail(in);
            throw e;
        }
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
