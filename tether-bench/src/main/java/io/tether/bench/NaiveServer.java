package io.tether.bench;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source article's design, for comparison: blocking sockets, one thread per connection, and
 * one "定时轮询" thread that every --poll ms walks every connection's last-heartbeat time and
 * closes those silent for longer than keep-alive x --multiplier. Speaks the same minimal MQTT
 * 3.1.1 as the load generator (CONNECT/CONNACK, PINGREQ/PINGRESP, PUBLISH QoS 1/PUBACK,
 * DISCONNECT); a CONNECT with a client id already connected closes the old connection (takeover).
 *
 * <p>Each connection: a platform thread (stack from -Xss or --stack), a BufferedInputStream of
 * 8 KiB, an entry in a ConcurrentHashMap. Prints one JSON line per poll sweep that closed
 * something or took longer than 10 ms ({"sweepMs","conns","closed"}) to stderr.
 *
 * <p>Usage: {@code java -Xms64m -Xss256k -XX:+UseG1GC -cp tether-bench.jar io.tether.bench.NaiveServer --port P [--poll 1000]}
 */
public final class NaiveServer {
    private static final Map<Conn, Boolean> CONNS = new ConcurrentHashMap<>();
    private static final Map<String, Conn> BY_ID = new ConcurrentHashMap<>();
    private static final AtomicLong THREAD_FAILURES = new AtomicLong();
    private static double multiplier;

    static final class Conn implements Runnable {
        final Socket socket;
        volatile long lastHeardNanos = System.nanoTime();
        volatile int keepAliveSeconds;
        String clientId;

        Conn(Socket socket) {
            this.socket = socket;
        }

        @Override
        public void run() {
            try (socket) {
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 8192));
                OutputStream out = socket.getOutputStream();
                byte[] buf = new byte[256];
                while (true) {
                    int first = in.read();
                    if (first < 0) {
                        return;
                    }
                    int len = readRemaining(in);
                    if (len > buf.length) {
                        buf = new byte[len];
                    }
                    in.readFully(buf, 0, len);
                    lastHeardNanos = System.nanoTime();
                    switch (first >> 4) {
                        case Mqtt.CONNECT -> {
                            int protoLen = ((buf[0] & 0xFF) << 8) | (buf[1] & 0xFF);
                            int p = 2 + protoLen + 2; // level, flags
                            keepAliveSeconds = ((buf[p] & 0xFF) << 8) | (buf[p + 1] & 0xFF);
                            int idLen = ((buf[p + 2] & 0xFF) << 8) | (buf[p + 3] & 0xFF);
                            clientId = new String(buf, p + 4, idLen, StandardCharsets.UTF_8);
                            Conn old = BY_ID.put(clientId, this);
                            if (old != null) {
                                old.close();
                            }
                            out.write(Mqtt.CONNACK_OK);
                        }
                        case Mqtt.PINGREQ -> out.write(Mqtt.PINGRESP_BYTES);
                        case Mqtt.PUBLISH -> {
                            if (((first >> 1) & 3) == 1) {
                                int topicLen = ((buf[0] & 0xFF) << 8) | (buf[1] & 0xFF);
                                out.write(new byte[] {0x40, 0x02, buf[2 + topicLen], buf[3 + topicLen]});
                            }
                        }
                        case Mqtt.DISCONNECT -> {
                            return;
                        }
                        default -> { }
                    }
                }
            } catch (IOException e) {
                // closed by the poller, by a takeover, or by the peer
            } finally {
                CONNS.remove(this);
                if (clientId != null) {
                    BY_ID.remove(clientId, this);
                }
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    static int readRemaining(InputStream in) throws IOException {
        int value = 0;
        int mult = 1;
        for (int i = 0; i < 4; i++) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("eof");
            }
            value += (b & 0x7F) * mult;
            if ((b & 0x80) == 0) {
                return value;
            }
            mult *= 128;
        }
        throw new IOException("malformed remaining length");
    }

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv);
        int port = a.integer("port", 1883);
        long pollMillis = a.integer("poll", 1000);
        long stack = a.integer("stack", 0) * 1024L;
        multiplier = a.dbl("multiplier", 1.5);
        ServerSocket ss = new ServerSocket(port, a.integer("backlog", 4096), InetAddress.getByName(a.str("bind", "127.0.0.1")));
        Thread poller = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(pollMillis);
                } catch (InterruptedException e) {
                    return;
                }
                long t0 = System.nanoTime();
                int n = 0;
                int closed = 0;
                for (Conn c : CONNS.keySet()) {
                    n++;
                    int ka = c.keepAliveSeconds;
                    if (ka > 0 && t0 - c.lastHeardNanos > (long) (ka * multiplier * 1e9)) {
                        c.close();
                        closed++;
                    }
                }
                double ms = (System.nanoTime() - t0) / 1e6;
                if (closed > 0 || ms > 10) {
                    System.err.printf("{\"sweepMs\":%.2f,\"conns\":%d,\"closed\":%d}%n", ms, n, closed);
                }
            }
        }, "poller");
        poller.setDaemon(true);
        poller.start();
        System.out.println("{\"listening\":" + port + "}");
        System.out.flush();
        while (true) {
            Socket s = ss.accept();
            s.setTcpNoDelay(true);
            Conn c = new Conn(s);
            CONNS.put(c, Boolean.TRUE);
            try {
                Thread t = stack > 0 ? new Thread(null, c, "conn", stack) : new Thread(c, "conn");
                t.setDaemon(true);
                t.start();
            } catch (OutOfMemoryError e) {
                // "unable to create native thread": the design's ceiling on this host
                THREAD_FAILURES.incrementAndGet();
                CONNS.remove(c);
                c.close();
                System.err.println("{\"threadStartFailed\":\"" + e.getMessage() + "\",\"conns\":" + CONNS.size() + "}");
            }
        }
    }
}
