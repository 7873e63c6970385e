package io.tether.server.internal.history;

import io.tether.server.SessionListener;
import io.tether.server.SessionRecord;

import java.io.IOException;
import java.util.List;

/**
 * The last sessions of each device, fed by the session events it listens to. Implementations
 * never block the event loop that delivers an event: the memory one updates a small bounded map,
 * the store's hands the record to its own writer thread.
 *
 * <p>Thread-safe.
 */
public interface SessionHistory extends SessionListener, AutoCloseable {
    /** Largest number of sessions kept per device. */
    int MAX_KEEP = 1000;

    /** Sessions kept per device; 0 when the history is off. */
    int keep();

    /**
     * The device's sessions, newest first, at most {@link #keep()}. May read the disk: not for an
     * event loop that serves devices. Records made in the last milliseconds may not be there yet.
     *
     * @throws IllegalArgumentException if the device id is not printable ASCII
     * @throws IOException if the store cannot be read
     */
    List<SessionRecord> read(String deviceId) throws IOException;

    /** Writes what was handed over, then stops. Idempotent. */
    @Override
    void close();

    /** No history: records nothing, reads nothing. */
    SessionHistory OFF = new SessionHistory() {
        @Override
        public int keep() {
            return 0;
        }

        @Override
        public List<SessionRecord> read(String deviceId) {
            return List.of();
        }

        @Override
        public void close() {
        }
    };
}
