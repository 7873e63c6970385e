package io.tether.server.internal.api;

import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What {@code GET /v1/devices/{id}} says about a device's connection: its live session, if any,
 * and how its last session ended. Fed by the server's session events; memory only, so it starts
 * empty after a restart ("not known since the server started").
 *
 * <p>Bounded: live sessions are bounded by the server's connections; the history of ended
 * sessions keeps the {@code maxHistory} devices whose last session ended most recently.
 *
 * <p>Thread-safe: events arrive on every event loop of the gateway, lookups on the API's.
 */
public final class DeviceDirectory implements SessionListener {
    /** Devices whose last close is remembered, by default. About 300 bytes each. */
    public static final int DEFAULT_MAX_HISTORY = 100_000;

    /** A live session. */
    record Live(long epoch, String remote, long sinceMillis, int heartbeatMillis, int protocolVersion) {
    }

    /** How a device's last session ended. */
    record Ended(long atMillis, long epoch, String reason, String errno, String detail) {
    }

    /** A device as the directory knows it; fields null when unknown. */
    record Entry(Live live, Ended lastClose) {
    }

    private final ConcurrentHashMap<String, Live> live = new ConcurrentHashMap<>();
    private final Map<String, Ended> history;

    public DeviceDirectory() {
        this(DEFAULT_MAX_HISTORY);
    }

    DeviceDirectory(int maxHistory) {
        this.history = new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Ended> eldest) {
                return size() > maxHistory;
            }
        };
    }

    @Override
    public void onOpen(SessionOpened e) {
        live.put(e.deviceId(), new Live(e.sessionId(), e.remote(), e.atMillis(), e.heartbeatMillis(), e.protocolVersion()));
    }

    @Override
    public void onClose(SessionClosed e) {
        if (e.deviceId() == null) {
            return; // never handshaken: not a session of any device
        }
        // A takeover opens the new session before the old one's close arrives: only the session
        // that ended leaves the live map.
        live.computeIfPresent(e.deviceId(), (id, l) -> l.epoch() == e.sessionId() ? null : l);
        Ended ended = new Ended(e.atMillis(), e.sessionId(), e.reason() == null ? null : e.reason().name(),
                e.errnoName(), e.detail());
        synchronized (history) {
            Ended before = history.remove(e.deviceId());
            // Keep the newer session's close: the old session of a takeover may close after the new one.
            history.put(e.deviceId(), before != null && before.epoch() > ended.epoch() ? before : ended);
        }
    }

    Entry lookup(String deviceId) {
        Ended ended;
        synchronized (history) {
            ended = history.get(deviceId);
        }
        return new Entry(live.get(deviceId), ended);
    }

    int historySize() {
        synchronized (history) {
            return history.size();
        }
    }
}
