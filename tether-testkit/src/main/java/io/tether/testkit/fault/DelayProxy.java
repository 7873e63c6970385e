package io.tether.testkit.fault;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.ReferenceCountUtil;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy that delays what it forwards, per direction, by a {@link Schedule}: the userspace
 * stand-in for {@code tc netem delay} on kernels without netem. Each chunk read from one side is
 * written to the other after its delay; order is kept (a chunk never overtakes the one before it,
 * so a short delay after a long one waits for it), as on a real path.
 *
 * <p>It differs from netem in what is delayed: netem delays packets, including TCP's own ACKs and
 * retransmissions; this proxy delays the byte stream between two TCP connections, each of which
 * is fast. For an application protocol whose timing is carried by its own frames (heartbeats) the
 * two are equivalent; for kernel mechanisms (retransmission timers, TCP_USER_TIMEOUT) they are not.
 *
 * <p>Runs in-process ({@link #start}) or as a program inside a lab namespace ({@link #main}):
 * {@code --listen HOST:PORT --upstream HOST:PORT [--uplink SPEC] [--downlink SPEC] [--trace]}, SPEC as in
 * {@link Schedule#parse}. The program prints {@code {"event":"listening","port":P}}; on standard
 * input it answers {@code stats} with one JSON line, takes {@code uplink SPEC} and
 * {@code downlink SPEC} (acknowledged with a {@code schedule} line), and exits on {@code exit} or
 * end of input.
 *
 * <p>Thread-safe.
 */
public final class DelayProxy implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final InetSocketAddress upstream;
    private volatile Schedule uplink;
    private volatile Schedule downlink;
    private final Channel server;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private volatile boolean trace;

    private DelayProxy(InetSocketAddress listen, InetSocketAddress upstream, Schedule uplink, Schedule downlink) {
        this.upstream = upstream;
        this.uplink = uplink;
        this.downlink = downlink;
        this.server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Link link = new Link(ch);
                        links.add(link);
                        ch.pipeline().addLast(link.up);
                    }
                })
                .bind(listen).syncUninterruptibly().channel();
    }

    /**
     * Listens on {@code listen} and forwards each connection to {@code upstream}, delaying
     * device-to-server bytes by {@code uplink} and server-to-device bytes by {@code downlink}.
     */
    public static DelayProxy start(InetSocketAddress listen, InetSocketAddress upstream, Schedule uplink, Schedule downlink) {
        return new DelayProxy(listen, upstream, uplink, downlink);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /**
     * Changes the uplink delay from the next chunk on (chunks already held keep theirs), so a
     * test can let connections settle before the path turns slow, as it would install netem.
     */
    public void uplink(Schedule s) {
        this.uplink = Objects.requireNonNull(s, "schedule");
        resetFigures();
    }

    /** Changes the downlink delay from the next chunk on. */
    public void downlink(Schedule s) {
        this.downlink = Objects.requireNonNull(s, "schedule");
        resetFigures();
    }

    /**
     * Prints one JSON line per forwarded chunk on standard output (read, release and write
     * times), for diagnosing a timing test. Off by default.
     */
    public void trace(boolean on) {
        this.trace = on;
    }

    /** {@link #stats()} from now on describe the new schedule only. */
    private void resetFigures() {
        for (Link l : links) {
            l.device.eventLoop().execute(() -> {
                l.up.reset();
                l.down.reset();
            });
        }
    }

    /** Figures per connection since it opened or the schedule last changed, oldest first. */
    public List<LinkStats> stats() {
        List<LinkStats> out = new ArrayList<>();
        for (Link l : links) {
            out.add(l.stats());
        }
        return out;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * What one connection went through.
     *
     * @param remote             the device side's address
     * @param open               whether the device side is still connected
     * @param uplinkChunks       chunks forwarded device to server
     * @param downlinkChunks     chunks forwarded server to device
     * @param maxUplinkDelayMs   longest delay applied to an uplink chunk (queueing behind an
     *                           earlier chunk included)
     * @param maxDownlinkDelayMs the same, downlink
     * @param maxUplinkGapMs     longest time between two consecutive uplink chunks as written to
     *                           the server: the longest silence the server saw
     * @param maxDownlinkGapMs   the same, downlink: the longest silence the device saw
     */
    public record LinkStats(String remote, boolean open, long uplinkChunks, long downlinkChunks, double maxUplinkDelayMs,
                            double maxDownlinkDelayMs, double maxUplinkGapMs, double maxDownlinkGapMs) {
        String toJson() {
            return String.format(Locale.ROOT, "{\"remote\":\"%s\",\"open\":%b,\"uplinkChunks\":%d,\"downlinkChunks\":%d,"
                            + "\"maxUplinkDelayMs\":%.3f,\"maxDownlinkDelayMs\":%.3f,\"maxUplinkGapMs\":%.3f,"
                            + "\"maxDownlinkGapMs\":%.3f}", remote, open, uplinkChunks, downlinkChunks, maxUplinkDelayMs,
                    maxDownlinkDelayMs, maxUplinkGapMs, maxDownlinkGapMs);
        }
    }

    /**
     * The delay of each chunk, by its index in its direction (0 = first). Immutable; thread-safe.
     */
    public static final class Schedule {
        private final String spec;
        private final long[] patternNanos;
        private final long minNanos;
        private final long maxNanos;

        private Schedule(String spec, long[] patternNanos, long minNanos, long maxNanos) {
            for (long d : patternNanos == null ? new long[0] : patternNanos) {
                if (d < 0) {
                    throw new IllegalArgumentException("delay: " + spec + " (expected: >= 0)");
                }
            }
            if (minNanos < 0 || maxNanos < minNanos) {
                throw new IllegalArgumentException("delay: " + spec + " (expected: 0 <= min <= max)");
            }
            this.spec = spec;
            this.patternNanos = patternNanos;
            this.minNanos = minNanos;
            this.maxNanos = maxNanos;
        }

        /** Every chunk by {@code d}. */
        public static Schedule fixed(Duration d) {
            return pattern(d);
        }

        /**
         * Chunk {@code i} by {@code delays[i % delays.length]}. With periodic traffic such as
         * heartbeats, a delayed chunk that follows an undelayed one stretches that gap between
         * arrivals by its delay: {@code pattern(0, d)} does it every second chunk. As chunks keep
         * their order, a delay longer than the traffic's period holds the following chunks back
         * too; {@code pattern(d, 0, 0)} still gives one full stretch every third chunk for any
         * {@code d} below two periods.
         */
        public static Schedule pattern(Duration... delays) {
            if (delays.length == 0) {
                throw new IllegalArgumentException("pattern: no delay given");
            }
            long[] ns = new long[delays.length];
            StringBuilder spec = new StringBuilder(delays.length == 1 ? "fixed:" : "pattern:");
            for (int i = 0; i < delays.length; i++) {
                ns[i] = delays[i].toNanos();
                spec.append(i == 0 ? "" : ",").append(delays[i].toMillis());
            }
            return new Schedule(spec.toString(), ns, 0, 0);
        }

        /** Each chunk by a delay drawn uniformly from {@code [min, max]}. */
        public static Schedule uniform(Duration min, Duration max) {
            return new Schedule("uniform:" + min.toMillis() + "," + max.toMillis(), null, min.toNanos(), max.toNanos());
        }

        /**
         * Parses {@code fixed:MS}, {@code pattern:MS,MS,...} or {@code uniform:MIN_MS,MAX_MS}.
         *
         * @throws IllegalArgumentException if the text is none of these
         */
        public static Schedule parse(String text) {
            String[] kv = text.split(":", 2);
            String[] v = kv.length == 2 ? kv[1].split(",") : new String[0];
            try {
                Duration[] d = new Duration[v.length];
                for (int i = 0; i < v.length; i++) {
                    d[i] = Duration.ofMillis(Long.parseLong(v[i].strip()));
                }
                if (kv[0].equals("fixed") && d.length == 1 || kv[0].equals("pattern") && d.length >= 1) {
                    return pattern(d);
                }
                if (kv[0].equals("uniform") && d.length == 2) {
                    return uniform(d[0], d[1]);
                }
            } catch (NumberFormatException e) {
                // fall through to the message below
            }
            throw new IllegalArgumentException("delay schedule: " + text
                    + " (expected: fixed:MS, pattern:MS,MS,... or uniform:MIN_MS,MAX_MS)");
        }

        long delayNanos(long index) {
            if (patternNanos != null) {
                return patternNanos[(int) (index % patternNanos.length)];
            }
            return minNanos == maxNanos ? minNanos : ThreadLocalRandom.current().nextLong(minNanos, maxNanos + 1);
        }

        @Override
        public String toString() {
            return spec;
        }
    }

    /** One proxied connection; all its state lives on its one event loop. */
    private final class Link {
        private final Channel device;
        private Channel upstreamChannel;
        final Pipe up = new Pipe(true);
        final Pipe down = new Pipe(false);

        Link(Channel device) {
            this.device = device;
            device.eventLoop().execute(this::connect);
        }

        private void connect() {
            new Bootstrap().group(device.eventLoop()).channel(EpollSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(down)
                    .connect(upstream).addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            upstreamChannel = f.channel();
                            device.config().setAutoRead(true);
                        } else {
                            abort(device);
                        }
                    });
        }

        LinkStats stats() {
            return new LinkStats(String.valueOf(device.remoteAddress()), device.isActive(), up.chunks, down.chunks, up.maxDelayNanos / 1e6,
                    down.maxDelayNanos / 1e6, up.maxGapNanos / 1e6, down.maxGapNanos / 1e6);
        }

        private void abort(Channel ch) {
            if (ch != null && ch.isOpen()) {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
                ch.close();
            }
        }

        /**
         * One direction: reads from one channel, writes to the other after the delay. Chunks wait
         * in a FIFO queue drained by one timer, so they leave in the order they came whatever
         * their delays (separate timers per chunk could swap two chunks due at the same instant).
         */
        private final class Pipe extends ChannelInboundHandlerAdapter {
            private final boolean uplink;
            private final ArrayDeque<Held> queue = new ArrayDeque<>();
            private volatile long chunks;
            private volatile long maxDelayNanos;
            private volatile long maxGapNanos;
            private long lastReleaseNanos;
            private long lastWrittenNanos;
            private boolean drainScheduled;
            private boolean closeWhenDrained;

            Pipe(boolean uplink) {
                this.uplink = uplink;
            }

            void reset() {
                chunks = 0;
                maxDelayNanos = 0;
                maxGapNanos = 0;
                lastWrittenNanos = 0;
            }

            private Channel target() {
                return uplink ? upstreamChannel : device;
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                long now = System.nanoTime();
                long delay = (uplink ? DelayProxy.this.uplink : DelayProxy.this.downlink).delayNanos(chunks);
                // Never overtake the chunk before: release times only move forward.
                long release = Math.max(now + delay, lastReleaseNanos);
                lastReleaseNanos = release;
                chunks++;
                maxDelayNanos = Math.max(maxDelayNanos, release - now);
                queue.add(new Held(now, release, (ByteBuf) msg));
                if (!drainScheduled) {
                    drainScheduled = true;
                    ctx.executor().schedule(this::drain, release - now, TimeUnit.NANOSECONDS);
                }
            }

            private void drain() {
                drainScheduled = false;
                Channel t = target();
                long now = System.nanoTime();
                boolean wrote = false;
                while (!queue.isEmpty() && queue.peek().releaseNanos <= now) {
                    Held h = queue.poll();
                    if (t == null || !t.isActive()) {
                        ReferenceCountUtil.release(h.data);
                        continue;
                    }
                    if (lastWrittenNanos != 0) {
                        maxGapNanos = Math.max(maxGapNanos, now - lastWrittenNanos);
                    }
                    lastWrittenNanos = now;
                    if (trace) {
                        System.out.printf(Locale.ROOT, "{\"event\":\"chunk\",\"link\":\"%s\",\"dir\":\"%s\",\"bytes\":%d,"
                                        + "\"readMono\":%d,\"releaseMono\":%d,\"writeMono\":%d}%n", device.remoteAddress(),
                                uplink ? "up" : "down", h.data.readableBytes(), h.readNanos, h.releaseNanos, now);
                    }
                    t.write(h.data);
                    wrote = true;
                }
                if (wrote) {
                    t.flush();
                }
                if (!queue.isEmpty()) {
                    drainScheduled = true;
                    device.eventLoop().schedule(this::drain, queue.peek().releaseNanos - now, TimeUnit.NANOSECONDS);
                } else if (closeWhenDrained && t != null) {
                    t.close();
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                // Pass the close on after whatever is still being delayed.
                Channel t = target();
                if (queue.isEmpty()) {
                    if (t != null) {
                        t.close();
                    }
                } else {
                    closeWhenDrained = true;
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                if (cause instanceof IOException) {
                    abort(target()); // most likely an RST: pass it on as one
                }
                ctx.close();
            }
        }
    }

    /** A chunk waiting for its release time. */
    private record Held(long readNanos, long releaseNanos, ByteBuf data) {
    }

    /** Runs the proxy as a program; see the class comment. */
    public static void main(String[] args) throws IOException {
        InetSocketAddress listen = null;
        InetSocketAddress upstream = null;
        Schedule up = Schedule.fixed(Duration.ZERO);
        Schedule down = Schedule.fixed(Duration.ZERO);
        boolean trace = false;
        for (int i = 0; i < args.length; i += 2) {
            if (args[i].equals("--trace")) {
                trace = true;
                i--;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            switch (args[i]) {
                case "--listen" -> listen = address(args[i + 1]);
                case "--upstream" -> upstream = address(args[i + 1]);
                case "--uplink" -> up = Schedule.parse(args[i + 1]);
                case "--downlink" -> down = Schedule.parse(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (listen == null || upstream == null) {
            throw new IllegalArgumentException("--listen and --upstream are required");
        }
        try (DelayProxy proxy = start(listen, upstream, up, down)) {
            proxy.trace(trace);
            System.out.println("{\"event\":\"listening\",\"port\":" + proxy.port() + ",\"uplink\":\"" + up
                    + "\",\"downlink\":\"" + down + "\"}");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.strip().equals("exit")) {
                String[] cmd = line.strip().split("\\s+");
                if ((cmd[0].equals("uplink") || cmd[0].equals("downlink")) && cmd.length == 2) {
                    if (cmd[0].equals("uplink")) {
                        proxy.uplink(Schedule.parse(cmd[1]));
                    } else {
                        proxy.downlink(Schedule.parse(cmd[1]));
                    }
                    System.out.println("{\"event\":\"schedule\",\"mono\":" + System.nanoTime() + ",\"uplink\":\""
                            + proxy.uplink + "\",\"downlink\":\"" + proxy.downlink + "\"}");
                } else if (line.strip().equals("stats")) {
                    StringBuilder s = new StringBuilder("{\"event\":\"stats\",\"links\":[");
                    List<LinkStats> stats = proxy.stats();
                    for (int i = 0; i < stats.size(); i++) {
                        s.append(i == 0 ? "" : ",").append(stats.get(i).toJson());
                    }
                    System.out.println(s.append("]}"));
                }
            }
        }
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
