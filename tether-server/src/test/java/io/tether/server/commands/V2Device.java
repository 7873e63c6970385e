package io.tether.server.commands;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Protocol;
import io.tether.testkit.Frames;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/** A device that speaks protocol version 2 on a blocking socket: the test sends and reads every frame itself. */
final class V2Device implements AutoCloseable {
    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final int version;

    V2Device(int port) throws IOException {
        this(port, Protocol.VERSION_COMMANDS);
    }

    V2Device(int port, int version) throws IOException {
        this.version = version;
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    Frame.Welcome hello(String device) throws IOException {
        send(new Frame.Hello(version, 0, 0, device, new byte[0]));
        Frame f = read();
        if (!(f instanceof Frame.Welcome w)) {
            throw new IOException("expected WELCOME, got " + f);
        }
        return w;
    }

    void send(Frame f) throws IOException {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(f, version, buf);
            out.write(ByteBufUtil.getBytes(buf));
            out.flush();
        } finally {
            buf.release();
        }
    }

    Frame read() throws IOException {
        return Frames.read(in);
    }

    /** The next frame, which must be a COMMAND. */
    Frame.Command command() throws IOException {
        Frame f = read();
        if (!(f instanceof Frame.Command c)) {
            throw new IOException("expected COMMAND, got " + f);
        }
        return c;
    }

    /** Nothing arrives within {@code millis}: true; a frame: false. */
    boolean silentFor(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            Frame f = read();
            return f == null;
        } catch (java.net.SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(10_000);
        }
    }

    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
