package io.tether.server;

import java.util.concurrent.CompletionStage;

/**
 * Who is connected: at most one live session per device id, fenced by epoch.
 *
 * <p>A new session {@linkplain #claim claims} its device and receives a fresh epoch, strictly
 * greater than any epoch handed out before for that device. A session leaving
 * {@linkplain #release releases} with its own epoch; a release whose epoch is not the current one
 * is a no-op, so the late close of a displaced connection can never remove or alter its
 * successor.
 *
 * <p>Shaped for a remote directory (Redis, later): a claim is asynchronous and answers with the
 * fencing epoch and who held the device before, which may be a session of this process (the
 * caller kicks it, locally) or a session on another node (named by node id and epoch; that node
 * kicks it when it learns of the claim). Implementations are thread-safe, and no method blocks
 * the caller on I/O.
 */
public interface SessionRegistry {

    /**
     * Installs {@code session} as the live session of {@code deviceId}. The stage completes with
     * the new epoch and the previous holder; {@code session.epoch()} must return the new epoch
     * before the session is visible to other callers, so the registry calls
     * {@link Session#assignEpoch} inside its atomic section.
     */
    CompletionStage<Claim> claim(String deviceId, Session session);

    /**
     * Removes the device's entry if, and only if, its epoch is {@code epoch}. Never blocks.
     *
     * @return true if an entry was removed (for a remote directory: if the local view had it)
     */
    boolean release(String deviceId, long epoch);

    /** The live session of the device held by this process, or {@code null}. */
    Session lookup(String deviceId);

    /** Number of live sessions held by this process. */
    int size();

    /** A snapshot of the live sessions of this process, for audits and shutdown. */
    Iterable<Session> sessions();

    /**
     * The outcome of a {@link #claim}.
     *
     * @param epoch          the fencing epoch of the new session
     * @param previous       the local session it displaced (the caller kicks it), or {@code null}
     * @param previousNode   the node that held the device before, if it was another process; else {@code null}
     * @param previousEpoch  epoch of the previous holder (local or remote), 0 if none
     */
    record Claim(long epoch, Session previous, String previousNode, long previousEpoch) {

        /** Whether anybody held the device before this claim. */
        public boolean tookOver() {
            return previousEpoch != 0;
        }
    }
}
