package io.tether.cli.fault;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.tether.client.ClientGroup;
import io.tether.client.ClientListener;
import io.tether.client.Goodbye;
import io.tether.client.SessionInfo;
import io.tether.client.TetherClient;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.FrameType;
import io.tether.protocol.Reason;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Devices as the fault tests run them, inside the lab's device namespace: N devices, each bound to
 * one of the given local addresses, printing one JSON line per event ({@link Out}).
 *
 * <ul>
 *   <li>{@code --mode sdk}: {@link TetherClient}s; events {@code connected} and
 *       {@code disconnected} (with the SDK's reason and cause).</li>
 *   <li>{@code --mode raw}: blocking-socket devices that speak the protocol by hand, so a test can
 *       see each PING's send time ({@code ping} events), stop reading ({@code --no-read}, with a
 *       small receive buffer {@code --rcvbuf}), and "reboot": stdin {@code reboot ID} abandons the
 *       current connection without closing it (no FIN, no RST: the socket object is simply
 *       dropped on the floor, as by a device that lost power) and connects again from a new port.</li>
 * </ul>
 * Stdin {@code stats} prints one {@code stats} line per SDK device (pings sent, pongs received).
 * Options: {@code --target HOST:PORT --mode raw|sdk --devices N --id-prefix P --local A,B,..
 * --heartbeat-ms MS --no-read --rcvbuf BYTES --user-timeout-ms MS --backoff-ms BASE,CAP}. Exits
 * on {@code exit} or end of input.
 */
public final class FaultDeviceMain {
    private FaultDeviceMain() {
    }

    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("no-read"));
        String target = a.str("target");
        int colon = target.lastIndexOf(':');
        InetSocketAddress server = new InetSocketAddress(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)));
        String[] locals = a.str("local").split(",");
        int n = a.integer("devices", 1);
        String prefix = a.str("id-prefix", "dev-");
        boolean sdk = a.str("mode", "raw").equals("sdk");

        // The first JSON line loads Jackson (hundreds of ms in a cold JVM): do it before any
        // device runs, so no heartbeat waits for it.
        Out.print(Out.event("starting"));
        List<RawDevice> raw = new ArrayList<>();
        List<TetherClient> clients = new ArrayList<>();
        ClientGroup group = sdk ? ClientGroup.create(1) : null;
        for (int i = 0; i < n; i++) {
            String id = prefix + i;
            InetAddress local = InetAddress.getByName(locals[i % locals.length]);
            if (sdk) {
                clients.add(sdkDevice(a, server, id, local, group));
            } else {
                RawDevice d = new RawDevice(id, server, local, a.integer("heartbeat-ms", 0), !a.has("no-read"),
                        a.integer("rcvbuf", 0));
                raw.add(d);
                d.connect();
            }
        }

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] cmd = line.strip().split("\\s+");
            if (cmd[0].equals("exit")) {
                break;
            } else if (cmd[0].equals("stats")) {
                for (TetherClient c : clients) {
                    Map<String, Object> e = Out.event("stats");
                    e.put("device", c.deviceId());
                    e.put("connected", c.isConnected());
                    e.put("connects", c.stats().connects());
                    e.put("pingsSent", c.stats().pingsSent());
                    e.put("pongsReceived", c.stats().pongsReceived());
                    e.put("disconnects", c.stats().disconnects());
                    Out.print(e);
                }
            } else if (cmd[0].equals("reboot")) {
                for (RawDevice d : raw) {
                    if (d.id.equals(cmd[1])) {
                        d.reboot();
                    }
                }
            } else {
                System.err.println("unknown command: " + line);
            }
        }
        for (TetherClient c : clients) {
            c.close();
        }
        for (TetherClient c : clients) {
            c.closeFuture().get(5, TimeUnit.SECONDS);
        }
        if (group != null) {
            group.close();
        }
        System.exit(0); // raw devices' threads may be blocked on abandoned sockets
    }

    private static TetherClient sdkDevice(Args a, InetSocketAddress server, String id, InetAddress local,
                                          ClientGroup group) {
        String[] backoff = a.str("backoff-ms", "1000,5000").split(",");
        TetherClient.Builder b = TetherClient.builder()
                .target(server)
                .deviceId(id)
                .localAddress(local)
                .group(group)
                .heartbeat(Duration.ofMillis(a.integer("heartbeat-ms", 0)))
                .backoff(Duration.ofMillis(Long.parseLong(backoff[0])), Duration.ofMillis(Long.parseLong(backoff[1])))
                .listener(new ClientListener() {
                    @Override
                    public void onConnected(SessionInfo w) {
                        Map<String, Object> e = Out.event("connected");
                        e.put("device", id);
                        e.put("session", w.sessionId());
                        e.put("heartbeatMs", w.heartbeat().toMillis());
                        e.put("timeoutMs", w.timeout().toMillis());
                        e.put("quiet", w.quiet());
                        Out.print(e);
                    }

                    @Override
                    public void onDisconnected(Reason reason, Throwable cause) {
                        Map<String, Object> e = Out.event("disconnected");
                        e.put("device", id);
                        e.put("reason", reason.name());
                        e.put("cause", cause == null ? null : String.valueOf(cause));
                        Out.print(e);
                    }

                    @Override
                    public void onBye(Goodbye bye) {
                        Map<String, Object> e = Out.event("bye");
                        e.put("device", id);
                        e.put("reason", bye.reason().name());
                        Out.print(e);
                    }
                });
        if (a.has("user-timeout-ms")) {
            b.userTimeout(Duration.ofMillis(a.integer("user-timeout-ms", 0)));
        }
        TetherClient c = b.build();
        c.connect();
        return c;
    }

    /** One hand-written device: a thread pinging, a thread reading. */
    private static final class RawDevice {
        private static final byte[] PING = encode(Frame.Ping.INSTANCE);
        final String id;
        private final InetSocketAddress server;
        private final InetAddress local;
        private final int heartbeatMillis;
        private final boolean read;
        private final int rcvbuf;
        private volatile Connection current;

        RawDevice(String id, InetSocketAddress server, InetAddress local, int heartbeatMillis, boolean read, int rcvbuf) {
            this.id = id;
            this.server = server;
            this.local = local;
            this.heartbeatMillis = heartbeatMillis;
            this.read = read;
            this.rcvbuf = rcvbuf;
        }

        /** Connects, retrying for up to 20 s while nothing listens yet (the gateway starts in parallel). */
        void connect() throws IOException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            Socket s;
            while (true) {
                s = new Socket();
                if (rcvbuf > 0) {
                    s.setReceiveBufferSize(rcvbuf); // before connect, so the window is small from the start
                }
                s.setTcpNoDelay(true);
                s.bind(new InetSocketAddress(local, 0));
                try {
                    s.connect(server, 5000);
                    break;
                } catch (ConnectException e) {
                    s.close();
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                }
            }
            Connection c = new Connection(s);
            current = c;
            c.start();
        }

        void reboot() throws IOException {
            Connection old = current;
            if (old != null) {
                old.abandoned = true; // no close(): that would send a FIN
            }
            connect();
        }

        private static byte[] encode(Frame f) {
            ByteBuf b = Unpooled.buffer();
            FrameCodec.encode(f, b);
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            b.release();
            return out;
        }

        private final class Connection {
            private final Socket socket;
            private final OutputStream out;
            private final DataInputStream in;
            private final String localName;
            volatile boolean abandoned;
            private boolean sawData; // reader thread only

            Connection(Socket socket) throws IOException {
                this.socket = socket;
                this.out = socket.getOutputStream();
                this.in = new DataInputStream(socket.getInputStream());
                this.localName = socket.getLocalAddress().getHostAddress() + ":" + socket.getLocalPort();
            }

            void start() throws IOException {
                out.write(encode(new Frame.Hello(heartbeatMillis, 0, id, new byte[0])));
                socket.setSoTimeout(10_000);
                Frame first = readFrame();
                long welcomeNanos = System.nanoTime();
                socket.setSoTimeout(0);
                if (!(first instanceof Frame.Welcome w)) {
                    throw new IOException(id + ": expected WELCOME, got " + first);
                }
                if (w.heartbeatMillis() > 0) {
                    daemon("ping-" + id, () -> pingLoop(welcomeNanos, w.heartbeatMillis()));
                }
                Map<String, Object> e = Out.event("connected");
                e.put("device", id);
                e.put("local", localName);
                e.put("session", w.sessionId());
                e.put("heartbeatMs", w.heartbeatMillis());
                e.put("timeoutMs", w.timeoutMillis());
                e.put("quiet", w.quiet());
                Out.print(e);
                if (read) {
                    daemon("read-" + id, this::readLoop);
                }
            }

            private void daemon(String name, Runnable r) {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                t.start();
            }

            /** A PING every interval from WELCOME, at a fixed rate, each stamped just before it is written. */
            private void pingLoop(long welcomeNanos, int intervalMillis) {
                long next = welcomeNanos + TimeUnit.MILLISECONDS.toNanos(intervalMillis);
                while (!abandoned) {
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                        continue;
                    }
                    next += TimeUnit.MILLISECONDS.toNanos(intervalMillis);
                    Map<String, Object> e = Out.event("ping");
                    e.put("device", id);
                    e.put("local", localName);
                    try {
                        out.write(PING);
                    } catch (IOException ex) {
                        return; // the reader reports the end of the connection
                    }
                    Out.print(e);
                }
            }

            private void readLoop() {
                String why = "PEER_CLOSED";
                String cause = null;
                try {
                    while (true) {
                        Frame f = readFrame();
                        if (f == null) {
                            continue; // DATA, skipped
                        }
                        if (f instanceof Frame.Bye bye) {
                            why = bye.reason().name();
                            if (!abandoned) {
                                Map<String, Object> e = Out.event("bye");
                                e.put("device", id);
                                e.put("reason", why);
                                Out.print(e);
                            }
                        }
                    }
                } catch (EOFException e) {
                    // FIN from the server
                } catch (IOException e) {
                    why = "IO";
                    cause = String.valueOf(e);
                }
                if (!abandoned) {
                    Map<String, Object> e = Out.event("disconnected");
                    e.put("device", id);
                    e.put("local", localName);
                    e.put("reason", why);
                    e.put("cause", cause);
                    Out.print(e);
                }
            }

            /** One frame; DATA is skipped without decoding and returns null. */
            private Frame readFrame() throws IOException {
                int length = in.readInt();
                int version = in.readUnsignedByte();
                int type = in.readUnsignedByte();
                byte[] body = new byte[length - 2];
                in.readFully(body);
                if (type == FrameType.DATA) {
                    if (!sawData && !abandoned) {
                        sawData = true;
                        Map<String, Object> e = Out.event("first-data");
                        e.put("device", id);
                        Out.print(e);
                    }
                    return null;
                }
                if (version != 1) {
                    throw new IOException("frame version " + version);
                }
                return FrameCodec.decodeBody(type, Unpooled.wrappedBuffer(body));
            }
        }
    }
}
