package io.tether.server;

import io.tether.protocol.Frame;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A device written the blunt way, on a blocking socket, so tests control every byte and every
 * close: FIN (close), RST (SO_LINGER 0), or nothing at all. Public for the tests of other packages
 * (admin) that need a device which handshakes and then stays quiet.
 */
public final class RawDevice implements AutoCloseable {
    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    public RawDevice(int port) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    void send(Frame f) throws IOException {
        RawDeviceFrames.write(socket, f);
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public Frame.Welcome hello(String device, int heartbeatMillis) throws IOException {
        send(new Frame.Hello(heartbeatMillis, 0, device, new byte[0]));
        Frame f = read();
        if (!(f instanceof Frame.Welcome w)) {
            throw new IOException("expected WELCOME, got " + f);
        }
        return w;
    }

    /** The next frame; null on EOF. */
    Frame read() throws IOException {
        return io.tether.testkit.Frames.read(in);
    }

    /** Reads until EOF or an error; returns true if the stream ended (FIN or RST) within the socket timeout. */
    boolean awaitEnd() throws IOException {
        try {
            while (read() != null) {
                // discard
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    public int localPort() {
        return socket.getLocalPort();
    }

    /** Closes with RST. */
    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
