package io.tether.server.internal.connection;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslClosedEngineException;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameType;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;
import io.tether.server.ConnectionInfo;
import io.tether.server.internal.core.ConnectionState;
import io.tether.server.internal.core.ServerContext;
import io.tether.server.internal.handshake.ConnectionHandshake;
import io.tether.server.internal.limits.DeviceThrottle;
import io.tether.transport.errno.IoFailure;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * One device connection, from TCP accept to close: the pipeline handler that sits after the
 * frame decoder and hands each event to the concern it belongs to. The concerns, one package
 * each, are the levels of this class's hierarchy (see {@link ConnectionState}): liveness (the
 * deadline), close (the one reason, BYE, drain, RST), delivery (DATA → store → ACK), handshake
 * (auth, admission, claim, WELCOME).
 *
 * <p>Implements {@link ChannelInboundHandler} directly rather than extending Netty's adapter:
 * the adapter's one field would be one more per device. Not sharable: one per channel. State is
 * touched only on the channel's event loop, except {@link #epoch} and the phase, which other
 * threads read.
 */
public final class Connection extends ConnectionHandshake implements ChannelInboundHandler, DeviceThrottle.Session {

    public Connection(ServerContext server) {
        super(server);
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        // nothing: removal happens only when the channel is torn down, after channelInactive
    }

    @Override
    public void channelRegistered(ChannelHandlerContext ctx) {
        ctx.fireChannelRegistered();
    }

    @Override
    public void channelUnregistered(ChannelHandlerContext ctx) {
        ctx.fireChannelUnregistered();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        server.handshakeStarted();
        accepted();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state == CLOSED) {
            return;
        }
        enter(CLOSED);
        cancel();
        server.admission.closed();
        leave();
        reportClosed();
        ctx.fireChannelInactive();
    }

    // ---- inbound ---------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        inRead = true;
        Frame frame = (Frame) msg;
        frameArrived();
        switch (state) {
            case HANDSHAKE:
                if (frame instanceof Frame.Hello hello) {
                    hello(hello);
                } else {
                    closeGracefully(Reason.PROTOCOL_ERROR, "first frame must be HELLO, got " + FrameType.name(frame.type()));
                }
                break;
            case WELCOMING:
                // Frames decoded from the same read as the HELLO; the socket is no longer read.
                closeGracefully(Reason.PROTOCOL_ERROR,
                        FrameType.name(frame.type()) + " before WELCOME (the device must wait for it)");
                break;
            case OPEN:
                onSessionFrame(frame);
                break;
            case DRAINING:
                // Output is shut; keep what arrives, answer nothing. The device resends what it
                // did not see acknowledged, and the store drops the duplicates.
                // Only a session keeps data: a connection that never claimed its device stores nothing.
                if (frame instanceof Frame.Data data && epoch != 0) {
                    drainedFrames++;
                    append(data);
                } else if (frame instanceof Frame.CommandAck ack && epoch != 0) {
                    commandsAcknowledged(ack); // true even now: the device processed them
                } else if (frame instanceof Frame.Result result && epoch != 0) {
                    commandResult(result);     // stored; its RESULT_ACK cannot be written any more
                }
                break;
            default:
                break;
        }
    }

    private void onSessionFrame(Frame frame) {
        if (frame instanceof Frame.Data data) {
            append(data);
            server.throttle.onData(ctx, data.payload().length, this);
        } else if (frame instanceof Frame.Ping) {
            if (!server.config.quiet()) {
                write(Frame.Pong.INSTANCE);
            }
        } else if (frame instanceof Frame.Ack) {
            // Downlink acknowledgement. Downlink is best effort in this version: nothing to release.
        } else if (frame instanceof Frame.CommandAck ack) {
            commandsAcknowledged(ack);
        } else if (frame instanceof Frame.Result result) {
            commandResult(result);
        } else if (frame instanceof Frame.Bye bye) {
            setReason(Reason.NORMAL, null, bye.text().isEmpty() ? "device said BYE " + bye.reason() : bye.text());
            ctx.close();
        } else {
            closeGracefully(Reason.PROTOCOL_ERROR, FrameType.name(frame.type()) + " not allowed after the handshake");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inRead = false;
        writeAck();
        ctx.flush();
        if (state == OPEN) {
            server.throttle.afterFlush(ctx, this);
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // The write buffer passed its high-water mark: the device is not reading. Queuing more
        // would grow the heap without bound, so the connection goes.
        if (!ctx.channel().isWritable() && state == OPEN) {
            abort(Reason.SLOW_CONSUMER, "write buffer above " + server.config.writeBufferLimit() + " bytes");
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    @SuppressWarnings("deprecation")
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (t instanceof ProtocolException pe) {
            closeGracefully(pe.reason(), pe.getMessage());
            return;
        }
        if (t instanceof SSLException && !(t instanceof SslClosedEngineException)) {
            // TLS failed: a plaintext client or a scanner on the TLS port (the exception's
            // message would put the client's bytes, credentials included, in the event log), or
            // a handshake one side refused. SslHandler has closed the connection already.
            setReason(Reason.PROTOCOL_ERROR, null, t instanceof NotSslRecordException
                    ? "not TLS (plaintext or another protocol on the TLS port)" : "TLS: " + t.getMessage());
            ctx.close();
            return;
        }
        if (!(t instanceof IOException)) {
            // Not the network, not the peer's bytes: a bug of ours (or of a listener or store).
            // Close this one connection, and make it loud.
            server.internalError(t);
            setReason(Reason.IO_ERROR, null, "internal error: " + t);
            ctx.close();
            return;
        }
        IoFailure f = IoFailure.classify(t);
        setReason(f.reason(), f, f.errno() == null ? String.valueOf(t) : null);
        ctx.close();
    }

    // ---- DeviceThrottle.Session (on the event loop) ----------------------------------------------

    @Override
    public boolean mayResumeReading() {
        return state == OPEN && server.store.isWritable();
    }

    @Override
    public void writeStalled(String why) {
        if (state == OPEN) {
            // No BYE: it would queue behind what the device has not read for the whole bound,
            // and the close would wait for it.
            setReason(Reason.SLOW_CONSUMER, null, why);
            hardClose();
        }
    }

    // ---- Session (called from any thread) ----------------------------------------------------

    @Override
    public String deviceId() {
        return deviceId;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    @Override
    public void assignEpoch(long e) {
        epoch = e;
    }

    @Override
    public void kick(Reason why) {
        // Always queued, even from the same event loop: the caller is usually in the middle of
        // another connection's handshake, and the kick must not run inside it.
        ctx.executor().execute(() -> {
            if (why == Reason.TAKEN_OVER || why == Reason.SLOW_CONSUMER) {
                abort(why, null);
            } else {
                closeGracefully(why, null);
            }
        });
    }

    /**
     * Ends the session because its device's credentials no longer admit it: BYE AUTH_FAILED with
     * {@code why}, drain, close. Callable from any thread; a connection that is not (or no longer)
     * an open session is left alone.
     */
    public void revoke(String why) {
        ctx.executor().execute(() -> {
            if (state == OPEN) {
                closeGracefully(Reason.AUTH_FAILED, why);
            }
        });
    }

    /** This connection as an audit sees it. Callable from any thread. */
    public ConnectionInfo info() {
        byte s = state;
        boolean handshaking = s == HANDSHAKE || s == WELCOMING;
        String name = handshaking ? "HANDSHAKE" : s == OPEN ? "OPEN" : s == DRAINING ? "DRAINING" : "CLOSED";
        SocketAddress a = ctx.channel().remoteAddress();
        long session = handshaking ? 0 : epoch;
        return new ConnectionInfo(a instanceof InetSocketAddress isa ? isa : null,
                session != 0 ? deviceId : null, session, name);
    }

    /** The channel this handler serves. */
    public Channel channel() {
        return ctx.channel();
    }
}
