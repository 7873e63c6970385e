package io.tether.server.internal.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tether.server.ApiRate;
import io.tether.server.Commands;
import io.tether.server.internal.admin.RequestDeadline;
import io.tether.server.internal.feed.Feed;
import io.tether.transport.HostPort;
import io.tether.transport.Transport;
import io.tether.transport.tls.Tls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The HTTP API (docs/API.md): JSON over HTTP/1.1 with keep-alive, for applications that send
 * devices commands through the ledger ({@link Commands}), look at devices, and read the
 * application feed by cursor or as Server-Sent Events ({@link FeedEndpoints}).
 *
 * <p><b>Threads.</b> The API runs on an event-loop group of its own (accepting and I/O, as the
 * admin endpoint does), not on the gateway's: a flood of requests, or a slow TLS client, then
 * competes with devices for CPU only, never for a device's event loop, so heartbeats and takeovers
 * keep their timing whatever applications do. Nothing here blocks an event loop: every ledger
 * call returns a stage, and the response is written from the connection's event loop when it
 * completes.
 *
 * <p><b>Bounds.</b> A request body may be as large as a maximal payload in base64 plus 4 KiB
 * (larger: 413); at most {@link Limits#maxConnections} connections (more are answered 503 and
 * closed); a request must arrive whole within {@link Limits#requestTimeout} of its first byte; a
 * connection waiting for its next request is closed after {@link Limits#idleTimeout}. Pipelined
 * requests are answered one at a time, in order; the socket is not read while 16 of them wait.
 *
 * <p>Thread-safe. {@link #close()} is idempotent.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

    /** The longest {@code ?wait=} honoured; longer waits are cut to this. */
    public static final Duration MAX_WAIT = Duration.ofSeconds(60);

    /**
     * Bounds on API connections.
     *
     * @param maxConnections API connections open at once; more are answered 503 and closed
     * @param requestTimeout from a request's first byte to its last
     * @param idleTimeout    how long a keep-alive connection may wait for its next request
     * @param ledgerTimeout  how long a ledger call may take beyond the wait it was asked for; then
     *                       the request is answered 503 (the ledger's own bound failed)
     */
    public record Limits(int maxConnections, Duration requestTimeout, Duration idleTimeout, Duration ledgerTimeout) {
        /** 256 connections, 30 s per request, 75 s idle (longer than the 60 s of common client pools), 30 s per ledger call. */
        public static final Limits DEFAULT = new Limits(256, Duration.ofSeconds(30), Duration.ofSeconds(75),
                Duration.ofSeconds(30));

        public Limits {
            if (maxConnections < 1) {
                throw new IllegalArgumentException("api maxConnections " + maxConnections + " (expected: >= 1)");
            }
            if (requestTimeout.isNegative() || requestTimeout.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()
                    || ledgerTimeout.isNegative() || ledgerTimeout.isZero()) {
                throw new IllegalArgumentException("api timeouts must be > 0");
            }
        }
    }

    /**
     * Bounds of the application feed's endpoints ({@code GET /v1/messages}, {@code GET /v1/stream}).
     *
     * @param maxStreams streams open at once; more are answered 503 {@code feed-busy}
     * @param readers    threads that read the feed (it may touch the disk: never on an event loop)
     * @param readQueue  reads waiting for a reader; a page request beyond it is answered 503
     *                   {@code feed-busy}, a stream retries shortly
     * @param heartbeat  how often an idle stream sends a comment, so proxies keep it open
     */
    public record FeedLimits(int maxStreams, int readers, int readQueue, Duration heartbeat) {
        /** 64 streams, 2 readers, 256 queued reads, a heartbeat every 15 s. */
        public static final FeedLimits DEFAULT = new FeedLimits(64, 2, 256, Duration.ofSeconds(15));

        public FeedLimits {
            if (maxStreams < 1) {
                throw new IllegalArgumentException("api feed maxStreams " + maxStreams + " (expected: >= 1)");
            }
            if (readers < 1 || readQueue < 1) {
                throw new IllegalArgumentException("api feed readers " + readers + ", readQueue " + readQueue
                        + " (expected: >= 1 each)");
            }
            if (heartbeat.isNegative() || heartbeat.isZero()) {
                throw new IllegalArgumentException("api feed heartbeat " + heartbeat + " (expected: > 0)");
            }
        }
    }

    /**
     * What the API serves and how.
     *
     * @param address        where to listen; port 0 picks a free port
     * @param tls            TLS on the API port, or null for plaintext
     * @param keys           the API keys, or null to serve without authentication
     * @param rate           requests per key
     * @param maxFrameLength the gateway's largest frame: a payload may be 10 bytes less
     * @param commands       the ledger, looked up per request (so the API may start before it)
     * @param directory      sessions of devices, fed by the gateway's session events
     * @param transport      epoll or NIO
     * @param meters         where the API's counters go
     * @param clock          wall clock for "lastSeen" of a live device
     * @param ticker         nanoseconds for the rate limiter (System::nanoTime)
     * @param limits         connection bounds
     * @param feed           the application feed that {@code GET /v1/messages} and {@code GET /v1/stream}
     *                       read, or null when it is off (they answer 404)
     * @param feedLimits     bounds of those two
     */
    public record Settings(InetSocketAddress address, SslContext tls, ApiKeyFile keys, ApiRate rate, int maxFrameLength,
                           Supplier<Commands> commands, DeviceDirectory directory, Transport transport,
                           MeterRegistry meters, Clock clock, LongSupplier ticker, Limits limits, Feed feed,
                           FeedLimits feedLimits) {
        /** Settings without the application feed: its endpoints answer 404. */
        public Settings(InetSocketAddress address, SslContext tls, ApiKeyFile keys, ApiRate rate, int maxFrameLength,
                        Supplier<Commands> commands, DeviceDirectory directory, Transport transport,
                        MeterRegistry meters, Clock clock, LongSupplier ticker, Limits limits) {
            this(address, tls, keys, rate, maxFrameLength, commands, directory, transport, meters, clock, ticker, limits,
                    null, FeedLimits.DEFAULT);
        }

        public Settings {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(rate, "rate");
            Objects.requireNonNull(commands, "commands");
            Objects.requireNonNull(directory, "directory");
            Objects.requireNonNull(transport, "transport");
            Objects.requireNonNull(meters, "meters");
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(ticker, "ticker");
            Objects.requireNonNull(limits, "limits");
            Objects.requireNonNull(feedLimits, "feedLimits");
        }

        /** The same settings with the application feed on. */
        public Settings withFeed(Feed feed, FeedLimits feedLimits) {
            return new Settings(address, tls, keys, rate, maxFrameLength, commands, directory, transport, meters, clock,
                    ticker, limits, Objects.requireNonNull(feed, "feed"), feedLimits);
        }

        /** Largest command payload: a frame less its 10 bytes of header. */
        int maxPayload() {
            return maxFrameLength - 10;
        }

        /** Largest request body: the largest payload in padded base64, plus 4 KiB for the rest of the JSON. */
        int maxBody() {
            return 4 * ((maxPayload() + 2) / 3) + 4096;
        }
    }

    private final Settings settings;
    private final EventLoopGroup group;
    private final ChannelGroup channels = new DefaultChannelGroup("tether-api", GlobalEventExecutor.INSTANCE);
    private final Channel listener;
    private final AtomicInteger open = new AtomicInteger();
    private final ApiHandler.Shared shared;
    private final FeedEndpoints feed;
    private volatile boolean closed;

    private ApiServer(Settings s) {
        this.settings = s;
        Counter refused = Counter.builder("tether.api.connections.refused")
                .description("API connections refused: too many open").register(s.meters());
        this.feed = new FeedEndpoints(s.feed(), s.feedLimits(), s.meters(), s.ticker());
        this.shared = new ApiHandler.Shared(s, new RateLimiter(s.rate(), s.ticker()), s.meters(), feed);
        int threads = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));
        this.group = s.transport().newGroup(threads, "tether-api");
        Limits limits = s.limits();
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(s.transport().serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ChannelPipeline p = ch.pipeline();
                        if (s.tls() != null) {
                            // A stalled handshake gets as long as a stalled request.
                            p.addLast("tls", Tls.handler(s.tls(), ch, limits.requestTimeout()));
                        }
                        if (open.incrementAndGet() > limits.maxConnections()) {
                            open.decrementAndGet();
                            refused.increment();
                            FullHttpResponse res = ApiHandler.problemResponse(Problem.TOO_MANY_CONNECTIONS,
                                    "too many API connections (at most " + limits.maxConnections() + "): reuse connections "
                                            + "(keep-alive) or retry later", null);
                            res.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
                            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                            p.addLast(new HttpServerCodec());
                            ch.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        p.addLast("deadline", new RequestDeadline(limits.requestTimeout().toNanos(), limits.idleTimeout().toNanos()))
                                .addLast("codec", new HttpServerCodec())
                                .addLast("aggregator", new BoundedAggregator(s.maxBody()))
                                .addLast("api", new ApiHandler(shared));
                    }
                });
        try {
            this.listener = b.bind(s.address()).syncUninterruptibly().channel();
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            feed.close();
            throw new UncheckedIOException(new IOException(
                    "cannot listen on " + HostPort.format(s.address()) + " for the HTTP API: " + e.getMessage(), e));
        }
        channels.add(listener);
        log.info("HTTP API on {} ({}, {}, rate {} per key)", uri(), s.tls() == null ? "plaintext" : "TLS",
                s.keys() == null ? "NO AUTHENTICATION" : s.keys().size() + " API keys from " + s.keys().path(), s.rate());
        if (s.keys() == null) {
            log.warn("THE HTTP API IS OPEN: anyone who reaches {} can send commands to every device. Use only for "
                    + "local demos and tests.", uri());
        }
    }

    /**
     * Starts the API.
     *
     * @throws UncheckedIOException if the address cannot be bound (the message names it)
     */
    public static ApiServer start(Settings settings) {
        return new ApiServer(Objects.requireNonNull(settings, "settings"));
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The base URI, e.g. {@code http://127.0.0.1:7480}; a wildcard bind is shown as loopback. */
    public URI uri() {
        InetSocketAddress a = address();
        InetAddress ip = a.getAddress().isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : a.getAddress();
        return URI.create((settings.tls() == null ? "http://" : "https://") + HostPort.format(new InetSocketAddress(ip, a.getPort())));
    }

    /** {@code GET /v1/stream} connections open now. */
    public int openStreams() {
        return feed.openStreams();
    }

    /** API connections open now. */
    public int openConnections() {
        return open.get();
    }

    /** Stops listening and closes every API connection. Idempotent; does not touch the gateway. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        channels.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        feed.close();
    }

    /** Emitted by {@link BoundedAggregator} in place of a request whose body is over the limit. */
    record TooLarge(String uri, boolean close) {
    }

    /**
     * Netty's aggregator, with its 413 answers as problem+json: the oversized request is handed
     * on as a {@link TooLarge}, so that it is answered in its turn among pipelined requests.
     */
    static final class BoundedAggregator extends HttpObjectAggregator {
        private final int max;

        BoundedAggregator(int maxContentLength) {
            super(maxContentLength);
            this.max = maxContentLength;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            if (oversized instanceof HttpRequest req) {
                // Part of the body was taken already (no Content-Length up front), or the client
                // does not keep the connection: answer and close, as Netty does. Otherwise the rest
                // of the body is skipped and the connection serves the next request.
                boolean close = oversized instanceof FullHttpMessage || !HttpUtil.isKeepAlive(req);
                ctx.fireChannelRead(new TooLarge(req.uri(), close));
            } else {
                ctx.close();
            }
        }

        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            Object res = super.newContinueResponse(start, maxContentLength, pipeline);
            if (res instanceof HttpResponse r && r.status().code() == 413 && start instanceof HttpRequest req) {
                io.netty.util.ReferenceCountUtil.release(res);
                return ApiHandler.problemResponse(Problem.PAYLOAD_TOO_LARGE, ApiHandler.bodyTooLarge(max), req.uri());
            }
            return res;
        }
    }

    static FullHttpResponse emptyResponse(HttpResponseStatus status) {
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
    }
}
