package io.tether.server;

/**
 * Decides whether a HELLO may open a session for the device it names. Called on an event loop
 * for every HELLO: must be fast and must not block. Thread-safe.
 */
public interface Authenticator {

    /** Why a credential was refused, or {@link #OK}. Never carries secret material. */
    enum Verdict {
        OK, UNKNOWN_DEVICE, MALFORMED, EXPIRED, TOO_FAR_IN_FUTURE, REPLAYED, BAD_MAC, REPLAY_CACHE_FULL
    }

    /**
     * @param credential  the HELLO credential field (never logged)
     * @param nowMillis   wall-clock time, epoch milliseconds
     */
    Verdict check(String deviceId, byte[] credential, long nowMillis);

    /** Accepts every HELLO: for local demos and tests only ({@code --insecure-no-auth}). */
    static Authenticator allowAll() {
        return (deviceId, credential, nowMillis) -> Verdict.OK;
    }
}
