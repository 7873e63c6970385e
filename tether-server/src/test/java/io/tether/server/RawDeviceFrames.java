package io.tether.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;

import java.io.IOException;
import java.net.Socket;

final class RawDeviceFrames {
    private RawDeviceFrames() {
    }

    static void write(Socket s, Frame f) throws IOException {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(f, buf);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            s.getOutputStream().write(bytes);
        } finally {
            buf.release();
        }
    }
}
