package io.tether.server.internal.session;

import io.tether.server.Session;
import io.tether.server.SessionRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The single-node registry: a concurrent map from device id to its live session. Epochs come from
 * one counter that starts at the wall-clock time of creation in microseconds, so epochs (and
 * session ids) do not repeat across restarts of the process.
 */
public final class LocalSessionRegistry implements SessionRegistry {
    private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicLong epochs;

    public LocalSessionRegistry() {
        this(System.currentTimeMillis() * 1000);
    }

    /** For tests: epochs start after {@code firstEpoch - 1}. */
    public LocalSessionRegistry(long firstEpoch) {
        this.epochs = new AtomicLong(firstEpoch - 1);
    }

    @Override
    public CompletionStage<Claim> claim(String deviceId, Session session) {
        Session[] displaced = new Session[1];
        long[] epoch = new long[1];
        // The epoch is drawn inside the per-key atomic section, so claims of one device are
        // totally ordered by epoch: the session in the map always holds the highest epoch.
        sessions.compute(deviceId, (id, old) -> {
            displaced[0] = old;
            epoch[0] = epochs.incrementAndGet();
            session.assignEpoch(epoch[0]);
            return session;
        });
        Session previous = displaced[0];
        return CompletableFuture.completedFuture(
                new Claim(epoch[0], previous, null, previous == null ? 0 : previous.epoch()));
    }

    @Override
    public boolean release(String deviceId, long epoch) {
        boolean[] removed = new boolean[1];
        sessions.computeIfPresent(deviceId, (id, current) -> {
            if (current.epoch() == epoch) {
                removed[0] = true;
                return null;
            }
            return current;
        });
        return removed[0];
    }

    @Override
    public Session lookup(String deviceId) {
        return sessions.get(deviceId);
    }

    @Override
    public int size() {
        return sessions.size();
    }

    @Override
    public Iterable<Session> sessions() {
        List<Session> copy = new ArrayList<>(sessions.values());
        return copy;
    }
}
