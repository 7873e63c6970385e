package io.tether.server.internal.admin;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * Bounds how long an admin connection may hold a descriptor: a request must be complete within
 * {@code requestTimeout} of its first byte, and a connection waiting for its next request is
 * closed after {@code idleTimeout}. Unlike a read timeout, bytes that trickle in do not extend
 * either: a client that sends one byte every 30 s is closed after the request timeout, not kept
 * forever. First in the pipeline, so it sees raw bytes. Touched only on the channel's event loop.
 */
public final class RequestDeadline extends ChannelInboundHandlerAdapter {
    private final long requestTimeoutNanos;
    private final long idleTimeoutNanos;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    private boolean inRequest;

    public RequestDeadline(long requestTimeoutNanos, long idleTimeoutNanos) {
        this.requestTimeoutNanos = requestTimeoutNanos;
        this.idleTimeoutNanos = idleTimeoutNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        arm(idleTimeoutNanos);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!inRequest) {
            inRequest = true;
            arm(requestTimeoutNanos);
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * The current request has arrived whole and is being answered: no deadline runs while the
     * server works on it (a long poll may take a minute). The HTTP API calls this; the admin
     * endpoint answers at once and does not need to.
     */
    public void requestReceived() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The response to the current request was written: the connection waits for the next one. */
    public void requestDone() {
        inRequest = false;
        arm(idleTimeoutNanos);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    private void arm(long nanos) {
        if (timer != null) {
            timer.cancel(false);
        }
        timer = ctx.executor().schedule(() -> ctx.close(), nanos, TimeUnit.NANOSECONDS);
    }
}
