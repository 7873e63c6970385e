package io.tether.client;

import io.tether.protocol.Frame;
import io.tether.protocol.Protocol;
import io.tether.testkit.Frames;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A version 2 server the test drives frame by frame on a plain blocking socket (the gateway's side
 * of commands is written separately): it speaks the version of the HELLO it read, and holds the
 * client to that version in every frame it reads ({@link Frames#read(DataInputStream, int)}).
 */
final class CommandServer implements AutoCloseable {
    static final Duration WAIT = FakeServer.WAIT;

    private final ServerSocket server;
    private final AtomicLong sessions = new AtomicLong(500);
    private final List<Conn> conns = new ArrayList<>();

    CommandServer() {
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            server.setSoTimeout((int) WAIT.toMillis());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    /** The next connection, waiting up to {@link #WAIT}. */
    Conn accept() {
        try {
            Socket s = server.accept();
            s.setSoTimeout((int) WAIT.toMillis());
            s.setTcpNoDelay(true);
            Conn c = new Conn(s);
            conns.add(c);
            return c;
        } catch (IOException e) {
            throw new AssertionError("no connection within " + WAIT, e);
        }
    }

    /** A connection through its WELCOME: HELLO read (and returned), WELCOME sent. */
    Conn session(long lastSeq) {
        Conn c = accept();
        c.hello();
        c.welcome(lastSeq);
        return c;
    }

    @Override
    public void close() {
        conns.forEach(Conn::close);
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a test fixture
        }
    }

    final class Conn implements AutoCloseable {
        final Socket socket;
        private final DataInputStream in;
        private final OutputStream out;
        /** The HELLO's version; 0 until it is read. */
        int version;
        Frame.Hello hello;

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            this.out = socket.getOutputStream();
        }

        Frame.Hello hello() {
            hello = next(Frame.Hello.class);
            version = hello.version();
            return hello;
        }

        /** WELCOME with heartbeats off (so no PINGs interleave) and the default frame limit. */
        void welcome(long lastSeq) {
            send(new Frame.Welcome(sessions.incrementAndGet(), 0, 0, lastSeq, Protocol.DEFAULT_MAX_FRAME_LENGTH, 0));
        }

        void send(Frame f) {
            try {
                Frames.write(out, f, version == 0 ? Protocol.VERSION : version);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void command(long seq, String payload) {
            send(new Frame.Command(seq, TestClients.bytes(payload)));
        }

        /** The next frame that is not a PING, which must be of {@code type}. */
        <T extends Frame> T next(Class<T> type) {
            Frame f;
            do {
                try {
                    f = Frames.read(in, version);
                } catch (IOException e) {
                    throw new AssertionError("reading a " + type.getSimpleName(), e);
                }
                assertThat(f).as("a %s before EOF", type.getSimpleName()).isNotNull();
            } while (f instanceof Frame.Ping && type != Frame.Ping.class);
            assertThat(f).isInstanceOf(type);
            return type.cast(f);
        }

        /** The next frame other than PING if one arrives within {@code wait}, else null. */
        Frame poll(Duration wait) {
            try {
                socket.setSoTimeout((int) wait.toMillis());
                Frame f;
                do {
                    f = Frames.read(in, version);
                } while (f instanceof Frame.Ping);
                return f;
            } catch (SocketTimeoutException e) {
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                try {
                    socket.setSoTimeout((int) WAIT.toMillis());
                } catch (IOException ignored) {
                    // closed meanwhile
                }
            }
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing a test fixture
            }
        }
    }
}
