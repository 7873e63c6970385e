package io.tether.server.internal.connection;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.internal.admission.Admission;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A connection refused at the door (connection cap, rate limit): BYE SERVER_BUSY with a jittered
 * reconnect hint, then close. It costs no decoder, no session and no timer, so a flood of them
 * leaves the existing sessions alone. Counted and logged like every close.
 */
public final class RefusedConnection extends ChannelInboundHandlerAdapter {
    private final ServerContext server;
    private final Admission.Refusal refusal;

    public RefusedConnection(ServerContext server, Admission.Refusal refusal) {
        this.server = server;
        this.refusal = refusal;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        int hint = 1_000 + ThreadLocalRandom.current().nextInt(9_000);
        ctx.writeAndFlush(new Frame.Bye(Reason.SERVER_BUSY, hint, refusal.name()))
                .addListener(ChannelFutureListener.CLOSE);
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
        String remote = ConnectionHandler.hostPort(ctx.channel().remoteAddress());
        server.fireClose(new SessionClosed(server.clock.millis(), null, 0, remote, Reason.SERVER_BUSY, null, 0,
                refusal.name(), 0, -1, 0));
    }
}
