package io.tether.testkit.kafka;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Copies bytes both ways between two connected channels, one thread per direction (a handful of
 * Kafka client connections, so threads are cheaper to reason about than a selector). Used on both
 * ends of the side door: TCP to Unix socket in the test JVM, Unix socket to TCP in the broker.
 */
final class Relay {
    private Relay() {
    }

    /** Starts relaying; both channels are closed when both directions have ended or either fails. */
    static void join(SocketChannel a, SocketChannel b, String name) {
        AtomicInteger open = new AtomicInteger(2);
        start(a, b, open, name + "-up");
        start(b, a, open, name + "-down");
    }

    private static void start(SocketChannel from, SocketChannel to, AtomicInteger open, String name) {
        Thread t = new Thread(() -> {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            boolean clean = false;
            try {
                while (from.read(buf) >= 0) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        to.write(buf);
                    }
                    buf.clear();
                }
                // Half-close, so a peer that finishes its side still gets the other's answer.
                to.shutdownOutput();
                clean = true;
            } catch (IOException e) {
                // One side is gone: the other learns it by the close below.
            }
            if (!clean || open.decrementAndGet() == 0) {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // Closing; nothing left to do.
        }
    }
}
