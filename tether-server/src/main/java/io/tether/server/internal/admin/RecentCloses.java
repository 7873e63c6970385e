package io.tether.server.internal.admin;

import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last few closes of each reason, for the dashboard's "flapping and refused devices" and its
 * device search. One small ring per reason, not one ring for all: a thousand clean closes must not
 * push the three flapping devices an operator is looking for out of view.
 *
 * <p>Bounded: {@link #PER_REASON} closes per reason, a few hundred records in all. Memory only;
 * the history of a device across restarts is the store's business, not this.
 *
 * <p>Thread-safe: closes arrive on every event loop of the gateway, reads on the admin's. Each
 * ring is locked for a few field copies only, so no event loop waits on a reader for long.
 */
public final class RecentCloses implements SessionListener {
    /** Closes kept per reason. */
    public static final int PER_REASON = 20;

    private final Ring[] rings;

    public RecentCloses() {
        Reason[] reasons = Reason.values();
        rings = new Ring[reasons.length];
        for (Reason r : reasons) {
            rings[r.ordinal()] = new Ring();
        }
    }

    @Override
    public void onClose(SessionClosed e) {
        rings[e.reason().ordinal()].add(e);
    }

    /** The kept closes of {@code reason}, oldest first. */
    public List<SessionClosed> of(Reason reason) {
        return rings[reason.ordinal()].snapshot();
    }

    /**
     * The kept closes of {@code deviceId} (as admitted, or as its HELLO claimed), oldest first
     * within each reason.
     */
    public List<SessionClosed> ofDevice(String deviceId) {
        List<SessionClosed> out = new ArrayList<>();
        for (Ring ring : rings) {
            for (SessionClosed e : ring.snapshot()) {
                if (deviceId.equals(e.deviceId()) || deviceId.equals(e.claimedDevice())) {
                    out.add(e);
                }
            }
        }
        out.sort((a, b) -> Long.compare(a.atMillis(), b.atMillis()));
        return out;
    }

    private static final class Ring {
        private final ArrayDeque<SessionClosed> items = new ArrayDeque<>(PER_REASON);

        synchronized void add(SessionClosed e) {
            if (items.size() == PER_REASON) {
                items.removeFirst();
            }
            items.addLast(e);
        }

        synchronized List<SessionClosed> snapshot() {
            return new ArrayList<>(items);
        }
    }
}
