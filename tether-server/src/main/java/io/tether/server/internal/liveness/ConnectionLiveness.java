package io.tether.server.internal.liveness;

import io.tether.protocol.Reason;
import io.tether.server.internal.core.ConnectionState;
import io.tether.server.internal.core.ServerContext;

import java.util.concurrent.TimeUnit;

/**
 * The deadline policy of a connection: it has exactly one deadline at a time, which depends on
 * its phase.
 * <ul>
 * <li>accepted, and while its HELLO is being answered: the handshake deadline (accept +
 *     handshake timeout), so a slow authenticator, registry or store cannot hold a socket open
 *     longer than a silent device could;</li>
 * <li>open: the heartbeat deadline (last complete inbound frame + interval × multiplier), none
 *     when heartbeats are off;</li>
 * <li>draining: the end of the drain, after which the connection is reset.</li>
 * </ul>
 * A frame only stores its time ({@link #frameArrived}); the one timer ({@link
 * io.tether.transport.Deadline}) re-arms itself when it fires early. There is no scan over
 * sessions.
 */
public abstract class ConnectionLiveness extends ConnectionState {
    protected long acceptedNanos;
    private long lastFrameNanos;
    private long timeoutNanos;
    private long drainEndNanos;
    // float, not double: 4 bytes less on an object there is one of per device (8-byte aligned).
    // Microsecond resolution up to hours is plenty.
    protected float lateMillis = -1;

    protected ConnectionLiveness(ServerContext server) {
        super(server);
    }

    /** TCP accept: the handshake deadline starts. */
    protected final void accepted() {
        acceptedNanos = nanoTime();
        lastFrameNanos = acceptedNanos;
        arm();
    }

    /**
     * A complete frame arrived: a sign of life. O(1), no timer operation. A frame dribbled in
     * byte by byte is not complete until its last byte, so it cannot hold a deadline off.
     */
    protected final void frameArrived() {
        lastFrameNanos = nanoTime();
    }

    /**
     * WELCOME was sent: the heartbeat deadline runs from now (docs/PROTOCOL.md 6.2), so time
     * spent on authentication, registry and store does not eat into the device's tolerance.
     *
     * @param timeoutMillis silence after which the session is dead; 0 = heartbeats off
     */
    protected final void heartbeatStarts(int timeoutMillis) {
        timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        lastFrameNanos = nanoTime();
        if (timeoutNanos == 0) {
            cancel();
        } else {
            arm();
        }
    }

    /** A graceful close began: the drain ends after the configured drain period. */
    protected final void drainStarts() {
        drainEndNanos = nanoTime() + server.drainNanos;
        arm();
    }

    /** The negotiated heartbeat timeout in milliseconds; 0 = heartbeats off or not yet open. */
    protected final long timeoutMillis() {
        return TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
    }

    @Override
    protected final long deadlineNanos() {
        switch (state) {
            case HANDSHAKE:
            case WELCOMING:
                return acceptedNanos + server.handshakeTimeoutNanos;
            case OPEN:
                return timeoutNanos == 0 ? NONE : lastFrameNanos + timeoutNanos;
            case DRAINING:
                return drainEndNanos;
            default:
                return NONE;
        }
    }

    @Override
    protected final void expired(long nowNanos, long deadlineNanos) {
        switch (state) {
            case HANDSHAKE:
                lateMillis = (float) ((nowNanos - deadlineNanos) / 1e6);
                closeGracefully(Reason.HANDSHAKE_TIMEOUT,
                        "no HELLO within " + server.config.handshakeTimeout().toMillis() + " ms");
                break;
            case WELCOMING:
                lateMillis = (float) ((nowNanos - deadlineNanos) / 1e6);
                closeGracefully(Reason.HANDSHAKE_TIMEOUT, "HELLO received, but authenticator, registry or store "
                        + "did not answer within " + server.config.handshakeTimeout().toMillis() + " ms of the accept");
                break;
            case OPEN:
                lateMillis = (float) ((nowNanos - deadlineNanos) / 1e6);
                closeGracefully(Reason.HEARTBEAT_TIMEOUT, "nothing received for " + timeoutMillis() + " ms");
                break;
            case DRAINING:
                hardClose();
                break;
            default:
                break;
        }
    }
}
