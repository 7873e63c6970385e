package io.tether.server.internal.admin;

import io.tether.server.SessionsSnapshot;
import io.tether.server.SocketAudit;
import io.tether.server.StoreHealth;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tether.server.TetherServer;
import io.tether.transport.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A small read-only HTTP endpoint that shows what a running {@link TetherServer} holds, as JSON:
 *
 * <ul>
 *   <li>{@code GET /sessions}: port, registry size and every open connection
 *       ({@link SessionsSnapshot}); {@code ?device=ID} keeps that device's connections only;</li>
 *   <li>{@code GET /sockets}: the {@link SocketAudit} of the server's port against the kernel's
 *       socket table of this process's network namespace: counts per TCP state, ghosts, orphans,
 *       CLOSE_WAIT ({@link SocketAudit.Report#toJson()});</li>
 *   <li>{@code GET /metrics}: every Micrometer meter of {@link TetherServer#meters()} in the
 *       Prometheus text format, when that registry is (or, composite, holds) a
 *       {@code PrometheusMeterRegistry} — the default, and what {@code tether serve} uses;
 *       otherwise the JSON of {@code /metrics.json}, as before;</li>
 *   <li>{@code GET /metrics.json}: every meter as name, type, tags and value;</li>
 *   <li>{@code GET /closes}: the last closes of each reason ({@link RecentCloses});
 *       {@code ?device=ID} keeps one device's;</li>
 *   <li>{@code GET /dashboard}: a live page over the above, for a browser (no script from
 *       elsewhere: the page is a resource of this module);</li>
 *   <li>{@code GET /devices/{id}/history}: the device's last sessions, newest first
 *       ({@link io.tether.server.DeviceHistory}; {@link TetherServer#history});</li>
 *   <li>{@code GET /health}: 200 {@code {"status":"UP",...}} while the gateway can store messages;
 *       503 {@code {"status":"DOWN","store":{"state":"FAILED","resource":"disk","cause":...}}}
 *       while its {@link io.tether.server.MessageStore#health() store has failed} (it recovers by
 *       itself); with a Kafka forwarder, its state and lag as {@code "forwarder"} (Kafka down
 *       leaves the status UP: devices are still acknowledged).</li>
 * </ul>
 *
 * <p><b>Authentication.</b> The endpoint only reads, but it names every device and its address.
 * With {@link Keys} (an API keys file) every request but {@code /health} needs
 * {@code Authorization: Bearer <key>} and is answered 401 without it; {@code /health} stays open
 * for load balancers, and says nothing about devices. Without keys it is open: the server allows
 * that on loopback only, unless told otherwise ({@code --insecure-admin}).
 *
 * <p>It runs on one event loop of its own, separate from the gateway's, so a slow admin request
 * (an audit reads every TCP socket of the namespace from {@code /proc}) never delays a device.
 * Requests other than GET and HEAD are answered 405; unknown paths 404; request bodies are capped
 * at 8 KiB. Its connections are bounded, because each costs a descriptor the gateway and its
 * store may need: at most {@link Limits#maxConnections} at once (more are answered 503 and
 * closed), a request must be complete within {@link Limits#requestTimeout} of its first byte,
 * and a connection waiting for its next request is closed after {@link Limits#idleTimeout} —
 * bytes that trickle in extend neither.
 *
 * <p>Thread-safe. {@link #close()} is idempotent.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** Where the endpoint listens unless told otherwise: 127.0.0.1:7401, loopback only. */
    public static final InetSocketAddress DEFAULT_ADDRESS = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7401);

    private static final int MAX_REQUEST_BYTES = 8 * 1024;

    /**
     * Bounds on admin connections.
     *
     * @param maxConnections admin connections open at once; more are answered 503 and closed
     * @param requestTimeout from a request's first byte to its last
     * @param idleTimeout    how long a connection may wait for its next request
     */
    public record Limits(int maxConnections, java.time.Duration requestTimeout, java.time.Duration idleTimeout) {
        /** 32 connections, 10 s per request, 60 s idle. */
        public static final Limits DEFAULT = new Limits(32, java.time.Duration.ofSeconds(10), java.time.Duration.ofSeconds(60));

        public Limits {
            if (maxConnections < 1) {
                throw new IllegalArgumentException("admin maxConnections " + maxConnections + " (expected: >= 1)");
            }
            if (requestTimeout.isNegative() || requestTimeout.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
                throw new IllegalArgumentException("admin timeouts must be > 0");
            }
        }
    }

    private final TetherServer server;
    /**
     * The keys requests must present. A view of the API keys file, so that this package need not
     * depend on the API's (which uses this one's {@link RequestDeadline}).
     */
    public interface Keys {
        /** The name of the key {@code presented}, or null if it is not one of them. */
        String authenticate(String presented);

        /** Where the keys come from, for messages: the file. */
        String source();
    }

    /** Keys required of requests, or null when the endpoint is open. */
    private final Keys keys;
    private final EventLoopGroup group;
    private final ChannelGroup channels = new DefaultChannelGroup("tether-admin", GlobalEventExecutor.INSTANCE);
    private final Channel listener;
    private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
    private final io.micrometer.core.instrument.Counter refused;
    private final RecentCloses recentCloses;
    /** The kernel's view of the port for the {@code tether.kernel.*} gauges, refreshed by {@link #audit()}. */
    private final KernelGauges kernel;
    private volatile boolean closed;
    /** The Kafka forwarder's status for {@code /health}, or null without one. */
    private volatile java.util.function.Supplier<io.tether.server.internal.kafka.KafkaForwarder.Status> forwarder;

    private AdminServer(TetherServer server, InetSocketAddress address, Limits limits, Keys keys,
                        RecentCloses recentCloses) {
        this.server = server;
        this.keys = keys;
        this.recentCloses = recentCloses;
        this.kernel = new KernelGauges(server.meters());
        this.refused = io.micrometer.core.instrument.Counter.builder("tether.admin.connections.refused")
                .description("admin connections refused: too many open").register(server.meters());
        this.group = server.transport().newGroup(1, "tether-admin");
        Handler handler = new Handler();
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(server.transport().serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        if (open.incrementAndGet() > limits.maxConnections()) {
                            open.decrementAndGet();
                            refused.increment();
                            byte[] body = Json.error(503, "too many admin connections (at most "
                                    + limits.maxConnections() + ")").getBytes(StandardCharsets.UTF_8);
                            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                    HttpResponseStatus.SERVICE_UNAVAILABLE, Unpooled.wrappedBuffer(body));
                            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
                            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
                            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                            ch.pipeline().addLast(new HttpServerCodec());
                            ch.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        ch.pipeline()
                                .addLast(new RequestDeadline(limits.requestTimeout().toNanos(), limits.idleTimeout().toNanos()))
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                .addLast(handler);
                    }
                });
        try {
            this.listener = b.bind(address).syncUninterruptibly().channel();
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new UncheckedIOException(new IOException(
                    "cannot listen on " + address + " for the admin endpoint: " + e.getMessage(), e));
        }
        channels.add(listener);
        // A scrape reads the last audit, never /proc itself: reading every TCP socket of the
        // namespace takes tens of ms at tens of thousands of sockets. /sockets refreshes it too.
        group.next().scheduleWithFixedDelay(this::auditQuietly, 0, AUDIT_PERIOD_SECONDS, TimeUnit.SECONDS);
        if (keys == null) {
            log.info("admin endpoint on {} (read-only, no authentication: keep it on loopback or a private network)", uri());
        } else {
            log.info("admin endpoint on {} (read-only; API keys from {})", uri(), keys.source());
        }
    }

    /**
     * Starts the endpoint for {@code server} on {@link #DEFAULT_ADDRESS}.
     *
     * @throws UncheckedIOException if the address cannot be bound
     */
    public static AdminServer start(TetherServer server) {
        return start(server, DEFAULT_ADDRESS);
    }

    /**
     * Starts the endpoint for {@code server} on {@code address}. The server should be started:
     * until it is, {@code /sessions}, {@code /sockets} and {@code /health} answer 503.
     *
     * @param address where to listen; port 0 picks a free port ({@link #address()} tells which)
     * @throws UncheckedIOException if the address cannot be bound
     * @throws NullPointerException if an argument is null
     */
    public static AdminServer start(TetherServer server, InetSocketAddress address) {
        return start(server, address, Limits.DEFAULT);
    }

    /** As {@link #start(TetherServer, InetSocketAddress)}, with bounds on admin connections. */
    public static AdminServer start(TetherServer server, InetSocketAddress address, Limits limits) {
        return start(server, address, limits, null, null);
    }

    /**
     * As {@link #start(TetherServer, InetSocketAddress, Limits)}, requiring one of {@code keys}
     * of every request but {@code /health} and the page {@code /dashboard} (which holds no data;
     * its requests carry the key); {@code null} keys leave the endpoint open.
     */
    public static AdminServer start(TetherServer server, InetSocketAddress address, Limits limits, Keys keys) {
        return start(server, address, limits, keys, null);
    }

    /**
     * As {@link #start(TetherServer, InetSocketAddress, Limits)}, showing {@code recentCloses}
     * (a listener of {@code server}) at {@code /closes}; null: {@code /closes} answers 404.
     */
    public static AdminServer start(TetherServer server, InetSocketAddress address, Limits limits, RecentCloses recentCloses) {
        return start(server, address, limits, null, recentCloses);
    }

    /** Both: keys (null = open) and the recent closes (null = no {@code /closes}). */
    public static AdminServer start(TetherServer server, InetSocketAddress address, Limits limits, Keys keys,
                                    RecentCloses recentCloses) {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(limits, "limits");
        return new AdminServer(server, address, limits, keys, recentCloses);
    }

    /**
     * Shows the Kafka forwarder in {@code /health} as {@code "forwarder":{state, position, head,
     * lag, lagBytes, lastError, lastCommitAtMillis}}. A forwarder that cannot reach Kafka leaves
     * the gateway UP: devices are still acknowledged, and the lag is the figure to watch.
     */
    public void forwarder(java.util.function.Supplier<io.tether.server.internal.kafka.KafkaForwarder.Status> status) {
        this.forwarder = status;
    }

    /** Seconds between the audits that feed the {@code tether.kernel.*} gauges. */
    static final int AUDIT_PERIOD_SECONDS = 10;

    /** Audits the port against the kernel and keeps the figures for the gauges. */
    private SocketAudit.Report audit() throws IOException {
        SocketAudit.Report r = SocketAudit.of(server);
        kernel.update(r);
        return r;
    }

    private void auditQuietly() {
        try {
            audit();
        } catch (IOException | RuntimeException e) {
            // Not bound yet, or no /proc (not Linux): the gauges keep their last values.
            log.debug("socket audit for the kernel gauges failed: {}", e.toString());
        }
    }

    /** Admin connections open now. */
    public int openConnections() {
        return open.get();
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The base URI, e.g. {@code http://127.0.0.1:7401}; a wildcard bind is shown as loopback. */
    public URI uri() {
        InetSocketAddress a = address();
        InetAddress ip = a.getAddress().isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : a.getAddress();
        return URI.create("http://" + Json.formatAddress(new InetSocketAddress(ip, a.getPort())));
    }

    /**
     * Parses {@code HOST:PORT}, {@code [IPV6]:PORT} or {@code http://HOST:PORT}, as given to
     * {@code --admin}. A host name is resolved once, here.
     *
     * @throws IllegalArgumentException if {@code value} has no port, a port out of 0 to 65535, or
     *     a host that does not resolve
     */
    public static InetSocketAddress parseAddress(String value) {
        Objects.requireNonNull(value, "value");
        String v = value.strip();
        if (v.startsWith("http://")) {
            v = v.substring("http://".length());
        }
        if (v.endsWith("/")) {
            v = v.substring(0, v.length() - 1);
        }
        if (v.indexOf(':') < 0) {
            // A bare port would listen on every interface: the endpoint names devices and their
            // addresses, so the host is never implied.
            throw new IllegalArgumentException("--admin '" + value + "': expected HOST:PORT, e.g. 127.0.0.1:7401");
        }
        return HostPort.resolve("--admin", v);
    }

    /** Stops listening and closes every admin connection. Idempotent; does not touch the gateway. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        channels.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        kernel.remove();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final String JSON = "application/json; charset=utf-8";

    /** A response body, its status and content type. */
    private record Reply(HttpResponseStatus status, String json, String contentType) {
        Reply(HttpResponseStatus status, String json) {
            this(status, json, JSON);
        }
    }

    private Reply route(QueryStringDecoder uri) {
        String path = uri.path();
        if (path.startsWith(DEVICES) && path.endsWith(HISTORY) && path.length() > DEVICES.length() + HISTORY.length()) {
            return history(path.substring(DEVICES.length(), path.length() - HISTORY.length()));
        }
        switch (path) {
            case "/sessions": {
                String device = param(uri, "device");
                return new Reply(HttpResponseStatus.OK, device == null ? SessionsSnapshot.of(server).toJson()
                        : Json.deviceSessions(server, device));
            }
            case "/sockets":
                try {
                    return new Reply(HttpResponseStatus.OK, audit().toJson());
                } catch (IOException e) {
                    return error(HttpResponseStatus.SERVICE_UNAVAILABLE, "cannot read the kernel's socket table: " + e.getMessage());
                }
            case "/metrics": {
                io.micrometer.prometheusmetrics.PrometheusMeterRegistry prometheus = Metrics.prometheus(server.meters());
                return prometheus == null ? new Reply(HttpResponseStatus.OK, Json.meters(server.meters()))
                        : new Reply(HttpResponseStatus.OK, prometheus.scrape(), Metrics.PROMETHEUS_TEXT);
            }
            case "/metrics.json":
                return new Reply(HttpResponseStatus.OK, Json.meters(server.meters()));
            case "/closes": {
                if (recentCloses == null) {
                    return error(HttpResponseStatus.NOT_FOUND, "no recent closes kept by this server");
                }
                return new Reply(HttpResponseStatus.OK, Json.closes(recentCloses, param(uri, "device")));
            }
            case "/dashboard":
            case "/dashboard/":
                return new Reply(HttpResponseStatus.OK, Dashboard.page(), "text/html; charset=utf-8");
            case "/health": {
                StoreHealth store = server.store().health();
                // A load balancer or orchestrator takes 503 as "send no devices here for now".
                HttpResponseStatus status = store.isHealthy() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE;
                return new Reply(status, Json.write(g -> {
                    g.writeStartObject();
                    g.writeStringField("status", store.isHealthy() ? "UP" : "DOWN");
                    g.writeNumberField("port", server.port());
                    g.writeNumberField("connections", server.connectionCount());
                    g.writeNumberField("sessions", server.registry().size());
                    g.writeObjectFieldStart("store");
                    g.writeStringField("state", store.state().name());
                    if (!store.isHealthy()) {
                        g.writeStringField("resource", store.resource());
                        g.writeStringField("cause", store.cause());
                    }
                    g.writeNumberField("sinceMillis", store.sinceMillis());
                    g.writeNumberField("failures", store.failures());
                    g.writeEndObject();
                    // A failing event sink costs events, not devices: reported, but still UP.
                    io.micrometer.core.instrument.Counter dropped = server.meters().find("tether.events.dropped").counter();
                    if (dropped != null) {
                        g.writeObjectFieldStart("events");
                        g.writeNumberField("dropped", (long) dropped.count());
                        g.writeEndObject();
                    }
                    java.util.function.Supplier<io.tether.server.internal.kafka.KafkaForwarder.Status> fw = forwarder;
                    if (fw != null) {
                        io.tether.server.internal.kafka.KafkaForwarder.Status f = fw.get();
                        g.writeObjectFieldStart("forwarder");
                        g.writeStringField("state", f.state().name());
                        g.writeNumberField("position", f.position());
                        g.writeNumberField("head", f.head());
                        g.writeNumberField("lag", f.lag());
                        g.writeNumberField("lagBytes", f.lagBytes());
                        g.writeStringField("lastError", f.lastError());
                        g.writeNumberField("lastCommitAtMillis", f.lastCommitAtMillis());
                        g.writeEndObject();
                    }
                    g.writeEndObject();
                }));
            }
            case "/":
                return new Reply(HttpResponseStatus.OK, Json.write(g -> {
                    g.writeStartObject();
                    g.writeArrayFieldStart("endpoints");
                    for (String p : ENDPOINTS) {
                        g.writeString(p);
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                }));
            default:
                return error(HttpResponseStatus.NOT_FOUND, "no such endpoint: " + path
                        + " (known: " + String.join(", ", ENDPOINTS) + ")");
        }
    }

    private static final String DEVICES = "/devices/";
    private static final String HISTORY = "/history";

    /** {@code GET /devices/{id}/history}: 200 with the sessions, none if the device has no history. */
    private Reply history(String deviceId) {
        java.util.List<io.tether.server.SessionRecord> sessions;
        try {
            sessions = server.history(deviceId);
        } catch (IllegalArgumentException e) {
            return error(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        } catch (UncheckedIOException e) {
            return error(HttpResponseStatus.SERVICE_UNAVAILABLE, "cannot read the device history: " + e.getCause().getMessage());
        }
        return new Reply(HttpResponseStatus.OK,
                new io.tether.server.DeviceHistory(deviceId, server.config().historySessions(), sessions).toJson());
    }

    /** Null if the request may proceed; else the 401 to answer. */
    private Reply unauthorized(FullHttpRequest req, String path) {
        if (keys == null || path.equals("/health") || path.equals("/dashboard")) {
            return null;
        }
        String header = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (header == null) {
            return error(HttpResponseStatus.UNAUTHORIZED, "missing key: send the header Authorization: Bearer <key> "
                    + "(a key of the --admin-keys file; make one with: tether api-keys add NAME --file FILE)");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || keys.authenticate(header.substring(7).strip()) == null) {
            return error(HttpResponseStatus.UNAUTHORIZED, "unknown key (it is not in the --admin-keys file " + keys.source()
                    + ", or the Authorization header is not 'Bearer <key>')");
        }
        return null;
    }

    private static final String[] ENDPOINTS = {"/sessions", "/sockets", "/metrics", "/metrics.json", "/closes", "/health", "/dashboard", "/devices/{id}/history"};

    /** A query parameter's first value, or null when absent or blank. */
    private static String param(QueryStringDecoder uri, String name) {
        java.util.List<String> values = uri.parameters().get(name);
        return values == null || values.isEmpty() || values.get(0).isBlank() ? null : values.get(0).strip();
    }

    private static Reply error(HttpResponseStatus status, String message) {
        return new Reply(status, Json.error(status.code(), message));
    }

    /** Stateless apart from the server it reads; shared by every admin connection. */
    @ChannelHandler.Sharable
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (!req.decoderResult().isSuccess()) {
                respond(ctx, req, error(HttpResponseStatus.BAD_REQUEST, "malformed request"), false);
                return;
            }
            boolean head = HttpMethod.HEAD.equals(req.method());
            Reply reply;
            if (!head && !HttpMethod.GET.equals(req.method())) {
                reply = error(HttpResponseStatus.METHOD_NOT_ALLOWED, "read-only endpoint: " + req.method()
                        + " not allowed (expected: GET or HEAD)");
            } else {
                try {
                    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
                    Reply denied = unauthorized(req, uri.path());
                    reply = denied != null ? denied : route(uri);
                } catch (RuntimeException e) {
                    // server.port() before the gateway is bound, or a meter that throws: report, don't drop.
                    log.debug("admin request {} failed", req.uri(), e);
                    reply = error(HttpResponseStatus.SERVICE_UNAVAILABLE, String.valueOf(e));
                }
            }
            respond(ctx, req, reply, head);
        }

        private void respond(ChannelHandlerContext ctx, FullHttpRequest req, Reply reply, boolean head) {
            byte[] body = reply.json().getBytes(StandardCharsets.UTF_8);
            ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, reply.status(), content);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            res.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
            if (reply.status() == HttpResponseStatus.METHOD_NOT_ALLOWED) {
                res.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            }
            if (reply.status() == HttpResponseStatus.UNAUTHORIZED) {
                res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"tether-admin\"");
            }
            boolean keepAlive = req.decoderResult().isSuccess() && HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(res, keepAlive);
            RequestDeadline deadline = ctx.pipeline().get(RequestDeadline.class);
            if (deadline != null) {
                deadline.requestDone();
            }
            if (keepAlive) {
                ctx.writeAndFlush(res, ctx.voidPromise());
            } else {
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Idle timeouts and peers that reset: nothing to report on a read-only side channel.
            log.debug("admin connection {} closed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
