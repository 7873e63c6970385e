package io.tether.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes {@link Frame}s. Stateless and shared by all channels. */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToByteEncoder<Frame> {
    /** Writes each frame with the lowest version that has it (HELLO: its own version). */
    public static final FrameEncoder INSTANCE = new FrameEncoder(0);
    /** Writes every frame with version 1 and refuses the command frames: a version 1 connection. */
    public static final FrameEncoder VERSION_1 = new FrameEncoder(Protocol.VERSION);
    /** Writes every frame with version 2: the encoder of a device connection that takes commands. */
    public static final FrameEncoder VERSION_2 = new FrameEncoder(Protocol.VERSION_COMMANDS);

    /** 0: each frame's own lowest version. */
    private final int version;

    private FrameEncoder(int version) {
        super(Frame.class);
        this.version = version;
    }

    /** The shared encoder for a connection of {@code version}. */
    public static FrameEncoder forVersion(int version) {
        Protocol.checkVersion(version);
        return version == Protocol.VERSION ? VERSION_1 : VERSION_2;
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, Frame frame, boolean preferDirect) {
        int size = FrameCodec.encodedLength(frame);
        return preferDirect ? ctx.alloc().ioBuffer(size) : ctx.alloc().heapBuffer(size);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, ByteBuf out) {
        if (version == 0) {
            FrameCodec.encode(frame, out);
        } else {
            FrameCodec.encode(frame, version, out);
        }
    }
}
