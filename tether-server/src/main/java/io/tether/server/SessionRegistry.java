package io.tether.server;

import java.util.function.LongConsumer;

/**
 * Who is connected: at most one live session per device id, fenced by epoch.
 *
 * <p>A new session {@linkplain #claim claims} its device and receives a fresh epoch, strictly
 * greater than any epoch handed out before for that device. A session leaving
 * {@linkplain #release releases} with its own epoch; a release whose epoch is not the current one
 * is a no-op, so the late close of a displaced connection can never remove or alter its
 * successor. A distributed directory (Redis, later) implements the same contract with the same
 * epoch semantics. Implementations are thread-safe.
 */
public interface SessionRegistry {

    /**
     * Installs {@code session} as the live session of {@code deviceId}.
     *
     * @param assignEpoch called with the new epoch before the session becomes visible to others
     * @return the session it displaced (the caller kicks it), or {@code null}
     */
    Session claim(String deviceId, Session session, LongConsumer assignEpoch);

    /**
     * Removes the device's entry if, and only if, its epoch is {@code epoch}.
     *
     * @return true if an entry was removed
     */
    boolean release(String deviceId, long epoch);

    /** The live session of the device, or {@code null}. */
    Session lookup(String deviceId);

    /** Number of live sessions. */
    int size();

    /** A snapshot of the live sessions, for audits and shutdown. */
    Iterable<Session> sessions();
}
