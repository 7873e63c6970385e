package io.tether.cli.trace;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Hand-written devices for the capture tests, inside the lab's device namespace, driven by stdin,
 * one command per line; each answers with one line on stdout:
 * <ul>
 *   <li>{@code connect NAME DEVICE_ID HEARTBEAT_MS MODE LOCAL_ADDR}: connects (retrying up to 20 s
 *       while nothing listens, unless MODE is {@code once}), sends HELLO, reads the first frame:
 *       {@code connected NAME LOCAL_PORT}, {@code bye NAME REASON} or {@code refused NAME}. MODE:
 *       {@code ping} (PING every heartbeat), {@code silent} (no PING), {@code drainer} (no PING; on
 *       the server's BYE, sends two DATA frames and keeps the socket open), {@code once}.</li>
 *   <li>{@code bye NAME}: BYE NORMAL, then close (FIN); {@code rst NAME}: close with SO_LINGER 0
 *       (RST); {@code abandon NAME}: stop pinging, never close (a device that lost power).</li>
 * </ul>
 * Frames from the server are reported as {@code frame NAME TYPE [REASON]}, the end as {@code eof
 * NAME} or {@code error NAME}. Exits on {@code exit} or end of input.
 */
public final class TraceDeviceMain {
    private static final Map<String, Dev> DEVICES = new ConcurrentHashMap<>();
    private static InetSocketAddress target;

    private TraceDeviceMain() {
    }

    public static void main(String[] argv) throws Exception {
        String t = argv[0];
        int colon = t.lastIndexOf(':');
        target = new InetSocketAddress(t.substring(0, colon), Integer.parseInt(t.substring(colon + 1)));
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] c = line.strip().split("\\s+");
            try {
                switch (c[0]) {
                    case "connect" -> connect(c[1], c[2], Integer.parseInt(c[3]), c[4], c[5]);
                    case "bye" -> {
                        Dev d = DEVICES.get(c[1]);
                        d.stopPings = true;
                        d.out.write(encode(new Frame.Bye(Reason.NORMAL)));
                        d.socket.close();
                        say("closed " + c[1]);
                    }
                    case "rst" -> {
                        Dev d = DEVICES.get(c[1]);
                        d.stopPings = true;
                        d.socket.setSoLinger(true, 0);
                        d.socket.close();
                        say("reset " + c[1]);
                    }
                    case "abandon" -> {
                        DEVICES.get(c[1]).stopPings = true;
                        say("abandoned " + c[1]);
                    }
                    case "exit" -> System.exit(0);
                    default -> say("unknown " + line);
                }
            } catch (IOException e) {
                say("error " + c[1] + " " + e);
            }
        }
        System.exit(0);
    }

    static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }

    private static void connect(String name, String id, int heartbeat, String mode, String local) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Socket s;
        while (true) {
            s = new Socket();
            s.setTcpNoDelay(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(local), 0));
            try {
                s.connect(target, 5000);
                break;
            } catch (ConnectException e) {
                s.close();
                if (mode.equals("once")) {
                    say("refused " + name);
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
        Dev d = new Dev(name, s, mode);
        DEVICES.put(name, d);
        d.out.write(encode(new Frame.Hello(heartbeat, 0, id, new byte[0])));
        Frame first = d.read();
        if (first instanceof Frame.Welcome w) {
            say("connected " + name + " " + s.getLocalPort());
            if (mode.equals("ping") && w.heartbeatMillis() > 0) {
                daemon(() -> d.pings(w.heartbeatMillis()));
            }
            daemon(d::readLoop);
        } else if (first instanceof Frame.Bye b) {
            say("bye " + name + " " + b.reason().name());
            daemon(d::readLoop);
        } else {
            say("error " + name + " first frame " + first);
        }
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r);
        t.setDaemon(true);
        t.start();
    }

    static byte[] encode(Frame f) {
        ByteBuf b = Unpooled.buffer();
        FrameCodec.encode(f, b);
        byte[] a = new byte[b.readableBytes()];
        b.readBytes(a);
        b.release();
        return a;
    }

    private static final class Dev {
        final String name;
        final Socket socket;
        final OutputStream out;
        final DataInputStream in;
        final String mode;
        volatile boolean stopPings;

        Dev(String name, Socket socket, String mode) throws IOException {
            this.name = name;
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.in = new DataInputStream(socket.getInputStream());
            this.mode = mode;
        }

        Frame read() throws IOException {
            int length = in.readInt();
            int version = in.readUnsignedByte();
            int type = in.readUnsignedByte();
            byte[] body = new byte[length - 2];
            in.readFully(body);
            return FrameCodec.decodeBody(version, type, Unpooled.wrappedBuffer(body));
        }

        void pings(int interval) {
            byte[] ping = encode(Frame.Ping.INSTANCE);
            while (!stopPings) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(interval));
                if (stopPings) {
                    return;
                }
                try {
                    synchronized (out) {
                        out.write(ping);
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }

        void readLoop() {
            try {
                while (true) {
                    Frame f = read();
                    if (stopPings) {
                        continue; // abandoned or closed: says nothing more
                    }
                    if (f instanceof Frame.Bye b) {
                        say("frame " + name + " BYE " + b.reason().name());
                        if (mode.equals("drainer")) {
                            synchronized (out) {
                                out.write(encode(new Frame.Data(1, new byte[] {1})));
                                out.write(encode(new Frame.Data(2, new byte[] {2})));
                            }
                            say("drained " + name);
                        }
                    } else {
                        say("frame " + name + " " + FrameType.name(f.type()));
                    }
                }
            } catch (EOFException e) {
                if (!stopPings) {
                    say("eof " + name);
                }
                if (!mode.equals("drainer")) {
                    try {
                        socket.close(); // the server closed: close too, as any device does on EOF
                    } catch (IOException ignored) {
                        // closing anyway
                    }
                }
            } catch (IOException e) {
                if (!stopPings) {
                    say("error " + name + " " + e);
                }
            }
        }
    }
}
