package io.tether.server.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * A device on a blocking socket that completes a HELLO and then stays quiet (copied in short from
 * {@code io.tether.server.RawDevice}, which is package-private there).
 */
final class RawDevice implements AutoCloseable {
    final Socket socket;

    RawDevice(int port) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(10_000);
    }

    /** Sends HELLO and waits for WELCOME. */
    Frame.Welcome hello(String device) throws IOException {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(new Frame.Hello(0, 0, device, new byte[0]), buf);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            socket.getOutputStream().write(bytes);
        } finally {
            buf.release();
        }
        DataInputStream in = new DataInputStream(socket.getInputStream());
        int length = in.readInt();
        byte[] frame = new byte[4 + length];
        frame[0] = (byte) (length >>> 24);
        frame[1] = (byte) (length >>> 16);
        frame[2] = (byte) (length >>> 8);
        frame[3] = (byte) length;
        in.readFully(frame, 4, length);
        ByteBuf in2 = Unpooled.wrappedBuffer(frame);
        try {
            Frame f = FrameCodec.decode(in2);
            if (!(f instanceof Frame.Welcome w)) {
                throw new IOException("expected WELCOME, got " + f);
            }
            return w;
        } finally {
            in2.release();
        }
    }

    int localPort() {
        return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
