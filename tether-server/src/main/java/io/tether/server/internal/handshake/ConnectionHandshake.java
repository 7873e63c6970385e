package io.tether.server.internal.handshake;

import io.netty.util.concurrent.EventExecutor;
import io.tether.protocol.Frame;
import io.tether.protocol.Protocol;
import io.tether.server.internal.commands.CommandLedger;
import io.tether.protocol.Reason;
import io.tether.server.Authenticator;
import io.tether.server.Session;
import io.tether.server.SessionOpened;
import io.tether.server.SessionRegistry;
import io.tether.server.StoreHealth;
import io.tether.server.internal.admission.Admission;
import io.tether.server.internal.close.ConnectionClose;
import io.tether.server.internal.core.ServerContext;
import io.tether.server.internal.delivery.ConnectionDelivery;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * From HELLO to WELCOME, without ever waiting on the event loop:
 * <ol>
 * <li>authenticate ({@link Authenticator#authenticate}, a stage);</li>
 * <li>admission: is the device flapping (reconnecting too often)?</li>
 * <li>claim the device in the registry ({@link SessionRegistry#claim}, a stage): the new epoch,
 *     and the previous holder, which is kicked if it is a local session;</li>
 * <li>the device's last stored seq ({@link io.tether.server.MessageStore#lastSeqAsync}, a stage);</li>
 * <li>WELCOME, and the heartbeat deadline starts.</li>
 * </ol>
 * While a HELLO is in flight the channel is not read (the device may send nothing before WELCOME,
 * docs/PROTOCOL.md 6.1) and the handshake deadline keeps running. Each answer hops back to the
 * channel's event loop. If the connection closed (or began to close) meanwhile, whatever was
 * claimed is released with its epoch, so no ghost stays in the registry.
 *
 * <p>The device's flapping count lives here while it is connected ({@link Admission.FlapHolder}):
 * Admission keeps it only for devices that are not.
 */
public abstract class ConnectionHandshake extends ConnectionDelivery
        implements Session, Admission.FlapHolder, CommandLedger.Channel {
    // Written once, before the session is published in the registry.
    private long flapWindowStart;
    private int flapConnects;

    protected ConnectionHandshake(ServerContext server) {
        super(server);
    }

    /** The first frame, a HELLO. */
    protected final void hello(Frame.Hello hello) {
        state = WELCOMING;
        deviceId = hello.deviceId();
        version = (byte) hello.version();
        call(() -> server.authenticator.authenticate(hello.deviceId(), hello.credential(), server.clock.millis()))
                .whenComplete((verdict, error) -> onLoop(() -> authenticated(hello, verdict, error)));
        if (state == WELCOMING) {
            // Something answers later (answers that were ready ran inline, above, and moved the
            // state on): stop reading until then. Only now, so that the common all-local
            // handshake pays no auto-read toggle (two epoll_ctl calls).
            reading(false);
        }
    }

    private void authenticated(Frame.Hello hello, Authenticator.Verdict verdict, Throwable error) {
        if (state != WELCOMING) {
            return; // closed or timed out meanwhile; nothing was claimed
        }
        if (error != null) {
            server.handshakeDependencyFailed("authenticator", error);
            busy("authenticator failed: " + error);
            return;
        }
        if (verdict != Authenticator.Verdict.OK) {
            // No session, no takeover, no store write. The BYE does not say why: that would help
            // whoever is guessing. The close event does (ConnectionClose.detail).
            server.authFailed(verdict);
            closeGracefully(Reason.AUTH_FAILED, null);
            detail = verdict.name();
            return;
        }
        StoreHealth store = server.store.health();
        if (!store.isHealthy()) {
            // Before the flapping count: a device sent away because the store failed is not
            // flapping, and its reconnects while the store recovers must not get it banned.
            closeGracefully(Reason.STORE_UNAVAILABLE, "store unavailable (" + store.resource() + ")",
                    ConnectionDelivery.storeHintMillis());
            detail = "store unavailable (" + store.resource() + "): " + store.cause();
            return;
        }
        Session registered = server.registry.lookup(deviceId);
        long banNanos = server.admission.deviceConnect(deviceId, nanoTime(),
                registered instanceof Admission.FlapHolder h ? h : null, this);
        if (banNanos > 0) {
            // Authenticated, but reconnecting too often (a reboot loop, the source's case 3 at
            // scale): refused until the ban ends, and told when that is.
            long banMillis = TimeUnit.NANOSECONDS.toMillis(banNanos);
            closeGracefully(Reason.FLAPPING, null, (int) Math.min(Integer.MAX_VALUE, banMillis));
            detail = "device '" + deviceId + "' connects too often; refused for " + banMillis + " ms";
            return;
        }
        int heartbeatMillis = server.config.grantHeartbeatMillis(hello.heartbeatMillis());
        call(() -> server.registry.claim(deviceId, this))
                .whenComplete((claim, e) -> onLoop(() -> claimed(hello, heartbeatMillis, claim, e)));
    }

    private void claimed(Frame.Hello hello, int heartbeatMillis, SessionRegistry.Claim claim, Throwable error) {
        if (error != null) {
            if (state == WELCOMING) {
                server.handshakeDependencyFailed("session registry", error);
                busy("session registry failed: " + error);
            }
            return;
        }
        // A session of this process that held the device is kicked here, on its own event loop;
        // a session of another node is that node's to kick. Kicked even if this connection has
        // ended meanwhile: the registry no longer names it, so it must not stay open as a ghost.
        Session previous = claim.previous();
        if (previous != null && previous != this) {
            previous.kick(Reason.TAKEN_OVER);
        }
        if (state != WELCOMING) {
            server.registry.release(deviceId, claim.epoch());
            return;
        }
        boolean resumed = hello.resumeSession() != 0 && claim.previousEpoch() == hello.resumeSession();
        call(() -> server.store.lastSeqAsync(deviceId))
                .whenComplete((lastSeq, e) -> onLoop(() -> welcome(heartbeatMillis, claim, resumed, lastSeq, e)));
    }

    private void welcome(int heartbeatMillis, SessionRegistry.Claim claim, boolean resumed, Long lastSeq, Throwable error) {
        if (state != WELCOMING) {
            // Ended meanwhile. If the channel is already gone its close released the claim;
            // this makes sure, whatever the order (a release with an old epoch is a no-op).
            if (state == CLOSED) {
                server.registry.release(deviceId, claim.epoch());
            }
            return;
        }
        if (error != null) {
            server.handshakeDependencyFailed("message store (last seq)", error);
            busy("message store failed: " + error);
            return;
        }
        int timeoutMillis = heartbeatMillis == 0 ? 0 : server.config.timeoutMillis(heartbeatMillis);
        int flags = (server.config.quiet() ? Frame.Welcome.FLAG_QUIET : 0) | (resumed ? Frame.Welcome.FLAG_RESUMED : 0);
        enter(OPEN);
        write(new Frame.Welcome(claim.epoch(), heartbeatMillis, timeoutMillis, lastSeq, server.config.maxFrameLength(), flags));
        if (!inRead) {
            ctx.flush();
        }
        heartbeatStarts(timeoutMillis);
        reading(true);
        if (version >= Protocol.VERSION_COMMANDS) {
            server.commands.attach(deviceId, claim.epoch(), this);
        }
        server.fireOpen(new SessionOpened(server.clock.millis(), deviceId, claim.epoch(), remote(), heartbeatMillis,
                timeoutMillis, lastSeq, claim.tookOver(), resumed, version));
    }

    /** The device's session ended or never began: its registry entry and flapping count go. */
    protected final void leave() {
        if (deviceId == null) {
            return;
        }
        // Before the release: a device is always either registered or counted there.
        server.admission.deviceDisconnected(deviceId, this, nanoTime());
        long e = epoch;
        if (e != 0) {
            if (version >= Protocol.VERSION_COMMANDS) {
                server.commands.detach(deviceId, e);
            }
            server.registry.release(deviceId, e);
        }
    }

    /** A dependency failed: come back later, with a jittered hint. */
    private void busy(String why) {
        closeGracefully(Reason.SERVER_BUSY, null, ConnectionClose.busyHintMillis());
        detail = why;
    }

    /** Runs an SPI call; one that throws instead of returning a failed stage counts as failed. */
    private static <T> CompletionStage<T> call(Supplier<CompletionStage<T>> spi) {
        try {
            return spi.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Runs a completion on this channel's event loop: inline if already there, else queued. */
    private void onLoop(Runnable step) {
        EventExecutor loop = ctx.executor();
        if (loop.inEventLoop()) {
            step.run();
        } else {
            try {
                loop.execute(step);
            } catch (RejectedExecutionException e) {
                // The loop is shutting down with the server; its close releases everything.
            }
        }
    }

    // ---- Admission.FlapHolder ------------------------------------------------------------------

    @Override
    public final long flapWindowStart() {
        return flapWindowStart;
    }

    @Override
    public final int flapConnects() {
        return flapConnects;
    }

    @Override
    public final void flapState(long windowStart, int connects) {
        flapWindowStart = windowStart;
        flapConnects = connects;
    }
}
