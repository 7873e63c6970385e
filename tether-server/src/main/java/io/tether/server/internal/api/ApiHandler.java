package io.tether.server.internal.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.protocol.Protocol;
import io.tether.server.Command;
import io.tether.server.CommandException;
import io.tether.server.CommandRequest;
import io.tether.server.CommandState;
import io.tether.server.Commands;
import io.tether.server.internal.admin.RequestDeadline;
import io.tether.transport.Durations;
import io.tether.transport.KeepAlive;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;

/**
 * One API connection: routes each request, authenticates it, applies the key's rate and answers
 * it, one at a time and in order (HTTP/1.1 pipelining). Ledger calls are asynchronous: the
 * connection waits for the stage's completion, which is handed back to its event loop, and
 * guards the wait with a timer so that a stage that never completes still gets an answer.
 * Touched only on the channel's event loop.
 */
final class ApiHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ApiHandler.class);
    /** Requests read but not yet answered, beyond which the socket is not read. */
    private static final int MAX_PIPELINED = 16;
    /** "Retry-After" of a 503 from the store: it recovers by itself, usually within seconds. */
    private static final String STORE_RETRY_SECONDS = "5";
    static final String ANONYMOUS = "anonymous";
    private static final byte[] OPENAPI = loadOpenApi();
    /**
     * Headers of JSON answers, not validated: their names are Netty's constants and their values
     * this server's own (no request text), and the validation was a visible share of the API
     * thread's samples in a profile of bench/commands. Problems, which quote requests, validate.
     */
    private static final DefaultHttpHeadersFactory TRUSTED_HEADERS = DefaultHttpHeadersFactory.headersFactory()
            .withValidation(false);

    /** What every connection of one API server shares. Thread-safe. */
    static final class Shared {
        final ApiServer.Settings settings;
        final RateLimiter limiter;
        final Counter rateLimited;
        final Counter unauthorized;
        final Counter errors;
        final FeedEndpoints feed;

        Shared(ApiServer.Settings settings, RateLimiter limiter, MeterRegistry meters, FeedEndpoints feed) {
            this.settings = settings;
            this.feed = feed;
            this.limiter = limiter;
            this.rateLimited = Counter.builder("tether.api.requests.rate-limited").description("API requests answered 429")
                    .register(meters);
            this.unauthorized = Counter.builder("tether.api.requests.unauthorized").description("API requests answered 401")
                    .register(meters);
            this.errors = Counter.builder("tether.api.requests.failed").description("API requests answered 500")
                    .register(meters);
        }
    }

    private final Shared shared;
    private final ArrayDeque<Object> pending = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    /** The connection's request deadline, looked up once (null if the pipeline has none). */
    private RequestDeadline deadline;
    /** The last "ttl" of a submit on this connection and its value: clients repeat theirs. */
    private String lastTtl;
    private Duration lastTtlValue;
    /** The request being answered, or null. */
    private Exchange current;
    private boolean draining;
    private boolean closing;

    ApiHandler(Shared shared) {
        this.shared = shared;
    }

    /** One request being answered. */
    private final class Exchange {
        final String instance;
        final boolean keepAlive;
        ScheduledFuture<?> guard;
        boolean done;

        Exchange(String instance, boolean keepAlive) {
            this.instance = instance;
            this.keepAlive = keepAlive;
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.deadline = ctx.pipeline().get(RequestDeadline.class);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest) && !(msg instanceof ApiServer.TooLarge)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        pending.add(msg);
        if (pending.size() >= MAX_PIPELINED) {
            ctx.channel().config().setAutoRead(false);
        }
        drain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // A client that pipelines requests without reading the answers stops being served (and
        // read) until it reads: its answers never pile up in memory.
        drain();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Object m;
        while ((m = pending.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
        if (current != null && current.guard != null) {
            current.guard.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets, TLS failures, idle closes: the connection is the client's to lose.
        log.debug("API connection {} closed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private void drain() {
        if (draining) {
            return;
        }
        draining = true;
        try {
            while (current == null && !closing && ctx.channel().isWritable() && !pending.isEmpty()) {
                Object m = pending.poll();
                try {
                    if (deadline != null) {
                        deadline.requestReceived();
                    }
                    if (m instanceof ApiServer.TooLarge t) {
                        current = new Exchange(new QueryStringDecoder(t.uri()).rawPath(), !t.close());
                        problem(current, Problem.PAYLOAD_TOO_LARGE, bodyTooLarge(shared.settings.maxBody()));
                    } else {
                        FullHttpRequest req = (FullHttpRequest) m;
                        current = new Exchange(pathOf(req.uri()), req.decoderResult().isSuccess() && HttpUtil.isKeepAlive(req));
                        dispatch(current, req);
                    }
                } catch (RuntimeException | Error e) {
                    fail(current, e);
                } finally {
                    ReferenceCountUtil.release(m);
                }
            }
            if (pending.size() < MAX_PIPELINED && !closing && !ctx.channel().config().isAutoRead()) {
                ctx.channel().config().setAutoRead(true);
            }
        } finally {
            draining = false;
        }
    }

    private static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    private void dispatch(Exchange x, FullHttpRequest req) {
        if (!req.decoderResult().isSuccess()) {
            problem(x, Problem.BAD_REQUEST, "malformed HTTP request: " + req.decoderResult().cause().getMessage());
            return;
        }
        QueryStringDecoder qs = new QueryStringDecoder(req.uri());
        Route.Match match;
        try {
            match = Route.match(req.method(), qs.rawPath());
        } catch (IllegalArgumentException e) {
            problem(x, Problem.BAD_REQUEST, e.getMessage());
            return;
        }
        if (match.route() == null) {
            if (match.allowed().isEmpty()) {
                problem(x, Problem.NOT_FOUND, "no such resource: " + req.method() + " " + qs.rawPath()
                        + " (the routes are in GET /v1/openapi.json)");
            } else {
                String allow = match.allowed().stream().map(HttpMethod::name).collect(Collectors.joining(", "));
                FullHttpResponse res = problemResponse(Problem.METHOD_NOT_ALLOWED, req.method() + " is not allowed on "
                        + qs.rawPath() + " (allowed: " + allow + ")", x.instance);
                res.headers().set(HttpHeaderNames.ALLOW, allow);
                respond(x, res);
            }
            return;
        }
        Route route = match.route();
        if (route.authenticated) {
            String key = authenticate(x, req);
            if (key == null) {
                return;
            }
            long waitNanos = shared.limiter.acquire(key);
            if (waitNanos > 0) {
                shared.rateLimited.increment();
                long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(waitNanos + 999_999_999L));
                FullHttpResponse res = problemResponse(Problem.RATE_LIMITED, "API key " + key + " is over its rate of "
                        + shared.settings.rate() + " (requests per second, burst): retry after " + seconds + " s", x.instance);
                res.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds));
                respond(x, res);
                return;
            }
        }
        Map<String, List<String>> query = qs.parameters();
        List<String> params = match.parameters();
        switch (route) {
            case SUBMIT -> submit(x, params.get(0), ByteBufUtil.getBytes(req.content()), query);
            case LIST -> list(x, params.get(0), query);
            case DEVICE -> device(x, params.get(0), query);
            case GET_COMMAND -> getCommand(x, params.get(0), query);
            case CANCEL -> cancel(x, params.get(0), query);
            case OPENAPI -> respond(x, json(HttpResponseStatus.OK, OPENAPI));
            case MESSAGES -> await(x, shared.feed.messages(query, x.instance), budget(), (res, e) -> {
                if (e != null) {
                    fail(x, e);
                } else {
                    respond(x, res);
                }
            });
            case STREAM -> {
                FullHttpResponse refused = shared.feed.openStream(ctx, req, query, x.instance);
                if (refused != null) {
                    respond(x, refused);
                } else {
                    // The stream writes this connection's response until it closes: no other
                    // request is answered on it, and no deadline applies.
                    x.done = true;
                    closing = true;
                }
            }
        }
    }

    /** The name of the request's key, or null after answering 401. Without keys, everyone is {@link #ANONYMOUS}. */
    private String authenticate(Exchange x, FullHttpRequest req) {
        ApiKeyFile keys = shared.settings.keys();
        if (keys == null) {
            return ANONYMOUS;
        }
        String header = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        String name = null;
        String detail;
        if (header == null) {
            detail = "missing API key: send the header Authorization: Bearer <key> (make a key with: tether api-keys add NAME --file FILE)";
        } else if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            detail = "the Authorization header is not 'Bearer <key>'";
        } else {
            name = keys.authenticate(header.substring(7).strip());
            detail = "unknown API key (it was never issued, or was removed from the keys file)";
        }
        if (name == null) {
            shared.unauthorized.increment();
            FullHttpResponse res = problemResponse(Problem.UNAUTHORIZED, detail, x.instance);
            res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, header == null ? "Bearer realm=\"tether\""
                    : "Bearer realm=\"tether\", error=\"invalid_token\"");
            respond(x, res);
        }
        return name;
    }

    // ---- routes

    private void submit(Exchange x, String deviceId, byte[] body, Map<String, List<String>> query) {
        if (!checkQuery(x, query, Set.of()) || !checkDevice(x, deviceId)) {
            return;
        }
        ApiJson.SubmitBody b;
        try {
            b = ApiJson.parseSubmit(body);
        } catch (IllegalArgumentException e) {
            problem(x, Problem.BAD_REQUEST, e.getMessage());
            return;
        }
        if ((b.payload() == null) == (b.text() == null)) {
            problem(x, Problem.BAD_REQUEST, (b.payload() == null ? "neither" : "both") + " \"payload\" and \"text\": give "
                    + "exactly one (payload: base64 of the bytes; text: a UTF-8 string)");
            return;
        }
        byte[] payload;
        if (b.payload() != null) {
            try {
                payload = Base64.getDecoder().decode(b.payload());
            } catch (IllegalArgumentException e) {
                problem(x, Problem.BAD_REQUEST, "\"payload\" is not base64 (RFC 4648, standard alphabet, padded): " + e.getMessage());
                return;
            }
        } else {
            payload = b.text().getBytes(StandardCharsets.UTF_8);
        }
        int max = shared.settings.maxPayload();
        if (payload.length > max) {
            problem(x, Problem.PAYLOAD_TOO_LARGE, "payload of " + payload.length + " bytes exceeds the limit of " + max
                    + " bytes (max frame " + shared.settings.maxFrameLength() + " - 10)");
            return;
        }
        Duration ttl = null;
        if (b.ttl() != null && b.ttl().equals(lastTtl)) {
            ttl = lastTtlValue;
        } else if (b.ttl() != null) {
            try {
                ttl = Durations.parse(b.ttl());
            } catch (IllegalArgumentException e) {
                problem(x, Problem.BAD_REQUEST, "\"ttl\": " + e.getMessage());
                return;
            }
            if (ttl.isZero()) {
                problem(x, Problem.BAD_REQUEST, "\"ttl\": 0 (expected: > 0, e.g. 30s or 1h)");
                return;
            }
            lastTtl = b.ttl();
            lastTtlValue = ttl;
        }
        CommandRequest request;
        try {
            request = new CommandRequest(deviceId, payload, ttl, b.idempotencyKey());
        } catch (IllegalArgumentException e) {
            problem(x, Problem.BAD_REQUEST, e.getMessage().startsWith("idempotencyKey")
                    ? "\"idempotencyKey\" '" + b.idempotencyKey() + "' (expected: 1 to 128 printable ASCII characters, no spaces)"
                    : e.getMessage());
            return;
        }
        await(x, ledger().submit(request), budget(), (s, e) -> {
            if (e != null) {
                failed(x, e);
                return;
            }
            FullHttpResponse res = json(s.created() ? HttpResponseStatus.ACCEPTED : HttpResponseStatus.OK,
                    ApiJson.command(s.command()));
            res.headers().set(HttpHeaderNames.LOCATION, "/v1/commands/" + s.command().id());
            respond(x, res);
        });
    }

    private void getCommand(Exchange x, String id, Map<String, List<String>> query) {
        if (!checkQuery(x, query, Set.of("wait"))) {
            return;
        }
        Duration wait = Duration.ZERO;
        String w = single(query, "wait");
        if (w != null) {
            try {
                wait = Durations.parse(w);
            } catch (IllegalArgumentException e) {
                problem(x, Problem.BAD_REQUEST, "wait: " + e.getMessage());
                return;
            }
            if (wait.compareTo(ApiServer.MAX_WAIT) > 0) {
                wait = ApiServer.MAX_WAIT;
            }
        }
        if (wait.isZero()) {
            CompletionStage<Optional<Command>> stage = ledger().get(id);
            await(x, stage, budget(), (c, e) -> {
                if (e != null) {
                    failed(x, e);
                } else if (c.isEmpty()) {
                    problem(x, Problem.NOT_FOUND, "no command " + id);
                } else {
                    respond(x, json(HttpResponseStatus.OK, ApiJson.command(c.get())));
                }
            });
            return;
        }
        await(x, ledger().await(id, wait), wait.plus(budget()), (c, e) -> {
            if (e != null) {
                failed(x, e);
            } else {
                respond(x, json(HttpResponseStatus.OK, ApiJson.command(c)));
            }
        });
    }

    private void cancel(Exchange x, String id, Map<String, List<String>> query) {
        if (!checkQuery(x, query, Set.of())) {
            return;
        }
        await(x, ledger().cancel(id), budget(), (c, e) -> {
            if (e != null) {
                failed(x, e);
            } else {
                respond(x, json(HttpResponseStatus.OK, ApiJson.command(c)));
            }
        });
    }

    private void list(Exchange x, String deviceId, Map<String, List<String>> query) {
        if (!checkQuery(x, query, Set.of("state", "limit")) || !checkDevice(x, deviceId)) {
            return;
        }
        Set<CommandState> states = EnumSet.noneOf(CommandState.class);
        String s = single(query, "state");
        if (s != null) {
            for (String name : s.split(",", -1)) {
                try {
                    states.add(CommandState.valueOf(name.strip().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    problem(x, Problem.BAD_REQUEST, "state '" + name + "' (expected: a comma-separated list of "
                            + EnumSet.allOf(CommandState.class).stream().map(Enum::name).collect(Collectors.joining(", ")) + ")");
                    return;
                }
            }
        }
        int limit = 100;
        String l = single(query, "limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l.strip());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > 1000) {
                problem(x, Problem.BAD_REQUEST, "limit '" + l + "' (expected: 1 to 1000)");
                return;
            }
        }
        await(x, ledger().list(deviceId, states, limit), budget(), (cs, e) -> {
            if (e != null) {
                failed(x, e);
            } else {
                respond(x, json(HttpResponseStatus.OK, ApiJson.commands(cs)));
            }
        });
    }

    private void device(Exchange x, String deviceId, Map<String, List<String>> query) {
        if (!checkQuery(x, query, Set.of()) || !checkDevice(x, deviceId)) {
            return;
        }
        DeviceDirectory.Entry d = shared.settings.directory().lookup(deviceId);
        int open = ledger().open(deviceId);
        long now = shared.settings.clock().millis();
        byte[] body = ApiJson.write(g -> {
            g.writeStartObject();
            g.writeStringField("deviceId", deviceId);
            g.writeBooleanField("online", d.live() != null);
            if (d.live() != null) {
                DeviceDirectory.Live l = d.live();
                g.writeObjectFieldStart("session");
                g.writeNumberField("epoch", l.epoch());
                g.writeStringField("remote", l.remote());
                g.writeStringField("since", ApiJson.time(l.sinceMillis()));
                g.writeNumberField("heartbeatMs", l.heartbeatMillis());
                g.writeNumberField("protocolVersion", l.protocolVersion());
                g.writeEndObject();
            } else {
                g.writeNullField("session");
            }
            // Online: now (a live session was heard from within its heartbeat timeout); offline:
            // when its last session ended; null: not seen since the server started.
            long lastSeen = d.live() != null ? now : d.lastClose() != null ? d.lastClose().atMillis() : 0;
            g.writeStringField("lastSeen", ApiJson.time(lastSeen));
            if (d.lastClose() != null) {
                DeviceDirectory.Ended c = d.lastClose();
                g.writeObjectFieldStart("lastClose");
                g.writeStringField("at", ApiJson.time(c.atMillis()));
                g.writeNumberField("epoch", c.epoch());
                g.writeStringField("reason", c.reason());
                g.writeStringField("errno", c.errno());
                g.writeStringField("detail", c.detail());
                g.writeEndObject();
            } else {
                g.writeNullField("lastClose");
            }
            g.writeNumberField("openCommands", open);
            g.writeEndObject();
        });
        respond(x, json(HttpResponseStatus.OK, body));
    }

    // ---- helpers

    /** Time a ledger call may take beyond the wait it was asked for. */
    private Duration budget() {
        return shared.settings.limits().ledgerTimeout();
    }

    private Commands ledger() {
        return shared.settings.commands().get();
    }

    /** False after answering 400, if a parameter is unknown or given twice. */
    private boolean checkQuery(Exchange x, Map<String, List<String>> query, Set<String> known) {
        for (Map.Entry<String, List<String>> e : query.entrySet()) {
            if (!known.contains(e.getKey())) {
                problem(x, Problem.BAD_REQUEST, "unknown query parameter '" + e.getKey() + "'"
                        + (known.isEmpty() ? " (this resource takes none)" : " (expected: " + String.join(", ", known) + ")"));
                return false;
            }
            if (e.getValue().size() > 1) {
                problem(x, Problem.BAD_REQUEST, "query parameter '" + e.getKey() + "' given " + e.getValue().size() + " times");
                return false;
            }
        }
        return true;
    }

    private static String single(Map<String, List<String>> query, String name) {
        List<String> v = query.get(name);
        return v == null ? null : v.get(0);
    }

    private boolean checkDevice(Exchange x, String deviceId) {
        try {
            Protocol.checkDeviceId(deviceId);
            return true;
        } catch (IllegalArgumentException e) {
            problem(x, Problem.BAD_REQUEST, "bad device id '" + printable(deviceId) + "': " + e.getMessage());
            return false;
        }
    }

    /** The value as it can be shown in a message: control characters and non-ASCII escaped, at most 140 characters. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 140; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7F) {
                b.append(c);
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.toString();
    }

    /**
     * Waits for {@code stage} without blocking: its completion is handed to this connection's
     * event loop, where {@code then} answers. If it takes longer than {@code budget}, the request
     * is answered 503 and the late completion is ignored.
     */
    private <T> void await(Exchange x, CompletionStage<T> stage, Duration budget, BiConsumer<T, Throwable> then) {
        x.guard = ctx.executor().schedule(() -> {
            if (!x.done) {
                FullHttpResponse res = problemResponse(Problem.STORE_UNAVAILABLE, "the command ledger did not answer within "
                        + KeepAlive.format(budget), x.instance);
                res.headers().set(HttpHeaderNames.RETRY_AFTER, STORE_RETRY_SECONDS);
                respond(x, res);
            }
        }, budget.toNanos(), TimeUnit.NANOSECONDS);
        stage.whenComplete((v, e) -> ctx.executor().execute(() -> {
            if (x.done) {
                return;
            }
            try {
                then.accept(v, e);
            } catch (RuntimeException | Error t) {
                fail(x, t);
            }
        }));
    }

    /** Answers a failed ledger call: its {@link CommandException} kind decides the status. */
    private void failed(Exchange x, Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof CommandException ce) {
            switch (ce.kind()) {
                case INVALID -> problem(x, Problem.BAD_REQUEST, ce.getMessage());
                case NOT_FOUND -> problem(x, Problem.NOT_FOUND, ce.getMessage());
                case QUEUE_FULL -> problem(x, Problem.QUEUE_FULL, ce.getMessage());
                case CONFLICT -> problem(x, Problem.CONFLICT, ce.getMessage());
                case UNAVAILABLE -> {
                    FullHttpResponse res = problemResponse(Problem.STORE_UNAVAILABLE, ce.getMessage(), x.instance);
                    res.headers().set(HttpHeaderNames.RETRY_AFTER, STORE_RETRY_SECONDS);
                    respond(x, res);
                }
            }
        } else if (cause instanceof IllegalArgumentException) {
            problem(x, Problem.BAD_REQUEST, cause.getMessage());
        } else {
            fail(x, cause);
        }
    }

    /** A bug or an unexpected failure: 500, logged, and the connection goes on serving. */
    private void fail(Exchange x, Throwable e) {
        if (x == null || x.done) {
            log.warn("API request failed after it was answered", e);
            return;
        }
        shared.errors.increment();
        log.warn("API request {} failed", x.instance, e);
        problem(x, Problem.INTERNAL_ERROR, "the server failed to answer this request (" + e.getClass().getSimpleName()
                + "); it is logged");
    }

    private void problem(Exchange x, Problem p, String detail) {
        respond(x, problemResponse(p, detail, x.instance));
    }

    static String bodyTooLarge(int max) {
        return "request body above the API's limit of " + max + " bytes (a payload of max frame - 10 bytes in base64, "
                + "plus 4 KiB)";
    }

    static FullHttpResponse problemResponse(Problem p, String detail, String instance) {
        byte[] body = ApiJson.problem(p, detail, instance);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(p.status),
                Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/problem+json");
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        return res;
    }

    private static FullHttpResponse json(HttpResponseStatus status, byte[] body) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body),
                TRUSTED_HEADERS, DefaultHttpHeadersFactory.trailersFactory());
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        return res;
    }

    /** Writes the answer to {@code x}, once, and goes on with the next pipelined request. */
    private void respond(Exchange x, FullHttpResponse res) {
        if (x.done) {
            res.release();
            return;
        }
        x.done = true;
        if (x.guard != null) {
            x.guard.cancel(false);
        }
        HttpUtil.setKeepAlive(res, x.keepAlive);
        if (deadline != null) {
            deadline.requestDone();
        }
        if (x.keepAlive) {
            ctx.writeAndFlush(res, ctx.voidPromise());
        } else {
            closing = true;
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
        if (current == x) {
            current = null;
            drain();
        }
    }

    private static byte[] loadOpenApi() {
        try (InputStream in = ApiHandler.class.getResourceAsStream("openapi.json")) {
            if (in == null) {
                throw new IllegalStateException("openapi.json is missing from the classpath next to " + ApiHandler.class.getName());
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
