package io.tether.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.tether.server.internal.events.JsonEventLog;

import java.io.OutputStream;
import java.util.Objects;

/** Factories of {@link EventLog}s. */
public final class EventLogs {
    private EventLogs() {
    }

    /**
     * One JSON line per session event ({@code open}, {@code close}, {@code gap}; the format is in
     * README.md), formatted and written by a background thread so the event loops do not pay for
     * it.
     *
     * @param out         where lines go
     * @param closeStream whether {@link EventLog#close()} closes {@code out} (false for
     *                    {@code System.out})
     */
    public static EventLog json(OutputStream out, boolean closeStream) {
        return new JsonEventLog(Objects.requireNonNull(out, "out"), closeStream);
    }

    /**
     * As {@link #json(OutputStream, boolean)}, counting the events it could not write in
     * {@code meters}: the log never blocks the event loops, so when its sink fails (a full disk)
     * or falls behind (a pipe nobody reads) it drops events, counts them in
     * {@code tether.events.dropped}, logs one ERROR per change of state, and resumes by itself
     * when the sink works again.
     */
    public static EventLog json(OutputStream out, boolean closeStream, MeterRegistry meters) {
        return new JsonEventLog(Objects.requireNonNull(out, "out"), closeStream, Objects.requireNonNull(meters, "meters"));
    }
}
