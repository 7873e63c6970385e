package io.tether.server.internal.api;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.server.internal.feed.Feed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One {@code GET /v1/stream}: the feed from a cursor as Server-Sent Events (docs/API.md), first
 * catching up in chunks, then following appends, for as long as the client stays.
 *
 * <p><b>Threads.</b> State is touched only on the channel's event loop. The feed is read on the
 * API's feed readers, one chunk at a time, encoded there, and written here. An append wakes the
 * stream from the store's writer thread with one queued task at most (the writer never waits and
 * never reads). <b>Memory.</b> A chunk is read only while the channel is writable, and the next
 * only after the last is written: a slow client holds the socket's buffer plus one chunk, and the
 * chunk shrinks when entries are large ({@link #CHUNK_BYTES}). <b>End.</b> When the connection
 * closes (the client left, or the server stops), the append listener, the heartbeat timer and the
 * stream's place in the limit are released.
 */
final class SseStream extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SseStream.class);
    /** Most entries read at once. */
    static final int MAX_CHUNK = 256;
    /** Payload bytes aimed at per chunk: the chunk's entry count follows the last chunk's entry size. */
    static final int CHUNK_BYTES = 256 << 10;
    /** How long to wait before retrying a read the saturated readers refused. */
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);

    private final FeedEndpoints endpoints;
    private final Feed feed;
    private final FeedEndpoints.Filter filter;
    private final long heartbeatNanos;
    private final boolean http10;
    /** Set by an append, cleared by the event loop: at most one wake-up task is queued at a time. */
    private final AtomicBoolean wakeQueued = new AtomicBoolean();
    private ChannelHandlerContext ctx;
    /** Every entry up to here was looked at and, if the filter passed it, written. */
    private long cursor;
    /** The last id written; below {@link #cursor} when the filter passed over entries since. */
    private long lastId;
    /** A chunk is being read. */
    private boolean reading;
    /** The last read filled its chunk: there may be more without an append. */
    private boolean more = true;
    /** An append happened since the last read started. */
    private boolean dirty;
    private int chunk = MAX_CHUNK;
    private boolean released;
    private AutoCloseable subscription;
    private ScheduledFuture<?> heartbeat;
    private ScheduledFuture<?> retry;

    SseStream(FeedEndpoints endpoints, Feed feed, long after, FeedEndpoints.Filter filter, long heartbeatNanos, boolean http10) {
        this.endpoints = endpoints;
        this.feed = feed;
        this.cursor = after;
        this.lastId = after;
        this.filter = filter;
        this.heartbeatNanos = heartbeatNanos;
        this.http10 = http10;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Writes the response head and starts reading; on the event loop, right after the handler is added. */
    void start() {
        if (!ctx.channel().isActive()) {
            // Closed before the stream began: channelInactive has passed already.
            release();
            return;
        }
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream");
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        // nginx buffers proxied responses unless told not to; a buffered stream is no stream.
        res.headers().set("X-Accel-Buffering", "no");
        if (http10) {
            // No chunked encoding in HTTP/1.0: the body ends with the connection.
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else {
            HttpUtil.setTransferEncodingChunked(res, true);
        }
        ctx.write(res);
        // An early comment: clients and proxies see the stream is open before the first entry.
        ctx.writeAndFlush(content((": tether feed after " + cursor + "\n\n").getBytes(StandardCharsets.US_ASCII)));
        // Subscribe before the first read: an append after the read began then wakes the stream,
        // so none falls between catching up and following.
        subscription = feed.onAppend(head -> wake());
        heartbeat = ctx.executor().scheduleAtFixedRate(this::ping, heartbeatNanos, heartbeatNanos, TimeUnit.NANOSECONDS);
        pump();
    }

    /** From the store's writer thread: quick, never blocks, never throws. */
    private void wake() {
        if (wakeQueued.compareAndSet(false, true)) {
            try {
                ctx.executor().execute(() -> {
                    wakeQueued.set(false);
                    dirty = true;
                    pump();
                });
            } catch (RejectedExecutionException e) {
                // The event loop is shutting down: the connection closes with it.
            }
        }
    }

    /** Starts reading the next chunk if there may be one, none is being read and the client keeps up. */
    private void pump() {
        if (released || reading || !ctx.channel().isWritable() || !(more || dirty)) {
            return;
        }
        more = false;
        dirty = false;
        reading = true;
        long from = cursor;
        int max = chunk;
        try {
            endpoints.readers().execute(() -> {
                Chunk c = Chunk.read(feed, from, max, filter);
                try {
                    ctx.executor().execute(() -> written(c));
                } catch (RejectedExecutionException e) {
                    // The event loop is gone, and the connection with it.
                }
            });
        } catch (RejectedExecutionException e) {
            // The readers are saturated (or stopping): try again shortly rather than fail the stream.
            reading = false;
            more = true;
            if (!released) {
                retry = ctx.executor().schedule(this::pump, RETRY_NANOS, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** A chunk was read and encoded: write it, then go on. On the event loop. */
    private void written(Chunk c) {
        reading = false;
        if (released) {
            return;
        }
        if (c.failure != null) {
            // The client reconnects (EventSource does by itself) from its Last-Event-ID: nothing
            // is lost, and a store that recovers serves it again.
            endpoints.readFailed("GET /v1/stream to " + ctx.channel().remoteAddress() + " ends", c.failure);
            ctx.close();
            return;
        }
        if (c.text.length > 0) {
            ctx.writeAndFlush(content(c.text), ctx.voidPromise());
        }
        if (c.scanned > 0) {
            cursor = c.last;
            if (c.lastId > 0) {
                lastId = c.lastId;
            }
            more = c.scanned == c.asked;
            chunk = (int) Math.max(1, Math.min(MAX_CHUNK, CHUNK_BYTES * (long) c.scanned / Math.max(1, c.bytes)));
        }
        pump();
    }

    /**
     * A comment every heartbeat, so that proxies and clients see a live stream. When the filter
     * passed over entries since the last event, an {@code id} without data goes with it: a client
     * that reconnects then starts after them (an event with no data moves an EventSource's last
     * event id without being dispatched).
     */
    private void ping() {
        if (released || !ctx.channel().isWritable()) {
            return;
        }
        byte[] b = PING;
        if (cursor > lastId) {
            b = (": ping\nid: " + cursor + "\n\n").getBytes(StandardCharsets.US_ASCII);
            lastId = cursor;
        }
        ctx.writeAndFlush(content(b), ctx.voidPromise());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        pump();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    /** Lets go of everything the stream holds outside its channel. Once. */
    private void release() {
        if (released) {
            return;
        }
        released = true;
        if (subscription != null) {
            try {
                subscription.close();
            } catch (Exception e) {
                log.warn("closing a feed subscription failed", e);
            }
        }
        if (heartbeat != null) {
            heartbeat.cancel(false);
        }
        if (retry != null) {
            retry.cancel(false);
        }
        endpoints.streamClosed();
    }

    private static DefaultHttpContent content(byte[] b) {
        return new DefaultHttpContent(Unpooled.wrappedBuffer(b));
    }

    /**
     * One chunk, read and encoded on a feed reader.
     *
     * @param asked   entries asked for
     * @param scanned entries read (the filter passed some of them)
     * @param last    the offset of the last entry read
     * @param lastId  the offset of the last entry written, 0 if none
     * @param bytes   payload bytes read
     * @param text    the SSE text to write
     */
    private record Chunk(int asked, int scanned, long last, long lastId, long bytes, byte[] text, Exception failure) {
        static Chunk read(Feed feed, long after, int max, FeedEndpoints.Filter filter) {
            try {
                List<Feed.Entry> entries = feed.read(after, max);
                ByteArrayOutputStream out = new ByteArrayOutputStream(entries.isEmpty() ? 0 : 4096);
                long lastId = 0;
                long bytes = 0;
                if (!entries.isEmpty() && entries.get(0).offset() > after + 1) {
                    FeedJson.sseSkipped(out, after, entries.get(0).offset());
                }
                for (Feed.Entry e : entries) {
                    bytes += e.body().length;
                    if (filter.accepts(e)) {
                        FeedJson.sseEntry(out, e);
                        lastId = e.offset();
                    }
                }
                long last = entries.isEmpty() ? after : entries.get(entries.size() - 1).offset();
                return new Chunk(max, entries.size(), last, lastId, bytes, out.toByteArray(), null);
            } catch (IOException | RuntimeException e) {
                // A bug in encoding ends the stream too, rather than stalling it with a read that never ends.
                return new Chunk(max, 0, after, 0, 0, new byte[0], e);
            }
        }
    }
}
