package io.tether.server;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides whether a HELLO may open a session for the device it names. Thread-safe.
 *
 * <p>The gateway calls {@link #authenticate} from an event loop and never waits on the stage it
 * returns: an authenticator that must ask something slow (a database, a remote service) returns
 * an incomplete stage and completes it from its own thread, and only the handshakes waiting on
 * it are delayed. An authenticator that is fast and does no I/O implements {@link #check} only.
 */
public interface Authenticator {

    /** Why a credential was refused, or {@link #OK}. Never carries secret material. */
    enum Verdict {
        OK, UNKNOWN_DEVICE, MALFORMED, EXPIRED, TOO_FAR_IN_FUTURE, REPLAYED, BAD_MAC, REPLAY_CACHE_FULL
    }

    /**
     * Checks a credential at once, on the calling thread (an event loop): must not block.
     *
     * @param credential  the HELLO credential field (never logged)
     * @param nowMillis   wall-clock time, epoch milliseconds
     */
    Verdict check(String deviceId, byte[] credential, long nowMillis);

    /**
     * Checks a credential without blocking the caller. The default completes at once with
     * {@link #check}. A stage completed exceptionally counts as a refusal.
     */
    default CompletionStage<Verdict> authenticate(String deviceId, byte[] credential, long nowMillis) {
        try {
            return CompletableFuture.completedFuture(check(deviceId, credential, nowMillis));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Whether a device that authenticated earlier may keep its session, after the credentials
     * behind this authenticator changed ({@link TetherServer#revalidate()} asks for each live
     * session). Called from any thread; must not block. The default keeps every session.
     *
     * @return false if the device's key was removed or replaced since it authenticated
     */
    default boolean stillValid(String deviceId) {
        return true;
    }

    /** Accepts every HELLO: for local demos and tests only ({@code --insecure-no-auth}). */
    static Authenticator allowAll() {
        return (deviceId, credential, nowMillis) -> Verdict.OK;
    }
}
