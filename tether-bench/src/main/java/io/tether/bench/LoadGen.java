package io.tether.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.FrameEncoder;
import io.tether.protocol.Protocol;
import io.tether.protocol.auth.DeviceToken;
import io.tether.transport.HostPort;
import io.tether.transport.Transport;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One load-generator process, the same for every system: speaks Tether ({@code --proto tether},
 * authenticated HELLO with a per-device token as in production) or MQTT 3.1.1
 * ({@code --proto mqtt}, hand-encoded CONNECT/PINGREQ/PUBLISH QoS 1/DISCONNECT). Driven by
 * commands on stdin, one JSON line per command on stdout:
 * <ul>
 * <li>{@code connect TOTAL}: open connections until TOTAL are live (ids PREFIX + offset + i), at most
 *   --concurrency handshakes in flight; each then heartbeats (PING / PINGREQ) every --heartbeat-ms.
 *   Reports the wall-clock span first connect .. last handshake (epoch ms, to combine processes).</li>
 * <li>{@code stats}: heartbeats sent and answered so far.</li>
 * <li>{@code takeover K}: for K live sessions, one after another: open a second connection with the
 *   same id while the first is alive; times from the new HELLO/CONNECT written to (a) the new one
 *   accepted (WELCOME/CONNACK) and (b) the old one ended by the server (BYE or EOF).</li>
 * <li>{@code publish D M W P}: the first D sessions each send M messages of P bytes, at most W
 *   unacknowledged (DATA/ACK or PUBLISH QoS 1/PUBACK); throughput first send .. last ack, ack latency.</li>
 * <li>{@code close}: close every live session from this side.</li>
 * <li>{@code silent K}: the last K live sessions (0 = all) stop sending at the same moment; for each,
 *   lateness = (time the server ended it: BYE or EOF) - (last byte sent + timeout), where timeout is
 *   WELCOME's timeoutMillis (Tether) or 1.5 x keep-alive (MQTT). All values are printed.</li>
 * <li>{@code quit}.</li>
 * </ul>
 */
public final class LoadGen {
    final boolean mqtt;
    final InetSocketAddress target;
    final List<InetSocketAddress> sources = new ArrayList<>();
    final String prefix;
    final int offset;
    final int heartbeatMillis;
    final int concurrency;
    final byte[] groupKey;
    final EventLoopGroup group;
    final List<Conn> live = new ArrayList<>();
    int nextId;
    final LongAdder pings = new LongAdder();
    final LongAdder pongs = new LongAdder();
    final Map<String, LongAdder> failures = new ConcurrentHashMap<>();

    LoadGen(Args a) {
        mqtt = a.str("proto", "mqtt").equals("mqtt");
        String t = a.str("target", "127.0.0.1:1883");
        target = HostPort.resolve("--target", t);
        for (String s : a.str("source", "").split(",")) {
            if (!s.isBlank()) {
                try {
                    sources.add(new InetSocketAddress(InetAddress.getByName(s.trim()), 0));
                } catch (java.net.UnknownHostException e) {
                    throw new IllegalArgumentException(e);
                }
            }
        }
        prefix = a.str("id-prefix", "bench-");
        offset = a.integer("id-offset", 0);
        heartbeatMillis = a.integer("heartbeat-ms", 1000);
        concurrency = a.integer("concurrency", 256);
        String secret = a.str("secret", "");
        groupKey = secret.isEmpty() ? null : DeviceToken.groupKey(prefix, secret);
        // Epoll, never a silent fall-back to NIO: the figures are for the transport production runs.
        group = new MultiThreadIoEventLoopGroup(a.integer("threads", Runtime.getRuntime().availableProcessors()),
                Transport.EPOLL.ioHandlerFactory());
    }

    /** One connection (one device / MQTT client). Fields are touched on its event loop only, except volatile ones. */
    final class Conn extends ChannelInboundHandlerAdapter {
        final String id;
        Channel ch;
        volatile boolean accepted;
        volatile long acceptedNanos;
        volatile long helloNanos;
        volatile long endedNanos;
        volatile long lastSentNanos;
        volatile long timeoutNanos;
        volatile boolean silent;
        volatile boolean closingOurselves;
        ScheduledFuture<?> pinger;
        Runnable onAccepted;
        Runnable onEnded;
        byte[] token;
        // publishing
        byte[] topic;
        byte[] payload;
        long[] sentAt;
        int total;
        int window;
        long sent;
        long acked;
        Publish pub;

        Conn(String id) {
            this.id = id;
        }

        /** Computes the HELLO token now, as a device does on its own CPU before it connects. */
        Conn withToken() {
            token = credential(id);
            return this;
        }

        void connect(Runnable onAccepted, Runnable onEnded) {
            this.onAccepted = onAccepted;
            this.onEnded = onEnded;
            Bootstrap b = new Bootstrap().group(group).channel(Transport.EPOLL.channel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 15_000)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel c) {
                            if (mqtt) {
                                c.pipeline().addLast(new MqttDecoder(), Conn.this);
                            } else {
                                c.pipeline().addLast(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH), FrameEncoder.INSTANCE, Conn.this);
                            }
                        }
                    });
            InetSocketAddress src = sources.isEmpty() ? null : sources.get(Math.floorMod(id.hashCode(), sources.size()));
            if (src != null) {
                // Bound to a source address, bind() picks the port itself and skips every port
                // held by a socket of that address, TIME_WAIT ones included: after a run that
                // left ~19,000 of them (for 60 s), each bind searches a nearly full range, on
                // this process's event loops. With IP_BIND_ADDRESS_NO_PORT the port is chosen at
                // connect(), unique per 4-tuple, as for an unbound socket.
                b.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
            }
            (src == null ? b.connect(target) : b.connect(target, src)).addListener(f -> {
                if (!f.isSuccess()) {
                    String msg = String.valueOf(f.cause().getMessage());
                    failures.computeIfAbsent(msg.length() > 60 ? msg.substring(0, 60) : msg, k -> new LongAdder()).increment();
                    ended();
                }
            });
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ch = ctx.channel();
            byte[] cred = token != null ? token : credential(id);
            token = null; // single use
            helloNanos = System.nanoTime();
            if (mqtt) {
                ctx.writeAndFlush(Mqtt.connect(ctx.alloc(), id, Math.max(1, heartbeatMillis / 1000)));
            } else {
                ctx.writeAndFlush(new Frame.Hello(heartbeatMillis, 0, id, cred));
            }
            lastSentNanos = System.nanoTime();
        }

        private void accepted(ChannelHandlerContext ctx, long timeout) {
            acceptedNanos = System.nanoTime();
            timeoutNanos = timeout;
            accepted = true;
            // First heartbeat at a random point of the interval, as a fleet's devices would: it
            // spreads the heartbeats evenly, and a WELCOME/CONNACK that this (CPU-starved) process
            // reads late does not eat the 0.5 x interval of slack the server allows.
            long first = ThreadLocalRandom.current().nextLong(1, heartbeatMillis + 1);
            pinger = ctx.executor().scheduleAtFixedRate(this::ping, first, heartbeatMillis, TimeUnit.MILLISECONDS);
            Runnable r = onAccepted;
            onAccepted = null;
            if (r != null) {
                r.run();
            }
        }

        private void ping() {
            if (silent || !ch.isActive()) {
                return;
            }
            pings.increment();
            ch.writeAndFlush(mqtt ? Unpooled.wrappedBuffer(Mqtt.PINGREQ_BYTES) : Frame.Ping.INSTANCE);
            lastSentNanos = System.nanoTime();
        }

        /** The server ended this connection (BYE, or EOF before a BYE). */
        private void serverEnded() {
            if (endedNanos == 0) {
                endedNanos = System.nanoTime();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (mqtt) {
                    long m = (Long) msg;
                    int type = (int) (m >>> 32);
                    int value = (int) m;
                    switch (type) {
                        case Mqtt.CONNACK -> {
                            if (value == 0) {
                                accepted(ctx, (long) (Math.max(1, heartbeatMillis / 1000) * 1.5e9));
                            } else {
                                failures.computeIfAbsent("CONNACK " + value, k -> new LongAdder()).increment();
                                ctx.close();
                            }
                        }
                        case Mqtt.PINGRESP -> pongs.increment();
                        case Mqtt.PUBACK -> acked(1);
                        default -> { }
                    }
                } else if (msg instanceof Frame.Welcome w) {
                    accepted(ctx, TimeUnit.MILLISECONDS.toNanos(w.timeoutMillis()));
                } else if (msg instanceof Frame.Pong) {
                    pongs.increment();
                } else if (msg instanceof Frame.Ack a) {
                    if (a.seq() > acked) {
                        acked(a.seq() - acked);
                    }
                } else if (msg instanceof Frame.Bye bye) {
                    serverEnded();
                    if (!accepted) {
                        failures.computeIfAbsent("BYE " + bye.reason(), k -> new LongAdder()).increment();
                    }
                    closingOurselves = true;
                    ctx.close();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!closingOurselves) {
                serverEnded();
            }
            if (pinger != null) {
                pinger.cancel(false);
            }
            ended();
        }

        private void ended() {
            Runnable r = onEnded;
            onEnded = null;
            if (onAccepted != null) {
                Runnable a = onAccepted;
                onAccepted = null;
                a.run();
            }
            if (r != null) {
                r.run();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        // ---- publishing (on the event loop)

        void startPublishing(Publish p, int messages, int w, byte[] body) {
            pub = p;
            topic = ("bench/" + id).getBytes(StandardCharsets.UTF_8);
            payload = body;
            total = messages;
            window = w;
            sentAt = new long[w];
            fill();
        }

        private void fill() {
            boolean wrote = false;
            while (sent < total && sent - acked < window) {
                long seq = ++sent;
                sentAt[(int) (seq % window)] = System.nanoTime();
                if (mqtt) {
                    ch.write(Mqtt.publishQos1(ch.alloc(), topic, (int) seq, payload));
                } else {
                    ch.write(new Frame.Data(seq, payload));
                }
                wrote = true;
            }
            if (wrote) {
                ch.flush();
                lastSentNanos = System.nanoTime();
            }
        }

        private void acked(long n) {
            if (pub == null) {
                return;
            }
            long now = System.nanoTime();
            for (long i = 0; i < n; i++) {
                long seq = ++acked;
                pub.latency.recordValue(Math.max(1, (now - sentAt[(int) (seq % window)]) / 1000));
            }
            pub.acked.add(n);
            pub.lastAck.accumulateAndGet(now, Math::max);
            if (acked >= total) {
                pub.done.countDown();
            } else {
                fill();
            }
        }
    }

    static final class Publish {
        final Recorder latency = new Recorder(3);
        final LongAdder acked = new LongAdder();
        final AtomicLong lastAck = new AtomicLong();
        final CountDownLatch done;

        Publish(int devices) {
            done = new CountDownLatch(devices);
        }
    }

    /** MQTT packets in as Long: type << 32 | (CONNACK return code or PUBACK packet id). */
    static final class MqttDecoder extends ByteToMessageDecoder {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            while (true) {
                int start = in.readerIndex();
                int len = Mqtt.remainingLength(in, start);
                if (len < 0) {
                    return;
                }
                int header = Mqtt.headerLength(len);
                if (in.readableBytes() < header + len) {
                    return;
                }
                int type = in.getUnsignedByte(start) >> 4;
                int body = start + header;
                long value = switch (type) {
                    case Mqtt.CONNACK -> in.getUnsignedByte(body + 1);
                    case Mqtt.PUBACK -> in.getUnsignedShort(body);
                    default -> 0;
                };
                out.add(((long) type << 32) | value);
                in.readerIndex(start + header + len);
            }
        }
    }

    byte[] credential(String id) {
        return groupKey == null ? new byte[0]
                : DeviceToken.create(DeviceToken.memberKey(groupKey, id), id, System.currentTimeMillis() + 120_000);
    }

    // ---- commands

    String connect(int totalLive) throws InterruptedException {
        // Sessions that ended since (reported by "stats" as live - open) are replaced.
        live.removeIf(c -> c.endedNanos != 0);
        int want = totalLive - live.size();
        Semaphore inFlight = new Semaphore(concurrency);
        CountDownLatch all = new CountDownLatch(Math.max(0, want));
        // Tokens first, outside the timed part: on these shared cores the load generator's HMACs
        // would otherwise be charged to the server's setup rate (a device computes its token on
        // its own CPU). MQTT CONNECTs here carry nothing to compute.
        List<Conn> fresh = new ArrayList<>(Math.max(0, want));
        for (int i = 0; i < want; i++) {
            fresh.add(new Conn(prefix + (offset + nextId++)).withToken());
        }
        long startMs = System.currentTimeMillis();
        AtomicLong lastMs = new AtomicLong(startMs);
        int f0 = failureCount();
        for (int i = 0; i < want; i++) {
            inFlight.acquire();
            Conn c = fresh.get(i);
            c.connect(() -> {
                lastMs.accumulateAndGet(System.currentTimeMillis(), Math::max);
                inFlight.release();
                all.countDown();
            }, null);
        }
        all.await(120, TimeUnit.SECONDS);
        long endMs = lastMs.get();
        int ok = 0;
        for (Conn c : fresh) {
            if (c.accepted && c.endedNanos == 0) {
                live.add(c);
                ok++;
            }
        }
        return String.format(Locale.ROOT, "{\"ev\":\"connected\",\"attempted\":%d,\"ok\":%d,\"failed\":%d,\"live\":%d,"
                + "\"startMs\":%d,\"endMs\":%d,\"failures\":%s}", want, ok, failureCount() - f0, live.size(), startMs, endMs, failuresJson());
    }

    int failureCount() {
        return (int) failures.values().stream().mapToLong(LongAdder::sum).sum();
    }

    String failuresJson() {
        StringBuilder sb = new StringBuilder("{");
        failures.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k.replace('"', '\'')).append("\":").append(v.sum()));
        return sb.append('}').toString();
    }

    String stats() {
        long open = live.stream().filter(c -> c.endedNanos == 0).count();
        return String.format(Locale.ROOT, "{\"ev\":\"stats\",\"pings\":%d,\"pongs\":%d,\"live\":%d,\"open\":%d}",
                pings.sum(), pongs.sum(), live.size(), open);
    }

    String takeover(int k) throws InterruptedException {
        k = Math.min(k, live.size());
        long[] newMs = new long[k];
        long[] oldMs = new long[k];
        int done = 0;
        int failed = 0;
        for (int i = 0; i < k; i++) {
            Conn old = live.get(i);
            Conn neu = new Conn(old.id);
            CountDownLatch accepted = new CountDownLatch(1);
            neu.connect(accepted::countDown, null);
            boolean ok = accepted.await(10, TimeUnit.SECONDS) && neu.accepted;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ok && old.endedNanos == 0 && System.nanoTime() < until) {
                Thread.sleep(0, 200_000);
            }
            if (!ok || old.endedNanos == 0) {
                failed++;
                continue;
            }
            newMs[done] = neu.acceptedNanos - neu.helloNanos;
            oldMs[done] = old.endedNanos - neu.helloNanos;
            done++;
            live.set(i, neu);
        }
        return String.format(Locale.ROOT, "{\"ev\":\"takeover\",\"count\":%d,\"failed\":%d,\"newAcceptedMs\":%s,\"oldClosedMs\":%s}",
                done, failed, millis(Arrays.copyOf(newMs, done)), millis(Arrays.copyOf(oldMs, done)));
    }

    String publish(int devices, int messages, int window, int payloadSize, int timeoutSeconds) throws InterruptedException {
        devices = Math.min(devices, live.size());
        byte[] body = new byte[payloadSize];
        Arrays.fill(body, (byte) 'x');
        Publish p = new Publish(devices);
        long start = System.nanoTime();
        for (int i = 0; i < devices; i++) {
            Conn c = live.get(i);
            c.ch.eventLoop().execute(() -> c.startPublishing(p, messages, window, body));
        }
        boolean complete = p.done.await(timeoutSeconds, TimeUnit.SECONDS);
        Histogram h = p.latency.getIntervalHistogram();
        long acked = p.acked.sum();
        double secs = (p.lastAck.get() - start) / 1e9;
        return String.format(Locale.ROOT, "{\"ev\":\"published\",\"complete\":%b,\"acked\":%d,\"expected\":%d,\"seconds\":%.3f,"
                        + "\"perSecond\":%.0f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f}",
                complete, acked, (long) devices * messages, secs, acked / secs,
                h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0, h.getMaxValue() / 1000.0);
    }

    String silent(int k, int waitSlackMillis) throws InterruptedException {
        List<Conn> chosen = new ArrayList<>();
        for (Conn c : live) {
            if (c.endedNanos == 0) {
                chosen.add(c);
            }
        }
        if (k > 0 && k < chosen.size()) {
            chosen = new ArrayList<>(chosen.subList(chosen.size() - k, chosen.size()));
        }
        CountDownLatch set = new CountDownLatch(chosen.size());
        for (Conn c : chosen) {
            c.ch.eventLoop().execute(() -> {
                c.silent = true;
                if (c.pinger != null) {
                    c.pinger.cancel(false);
                }
                set.countDown();
            });
        }
        set.await();
        long maxTimeout = chosen.stream().mapToLong(c -> c.timeoutNanos).max().orElse(0);
        long until = System.nanoTime() + maxTimeout + TimeUnit.MILLISECONDS.toNanos(waitSlackMillis);
        while (System.nanoTime() < until && chosen.stream().anyMatch(c -> c.endedNanos == 0)) {
            Thread.sleep(20);
        }
        long[] late = new long[chosen.size()];
        int n = 0;
        int open = 0;
        for (Conn c : chosen) {
            if (c.endedNanos == 0) {
                open++;
            } else {
                late[n++] = c.endedNanos - (c.lastSentNanos + c.timeoutNanos);
            }
        }
        live.removeAll(chosen);
        StringBuilder values = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            values.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.2f", late[i] / 1e6));
        }
        values.append(']');
        return String.format(Locale.ROOT, "{\"ev\":\"silent\",\"silenced\":%d,\"closed\":%d,\"notClosed\":%d,\"lateMs\":%s}",
                chosen.size(), n, open, values);
    }

    /** Closes every live session from this side (FIN, after DISCONNECT for MQTT) and forgets it. */
    String closeAll() throws InterruptedException {
        List<Conn> all = new ArrayList<>(live);
        CountDownLatch closed = new CountDownLatch(all.size());
        for (Conn c : all) {
            c.closingOurselves = true;
            c.ch.eventLoop().execute(() -> {
                if (mqtt && c.ch.isActive()) {
                    c.ch.write(Unpooled.wrappedBuffer(Mqtt.DISCONNECT_BYTES));
                }
                c.ch.close().addListener(f -> closed.countDown());
            });
        }
        boolean done = closed.await(60, TimeUnit.SECONDS);
        live.clear();
        return String.format(Locale.ROOT, "{\"ev\":\"closed\",\"count\":%d,\"complete\":%b}", all.size(), done);
    }

    private static String millis(long[] nanos) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < nanos.length; i++) {
            sb.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.3f", nanos[i] / 1e6));
        }
        return sb.append(']').toString();
    }

    public static void main(String[] argv) throws Exception {
        LoadGen g = new LoadGen(new Args(argv));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("{\"ev\":\"ready\"}");
        System.out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split("\\s+");
            String out;
            try {
                out = switch (w[0]) {
                    case "connect" -> g.connect(Integer.parseInt(w[1]));
                    case "stats" -> g.stats();
                    case "takeover" -> g.takeover(Integer.parseInt(w[1]));
                    case "publish" -> g.publish(Integer.parseInt(w[1]), Integer.parseInt(w[2]), Integer.parseInt(w[3]), Integer.parseInt(w[4]),
                            w.length > 5 ? Integer.parseInt(w[5]) : 300);
                    case "silent" -> g.silent(Integer.parseInt(w[1]), w.length > 2 ? Integer.parseInt(w[2]) : 5000);
                    case "close" -> g.closeAll();
                    case "quit" -> null;
                    default -> "{\"ev\":\"error\",\"message\":\"unknown command\"}";
                };
            } catch (RuntimeException e) {
                out = "{\"ev\":\"error\",\"message\":\"" + String.valueOf(e).replace('"', '\'') + "\"}";
            }
            if (out == null) {
                break;
            }
            System.out.println(out);
            System.out.flush();
        }
        for (Conn c : g.live) {
            if (c.ch != null) {
                c.closingOurselves = true;
                if (g.mqtt && c.ch.isActive()) {
                    c.ch.writeAndFlush(Unpooled.wrappedBuffer(Mqtt.DISCONNECT_BYTES));
                }
                c.ch.close();
            }
        }
        g.group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        System.exit(0);
    }
}
