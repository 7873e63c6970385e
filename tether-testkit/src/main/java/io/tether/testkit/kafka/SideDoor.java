package io.tether.testkit.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * The test JVM's end of the side door to a broker in a network namespace: a TCP listener on the
 * host's loopback whose connections are relayed to the broker's Unix socket (see
 * {@link BrokerMain}). It listens for the broker's whole life, so its port, which the broker
 * advertises, stays the same across restarts; while the broker is down a connection is accepted
 * and closed at once, which a Kafka client treats as a broker not up yet.
 */
final class SideDoor implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Path socket;

    SideDoor(Path socket) {
        this.socket = socket;
        try {
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on loopback for the Kafka side door", e);
        }
        Thread t = new Thread(this::acceptLoop, "tether-kafka-side-door");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.socket().getLocalPort();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel in;
            try {
                in = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            try {
                SocketChannel out = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    out.connect(UnixDomainSocketAddress.of(socket));
                } catch (IOException e) {
                    Relay.closeQuietly(out);
                    throw e;
                }
                Relay.join(in, out, "side-door");
            } catch (IOException e) {
                Relay.closeQuietly(in);
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // Closing; nothing left to do.
        }
    }
}
