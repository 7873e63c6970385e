package io.tether.server.internal.core;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.EventExecutor;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Reason;
import io.tether.transport.Deadline;
import io.tether.transport.HostPort;

/**
 * What every concern of a device connection reads: the server it belongs to, its channel, its
 * phase, and the device it speaks for. The bottom of a small class hierarchy with one level per
 * concern, each in its own package:
 *
 * <pre>
 * Deadline                       (tether-transport: one lazily re-armed timer)
 *  └ core.ConnectionState        phase, channel, device id, epoch
 *     └ liveness.ConnectionLiveness    which deadline applies now, and what missing it means
 *        └ close.ConnectionClose       the one reason, BYE, half-close, drain, RST, the close event
 *           └ delivery.ConnectionDelivery  DATA → store → cumulative ACK, back-pressure, downlink
 *              └ handshake.ConnectionHandshake  HELLO → auth → admission → claim → lastSeq → WELCOME
 *                 └ connection.Connection      the pipeline handler: dispatches events to the above
 * </pre>
 *
 * A hierarchy, not a set of objects, because there is one of these per device: each level adds
 * only its fields, and a connection costs one object (plus its frame decoder), as it did when one
 * class held every concern. Collaborators shared by all connections live in {@link ServerContext}.
 *
 * <p>Everything here runs on the channel's event loop, except the fields marked volatile, which
 * other threads (the registry, audits) read.
 */
public abstract class ConnectionState extends Deadline {
    /** Accepted; waiting for HELLO. */
    protected static final byte HANDSHAKE = 0;
    /** HELLO received; authenticator, registry or store answers are in flight. Not reading. */
    protected static final byte WELCOMING = 1;
    /** WELCOME sent: a session. */
    protected static final byte OPEN = 2;
    /** A graceful close began: BYE sent, output shut, reading until the drain ends. */
    protected static final byte DRAINING = 3;
    protected static final byte CLOSED = 4;

    protected final ServerContext server;
    protected ChannelHandlerContext ctx;
    protected volatile byte state = HANDSHAKE;
    /** The device id HELLO named (whether or not it was admitted); null before HELLO. */
    protected String deviceId;
    /** Fencing epoch from the registry's claim; 0 until the claim. */
    protected volatile long epoch;
    /** Protocol version of the connection: its HELLO's (1 until then); every frame sent carries it. */
    protected byte version = 1;
    /** Traffic of this connection, for its close event and the device's history: DATA in; DATA and COMMAND out. */
    protected int messagesIn;
    protected int messagesOut;
    protected long bytesIn;
    protected long bytesOut;

    protected ConnectionState(ServerContext server) {
        this.server = server;
    }

    /**
     * Moves to {@code next} (OPEN, DRAINING or CLOSED). The first move out of HANDSHAKE or
     * WELCOMING takes the connection off the server's handshaking count, which a scrape reads
     * without visiting every connection.
     */
    protected final void enter(byte next) {
        if (state <= WELCOMING && next > WELCOMING) {
            server.handshakeEnded();
        }
        state = next;
    }

    @Override
    protected final EventExecutor executor() {
        return ctx.executor();
    }

    /**
     * Frames are encoded here rather than by an encoder handler: one handler context less per
     * connection (64 bytes of heap, multiplied by every device).
     */
    protected final ByteBuf encode(Frame frame) {
        ByteBuf buf = ctx.alloc().ioBuffer(FrameCodec.encodedLength(frame));
        FrameCodec.encode(frame, version, buf);
        return buf;
    }

    /** Writes a frame without flushing, without a promise. */
    protected final void write(Frame frame) {
        ctx.write(encode(frame), ctx.voidPromise());
    }

    /** The peer address as host:port (IPv6 bracketed). */
    public final String remote() {
        return HostPort.format(ctx.channel().remoteAddress());
    }

    /** Turns reading from the socket on or off (auto-read); turning it on reads at once. */
    protected final void reading(boolean on) {
        ctx.channel().config().setAutoRead(on);
    }

    // ---- what one concern asks of another ------------------------------------------------------

    /** BYE, half-close, drain, then RST (close). */
    protected abstract void closeGracefully(Reason why, String text);

    /** RST at once (close). */
    protected abstract void hardClose();

    /** Writes the due cumulative ACK, if any (delivery). */
    protected abstract void writeAck();
}
