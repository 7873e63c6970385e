package io.tether.server.internal.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.tether.protocol.Protocol;
import io.tether.server.internal.feed.Feed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * The application feed over HTTP (docs/API.md, "Application feed"): {@code GET /v1/messages}, a
 * page of entries after a cursor, and {@code GET /v1/stream}, the same entries as Server-Sent
 * Events ({@link SseStream}). A cursor is a feed offset: stable across restarts.
 *
 * <p><b>Threads.</b> Reading the feed may touch the disk, so it never runs on an event loop: it
 * runs on a small pool of the API server's ("feed readers") with a bounded queue. A page request
 * that finds the queue full is answered 503 {@code feed-busy} at once; a stream retries shortly.
 * Pages and events are encoded to JSON on the readers too; the event loop only writes bytes.
 *
 * <p>Thread-safe. With no feed ({@code --no-feed}), both endpoints answer 404.
 */
final class FeedEndpoints implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FeedEndpoints.class);
    /** The default and largest {@code limit} of a page. */
    static final int DEFAULT_LIMIT = 100, MAX_LIMIT = 1000;
    /**
     * Entries one page request looks at, at most, when a filter ({@code device}, {@code kinds})
     * passes only some: a rare device in a busy feed costs a bounded read per request, and
     * {@code next} moves past what was looked at, so the client never looks at it again.
     */
    static final int MAX_SCAN = 10_000;
    /** Entries read at once while scanning with a filter. */
    private static final int SCAN_BATCH = 256;
    /** A page stops early once it holds this many payload bytes: its memory stays bounded whatever the frame size. */
    static final int MAX_PAGE_BYTES = 4 << 20;
    private static final Set<String> PAGE_PARAMETERS = Set.of("after", "limit", "kinds", "device");
    private static final Set<String> STREAM_PARAMETERS = Set.of("after", "kinds", "device");
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    static final String FEED_OFF = "the application feed is off (--no-feed): GET /v1/messages and GET /v1/stream "
            + "need it on";

    private final Feed feed;
    private final ApiServer.FeedLimits limits;
    private final ThreadPoolExecutor readers;
    private final AtomicInteger streams = new AtomicInteger();
    private final Counter busy;
    private final LongSupplier ticker;
    /** When a failed read was last logged at WARN: a failed store fails every read, and one line a minute says it. */
    private final AtomicLong lastWarnNanos;

    /**
     * @param feed   the feed, or null when it is off
     * @param ticker nanoseconds, for spacing the warnings of a feed that cannot be read
     */
    FeedEndpoints(Feed feed, ApiServer.FeedLimits limits, MeterRegistry meters, LongSupplier ticker) {
        this.feed = feed;
        this.limits = limits;
        this.ticker = ticker;
        this.lastWarnNanos = new AtomicLong(ticker.getAsLong() - WARN_EVERY_NANOS);
        AtomicInteger n = new AtomicInteger();
        this.readers = new ThreadPoolExecutor(limits.readers(), limits.readers(), 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(limits.readQueue()), r -> {
                    Thread t = new Thread(r, "tether-api-feed-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        Gauge.builder("tether.api.feed.streams", streams, AtomicInteger::get)
                .description("GET /v1/stream connections open").register(meters);
        this.busy = Counter.builder("tether.api.feed.busy")
                .description("feed requests answered 503: the readers' queue was full, or too many streams").register(meters);
    }

    /** Which entries a request wants: of these kinds, of this device (null: every device). */
    record Filter(Set<Feed.Kind> kinds, String device) {
        boolean accepts(Feed.Entry e) {
            return kinds.contains(e.kind()) && (device == null || device.equals(e.deviceId()));
        }

        boolean everything() {
            return kinds.size() == Feed.Kind.values().length && device == null;
        }
    }

    /** A request's parameters, checked. */
    record Query(long after, int limit, Filter filter) {
    }

    /** Streams open now. */
    int openStreams() {
        return streams.get();
    }

    ApiServer.FeedLimits limits() {
        return limits;
    }

    Executor readers() {
        return readers;
    }

    // ---- GET /v1/messages

    /**
     * Answers {@code GET /v1/messages}: the stage completes, off the event loop, with the page or
     * a problem; exceptionally only for a bug.
     */
    CompletionStage<FullHttpResponse> messages(Map<String, List<String>> parameters, String instance) {
        if (feed == null) {
            return CompletableFuture.completedFuture(ApiHandler.problemResponse(Problem.NOT_FOUND, FEED_OFF, instance));
        }
        Query q;
        try {
            q = parse(parameters, PAGE_PARAMETERS, null);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(ApiHandler.problemResponse(Problem.BAD_REQUEST, e.getMessage(), instance));
        }
        CompletableFuture<FullHttpResponse> answer = new CompletableFuture<>();
        try {
            readers.execute(() -> {
                try {
                    answer.complete(json(page(feed, q)));
                } catch (IllegalArgumentException e) {
                    answer.complete(ApiHandler.problemResponse(Problem.BAD_REQUEST, e.getMessage(), instance));
                } catch (IOException e) {
                    answer.complete(unavailable(e, instance));
                } catch (RuntimeException | Error e) {
                    answer.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            answer.complete(busy("the feed readers are saturated (" + limits.readQueue() + " reads queued): retry in a "
                    + "second", instance));
        }
        return answer;
    }

    /**
     * One page: up to {@code limit} entries the filter passes, after looking at no more than
     * {@link #MAX_SCAN} entries or gathering {@link #MAX_PAGE_BYTES} of payload. May read the disk.
     *
     * @throws IllegalArgumentException if the cursor is beyond the feed's head
     */
    static byte[] page(Feed feed, Query q) throws IOException {
        Filter filter = q.filter();
        List<Feed.Entry> out = new ArrayList<>(Math.min(q.limit(), 128));
        long cursor = q.after();
        long oldest = 0;
        int scanned = 0;
        long bytes = 0;
        scan:
        while (scanned < MAX_SCAN) {
            int want = filter.everything() ? q.limit() - out.size() : Math.min(SCAN_BATCH, MAX_SCAN - scanned);
            List<Feed.Entry> read = feed.read(cursor, want);
            if (read.isEmpty()) {
                break;
            }
            if (scanned == 0 && read.get(0).offset() > q.after() + 1) {
                oldest = read.get(0).offset();
            }
            for (Feed.Entry e : read) {
                scanned++;
                cursor = e.offset();
                if (filter.accepts(e)) {
                    out.add(e);
                    bytes += e.body().length;
                    if (out.size() == q.limit() || bytes >= MAX_PAGE_BYTES) {
                        break scan;
                    }
                }
            }
            if (read.size() < want) {
                break;
            }
        }
        // After the read: every entry read is at or below it (head() is what is durable, and only
        // the durable is read), so a client never sees next > head.
        long head = feed.head();
        if (scanned == 0 && q.after() > head) {
            throw new IllegalArgumentException(beyondHead(q.after(), head));
        }
        return FeedJson.page(out, cursor, head, oldest);
    }

    static String beyondHead(long after, long head) {
        return "cursor " + after + " is beyond the feed's head " + head + ": it is not a cursor of this server's "
                + "store (was the store replaced?); start again with after=0";
    }

    // ---- GET /v1/stream

    /**
     * Starts {@code GET /v1/stream} on the connection: adds an {@link SseStream} after the API
     * handler, which writes the response from then on. Call on the channel's event loop.
     *
     * @return null when the stream started; otherwise the problem to answer (400, 404, 503)
     */
    FullHttpResponse openStream(ChannelHandlerContext ctx, HttpRequest req, Map<String, List<String>> parameters,
                                String instance) {
        if (feed == null) {
            return ApiHandler.problemResponse(Problem.NOT_FOUND, FEED_OFF, instance);
        }
        Query q;
        try {
            q = parse(parameters, STREAM_PARAMETERS, req.headers().get("Last-Event-ID"));
            long head = feed.head();
            if (q.after() > head) {
                throw new IllegalArgumentException(beyondHead(q.after(), head));
            }
        } catch (IllegalArgumentException e) {
            return ApiHandler.problemResponse(Problem.BAD_REQUEST, e.getMessage(), instance);
        }
        if (streams.incrementAndGet() > limits.maxStreams()) {
            streams.decrementAndGet();
            return busy("too many streams open (at most " + limits.maxStreams() + "): close one, or page with "
                    + "GET /v1/messages", instance);
        }
        SseStream stream = new SseStream(this, feed, q.after(), q.filter(), limits.heartbeat().toNanos(),
                req.protocolVersion().equals(HttpVersion.HTTP_1_0));
        ctx.pipeline().addAfter(ctx.name(), "sse", stream);
        stream.start();
        return null;
    }

    /** A stream ended: called once per stream, whatever ended it. */
    void streamClosed() {
        streams.decrementAndGet();
    }

    // ---- parameters

    /**
     * Checks a request's parameters.
     *
     * @param lastEventId the {@code Last-Event-ID} header, or null: a reconnecting EventSource
     *                    sends it, and it wins over {@code after}
     * @throws IllegalArgumentException naming the parameter, the value and what is expected
     */
    static Query parse(Map<String, List<String>> parameters, Set<String> known, String lastEventId) {
        for (Map.Entry<String, List<String>> e : parameters.entrySet()) {
            if (!known.contains(e.getKey())) {
                throw new IllegalArgumentException("unknown query parameter '" + e.getKey() + "' (expected: "
                        + known.stream().sorted().collect(Collectors.joining(", ")) + ")");
            }
            if (e.getValue().size() > 1) {
                throw new IllegalArgumentException("query parameter '" + e.getKey() + "' given " + e.getValue().size() + " times");
            }
        }
        long after = lastEventId != null ? cursorOf("Last-Event-ID", lastEventId)
                : cursorOf("after", single(parameters, "after", "0"));
        int limit = DEFAULT_LIMIT;
        String l = single(parameters, "limit", null);
        if (l != null) {
            try {
                limit = Integer.parseInt(l.strip());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_LIMIT) {
                throw new IllegalArgumentException("limit '" + l + "' (expected: 1 to " + MAX_LIMIT + ")");
            }
        }
        Set<Feed.Kind> kinds = EnumSet.noneOf(Feed.Kind.class);
        String k = single(parameters, "kinds", "message");
        for (String name : k.split(",", -1)) {
            Feed.Kind kind = Arrays.stream(Feed.Kind.values()).filter(x -> FeedJson.kindName(x).equals(name.strip()
                    .toLowerCase(Locale.ROOT))).findFirst().orElse(null);
            if (kind == null) {
                throw new IllegalArgumentException("kinds '" + ApiHandler.printable(k) + "' (expected: a comma-separated list of message, event, "
                        + "command)");
            }
            kinds.add(kind);
        }
        String device = single(parameters, "device", null);
        if (device != null) {
            try {
                Protocol.checkDeviceId(device);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad device id '" + ApiHandler.printable(device) + "': " + e.getMessage());
            }
        }
        return new Query(after, limit, new Filter(Set.copyOf(kinds), device));
    }

    private static String single(Map<String, List<String>> parameters, String name, String absent) {
        List<String> v = parameters.get(name);
        return v == null ? absent : v.get(0);
    }

    private static long cursorOf(String name, String value) {
        String v = value.strip();
        long c = -1;
        if (!v.isEmpty() && v.length() <= 19 && v.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            try {
                c = Long.parseLong(v);
            } catch (NumberFormatException e) {
                c = -1;
            }
        }
        if (c < 0) {
            throw new IllegalArgumentException(name + " '" + ApiHandler.printable(value) + "' is not a cursor (expected: a cursor this API "
                    + "returned, or 0 for the oldest entry kept)");
        }
        return c;
    }

    // ---- answers

    private static FullHttpResponse json(byte[] body) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        return res;
    }

    private FullHttpResponse busy(String detail, String instance) {
        busy.increment();
        FullHttpResponse res = ApiHandler.problemResponse(Problem.FEED_BUSY, detail, instance);
        res.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        return res;
    }

    /** Logs a failed read: at WARN once a minute at most, else at DEBUG. Any thread. */
    void readFailed(String what, Exception e) {
        long now = ticker.getAsLong();
        long last = lastWarnNanos.get();
        if (now - last >= WARN_EVERY_NANOS && lastWarnNanos.compareAndSet(last, now)) {
            log.warn("{}: the application feed cannot be read: {} (said at most once a minute)", what, e.toString());
        } else {
            log.debug("{}: the application feed cannot be read: {}", what, e.toString());
        }
    }

    private FullHttpResponse unavailable(IOException e, String instance) {
        readFailed("GET /v1/messages", e);
        FullHttpResponse res = ApiHandler.problemResponse(Problem.STORE_UNAVAILABLE, "the application feed cannot be "
                + "read: " + e.getMessage(), instance);
        res.headers().set(HttpHeaderNames.RETRY_AFTER, "5");
        return res;
    }

    /** Stops the readers; reads in progress finish (within 2 s) so none touches a store being closed. */
    @Override
    public void close() {
        readers.shutdownNow();
        try {
            readers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
