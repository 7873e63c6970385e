package io.tether.server.internal.connection;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.internal.admission.Admission;
import io.tether.server.internal.close.ConnectionClose;
import io.tether.server.internal.core.ServerContext;
import io.tether.transport.HostPort;

import java.util.concurrent.TimeUnit;

/**
 * A connection refused at the door (connection cap, rate limit): BYE SERVER_BUSY with a jittered
 * reconnect hint, half-close, a drain that reads and discards, then RST. The drain is what lets
 * the BYE reach a device: closing a socket with unread bytes (the device's HELLO) makes the
 * kernel send RST at once, and a TCP stack that discards unread data on RST (lwIP does) loses
 * the BYE with its hint and reconnects at once, making the overload worse. The device sees the
 * BYE, then a FIN; usually it closes first, else the RST ends the drain.
 *
 * <p>It costs no decoder, no session and only the drain's timer, so a flood of them leaves the
 * existing sessions alone. Counted and logged like every close.
 */
public final class RefusedConnection extends ChannelInboundHandlerAdapter {
    private final ServerContext server;
    private final Admission.Refusal refusal;
    private ScheduledFuture<?> drainEnd;

    public RefusedConnection(ServerContext server, Admission.Refusal refusal) {
        this.server = server;
        this.refusal = refusal;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        ctx.writeAndFlush(ConnectionClose.bye(Reason.SERVER_BUSY, ConnectionClose.busyHintMillis(), refusal.name()))
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess() || server.drainNanos == 0) {
                        ConnectionClose.abortiveClose(ch);
                    } else if (ch instanceof DuplexChannel duplex && ch.isActive()) {
                        duplex.shutdownOutput();
                    }
                });
        if (server.drainNanos > 0) {
            drainEnd = ctx.executor().schedule(() -> ConnectionClose.abortiveClose(ch), server.drainNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        server.admission.refusalDone();
        if (drainEnd != null) {
            drainEnd.cancel(false);
        }
        String remote = HostPort.format(ctx.channel().remoteAddress());
        server.fireClose(new SessionClosed(server.clock.millis(), null, 0, remote, Reason.SERVER_BUSY, null, 0,
                refusal.name(), 0, -1, 0, null, null));
    }
}
