package io.tether.server.internal.history;

import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import io.tether.server.SessionRecord;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The history of the memory store ({@code --store memory}): nothing survives a restart. Bounded:
 * {@code keep} sessions for each of the {@code maxDevices} devices whose last event is the most
 * recent (about 200 bytes a session). Each event holds one lock for a few list operations.
 */
public final class MemorySessionHistory implements SessionHistory {
    /** Devices remembered, by default. */
    public static final int DEFAULT_MAX_DEVICES = 100_000;

    private final int keep;
    private final Map<String, List<SessionRecord>> devices;

    public MemorySessionHistory(int keep) {
        this(keep, DEFAULT_MAX_DEVICES);
    }

    public MemorySessionHistory(int keep, int maxDevices) {
        if (keep < 1 || keep > MAX_KEEP) {
            throw new IllegalArgumentException("history-sessions " + keep + " (expected: 1 to " + MAX_KEEP + ")");
        }
        this.keep = keep;
        this.devices = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, List<SessionRecord>> eldest) {
                return size() > maxDevices;
            }
        };
    }

    @Override
    public int keep() {
        return keep;
    }

    @Override
    public void onOpen(SessionOpened e) {
        put(HistoryRecord.opened(e));
    }

    @Override
    public void onClose(SessionClosed e) {
        if (e.deviceId() == null || e.sessionId() == 0) {
            return; // never a session: the event log has failed handshakes
        }
        put(HistoryRecord.closed(find(e.deviceId(), e.sessionId()), e));
    }

    private SessionRecord find(String deviceId, long sessionId) {
        synchronized (devices) {
            List<SessionRecord> list = devices.get(deviceId);
            if (list != null) {
                for (SessionRecord r : list) {
                    if (r.sessionId() == sessionId) {
                        return r;
                    }
                }
            }
            return null;
        }
    }

    /** Inserts or replaces {@code r}, kept in session order (oldest first), trimmed to {@code keep}. */
    private void put(SessionRecord r) {
        synchronized (devices) {
            List<SessionRecord> list = devices.computeIfAbsent(r.deviceId(), k -> new ArrayList<>(Math.min(keep, 8)));
            int i = list.size();
            while (i > 0 && list.get(i - 1).sessionId() > r.sessionId()) {
                i--;
            }
            if (i > 0 && list.get(i - 1).sessionId() == r.sessionId()) {
                list.set(i - 1, r);
                return;
            }
            list.add(i, r);
            while (list.size() > keep) {
                list.remove(0);
            }
        }
    }

    @Override
    public List<SessionRecord> read(String deviceId) {
        synchronized (devices) {
            List<SessionRecord> list = devices.get(deviceId);
            if (list == null) {
                return List.of();
            }
            List<SessionRecord> out = new ArrayList<>(list);
            java.util.Collections.reverse(out);
            return out;
        }
    }

    @Override
    public void close() {
    }
}
