package io.tether.server;

import java.util.Objects;

/**
 * Whether a {@link MessageStore} accepts appends now and, if not, which resource failed and why.
 * A failed store is a state, not an end: it refuses appends (so nothing un-durable is
 * acknowledged), probes the resource, and returns to {@link State#HEALTHY} by itself when it is
 * back. Immutable; thread-safe.
 *
 * @param state       healthy or failed
 * @param resource    what failed: {@code "disk"} (full, or below the free-space threshold),
 *                    {@code "descriptors"} (too many open files), {@code "io"} (any other I/O
 *                    error); empty while healthy
 * @param cause       a sentence for an operator: the error, the path, the value and the threshold;
 *                    empty while healthy
 * @param sinceMillis wall-clock time of the last change of state, epoch milliseconds (0: never changed)
 * @param failures    times the store has entered {@link State#FAILED} since it was opened
 */
public record StoreHealth(State state, String resource, String cause, long sinceMillis, long failures) {
    /** A store that never fails (in memory): always healthy. */
    public static final StoreHealth HEALTHY = new StoreHealth(State.HEALTHY, "", "", 0, 0);

    /** The states of a store. */
    public enum State {
        /** Appends are accepted and acknowledged when durable. */
        HEALTHY,
        /** Appends fail with {@link StoreUnavailableException} until the store recovers by itself. */
        FAILED
    }

    public StoreHealth {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(cause, "cause");
    }

    /** Whether appends are accepted now. */
    public boolean isHealthy() {
        return state == State.HEALTHY;
    }
}
