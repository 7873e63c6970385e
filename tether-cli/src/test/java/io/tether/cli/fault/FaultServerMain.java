package io.tether.cli.fault;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.internal.PlatformDependent;
import io.tether.server.ConnectionInfo;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.tether.server.TetherServer;
import io.tether.transport.KeepAlive;
import io.tether.transport.kernel.KernelSocket;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The gateway as the fault tests run it: {@link TetherServer} in-process, inside the lab's server
 * namespace. One JSON line per event on stdout ({@link Out}); commands on stdin, one per line:
 * <ul>
 *   <li>{@code audit}: the registry against the kernel's socket table on the port, read from this
 *       process's own namespace: registry size, connections, ESTABLISHED, CLOSE_WAIT, and ghosts
 *       (ESTABLISHED sockets no open session owns);</li>
 *   <li>{@code heap}: heap used after GC, and Netty's direct memory;</li>
 *   <li>{@code flood DEVICE BYTES INTERVAL_MS}: sends downlink DATA of BYTES to DEVICE every
 *       INTERVAL_MS until its session is gone (at most 60 s), sampling Netty's direct memory;</li>
 *   <li>{@code send DEVICE BYTES}: one downlink message;</li>
 *   <li>{@code exit} (or end of input): graceful shutdown.</li>
 * </ul>
 * Options: {@code --bind --port --heartbeat-ms --min-heartbeat-ms --multiplier --drain-ms
 * --keepalive IDLE_S,INTVL_S,CNT|off --user-timeout-ms --write-buffer-limit --quiet}.
 */
public final class FaultServerMain {
    private FaultServerMain() {
    }

    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("quiet"));
        TetherServer.Builder b = TetherServer.builder()
                .bindAddress(new InetSocketAddress(a.str("bind", "0.0.0.0"), a.integer("port", 7400)))
                .heartbeatRange(Duration.ofMillis(a.integer("min-heartbeat-ms", 100)), Duration.ofMinutes(30))
                .heartbeat(Duration.ofMillis(a.integer("heartbeat-ms", 1000)))
                .heartbeatMultiplier(a.dbl("multiplier", 1.5))
                .drain(Duration.ofMillis(a.integer("drain-ms", 500)))
                .shutdownTimeout(Duration.ofSeconds(1))
                .quiet(a.has("quiet"))
                .listener(new Printer());
        String ka = a.str("keepalive", "60,20,3");
        if (ka.equals("off")) {
            b.keepAlive(KeepAlive.OFF);
        } else {
            String[] k = ka.split(",");
            b.keepAlive(KeepAlive.of(Duration.ofSeconds(Long.parseLong(k[0])), Duration.ofSeconds(Long.parseLong(k[1])),
                    Integer.parseInt(k[2])));
        }
        if (a.has("user-timeout-ms")) {
            b.userTimeout(Duration.ofMillis(a.integer("user-timeout-ms", 0)));
        }
        if (a.has("write-buffer-limit")) {
            b.writeBufferLimit(a.integer("write-buffer-limit", 0));
        }
        Out.print(Out.event("starting")); // loads Jackson before any event loop needs it
        TetherServer server = b.build().start();
        Map<String, Object> listening = Out.event("listening");
        listening.put("port", server.port());
        listening.put("transport", server.transport().name());
        listening.put("heartbeatMs", server.config().heartbeat().toMillis());
        listening.put("userTimeoutMs", server.config().userTimeout().toMillis());
        listening.put("keepAlive", server.config().keepAliveIdle().toSeconds() + "," + server.config().keepAliveInterval().toSeconds()
                + "," + server.config().keepAliveCount());
        listening.put("quiet", server.config().quiet());
        Out.print(listening);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] cmd = line.strip().split("\\s+");
            switch (cmd[0]) {
                case "audit" -> audit(server);
                case "heap" -> heap();
                case "flood" -> flood(server, cmd[1], Integer.parseInt(cmd[2]), Integer.parseInt(cmd[3]));
                case "send" -> {
                    Map<String, Object> e = Out.event("sent");
                    e.put("device", cmd[1]);
                    e.put("queued", server.send(cmd[1], new byte[Integer.parseInt(cmd[2])]));
                    Out.print(e);
                }
                case "exit" -> {
                    server.close();
                    return;
                }
                default -> System.err.println("unknown command: " + line);
            }
        }
        server.close();
    }

    private static void audit(TetherServer server) throws Exception {
        int port = server.port();
        SocketTable table = SocketTable.read(); // this process's namespace: the server's
        List<ConnectionInfo> connections = server.connections();
        Set<String> openRemotes = new HashSet<>();
        for (ConnectionInfo c : connections) {
            if ("OPEN".equals(c.state()) && c.remote() != null) {
                openRemotes.add(hostPort(c.remote()));
            }
        }
        List<KernelSocket> established = table.serverSide(port, TcpState.ESTABLISHED);
        Set<String> kernelRemotes = new HashSet<>();
        int ghosts = 0;
        for (KernelSocket s : established) {
            kernelRemotes.add(hostPort(s.remote()));
            if (!openRemotes.contains(hostPort(s.remote()))) {
                ghosts++;
            }
        }
        int sessionsWithoutSocket = 0;
        for (String r : openRemotes) {
            if (!kernelRemotes.contains(r)) {
                sessionsWithoutSocket++;
            }
        }
        Map<String, Object> states = new LinkedHashMap<>();
        table.countServerSide(port).forEach((st, n) -> {
            if (n > 0) {
                states.put(st.name(), n);
            }
        });
        Map<String, Object> e = Out.event("audit");
        e.put("registry", server.registry().size());
        e.put("connections", connections.size());
        e.put("openConnections", openRemotes.size());
        e.put("established", established.size());
        e.put("closeWait", table.countServerSide(port).get(TcpState.CLOSE_WAIT));
        e.put("ghosts", ghosts);
        e.put("sessionsWithoutSocket", sessionsWithoutSocket);
        e.put("states", states);
        Out.print(e);
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static void heap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        Map<String, Object> e = Out.event("heap");
        e.put("heapUsedBytes", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p) {
            e.put("allocatorDirectBytes", p.metric().usedDirectMemory());
            e.put("allocatorHeapBytes", p.metric().usedHeapMemory());
        }
        e.put("nettyDirectCounterBytes", PlatformDependent.usedDirectMemory());
        Out.print(e);
    }

    private static long directBytes() {
        return ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p ? p.metric().usedDirectMemory() : -1;
    }

    /** Sends until the device's session is gone; bounded to 60 s so a stuck test cannot run forever. */
    private static void flood(TetherServer server, String device, int bytes, int intervalMillis) {
        Thread t = new Thread(() -> {
            byte[] payload = new byte[bytes];
            Out.print(Out.event("flood-start"));
            long messages = 0;
            long peakDirect = directBytes();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < end && server.send(device, payload)) {
                messages++;
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(intervalMillis));
                peakDirect = Math.max(peakDirect, directBytes());
            }
            Map<String, Object> e = Out.event("flood-end");
            e.put("device", device);
            e.put("messages", messages);
            e.put("bytes", messages * bytes);
            e.put("peakAllocatorDirectBytes", peakDirect);
            Out.print(e);
        }, "flood-" + device);
        t.setDaemon(true);
        t.start();
    }

    /** Prints session events; called on event loops, so it only formats and prints. */
    private static final class Printer implements SessionListener {
        @Override
        public void onOpen(SessionOpened o) {
            Map<String, Object> e = Out.event("open");
            e.put("device", o.deviceId());
            e.put("session", o.sessionId());
            e.put("remote", o.remote());
            e.put("heartbeatMs", o.heartbeatMillis());
            e.put("timeoutMs", o.timeoutMillis());
            e.put("tookOver", o.tookOver());
            Out.print(e);
        }

        @Override
        public void onClose(SessionClosed c) {
            Map<String, Object> e = Out.event("close");
            e.put("device", c.deviceId());
            e.put("session", c.sessionId());
            e.put("remote", c.remote());
            e.put("reason", c.reason().name());
            e.put("errno", c.errnoName());
            e.put("errnoNumber", c.errnoNumber());
            e.put("lateMs", c.lateMillis());
            e.put("durationMs", c.durationMillis());
            e.put("drained", c.drainedFrames());
            e.put("detail", c.detail());
            Out.print(e);
        }
    }
}
