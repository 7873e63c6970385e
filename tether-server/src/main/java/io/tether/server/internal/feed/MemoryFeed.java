package io.tether.server.internal.feed;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongConsumer;

/**
 * A {@link Feed} in memory, for the memory store and for tests: lost with the process, bounded
 * to the newest {@code capacity} entries (older ones are dropped once forwarded, or once the
 * bound is passed: a memory store promises nothing across a restart anyway).
 */
public final class MemoryFeed implements Feed {
    private final int capacity;
    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    private final CopyOnWriteArrayList<LongConsumer> listeners = new CopyOnWriteArrayList<>();
    private long head;       // guarded by this
    private long forwarded;  // guarded by this
    private long unforwardedBytes; // guarded by this

    public MemoryFeed(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
        }
        this.capacity = capacity;
    }

    /** A device message, as the memory store's append would add it. */
    public void appendMessage(String deviceId, long session, long seq, long atMillis, byte[] payload) {
        add(Kind.MESSAGE, deviceId, session, seq, atMillis, payload);
    }

    @Override
    public void append(Kind kind, String deviceId, long session, long seq, long atMillis, Body body) {
        if (kind == Kind.MESSAGE) {
            throw new IllegalArgumentException("messages enter the feed with the store's append");
        }
        // In memory there is no writer thread: made now, on the caller's.
        add(kind, deviceId, session, seq, atMillis, body.bytes());
    }

    private void add(Kind kind, String deviceId, long session, long seq, long atMillis, byte[] body) {
        long h;
        synchronized (this) {
            h = ++head;
            entries.addLast(new Entry(h, kind, deviceId, session, seq, atMillis, body));
            unforwardedBytes += body.length;
            while (entries.size() > capacity) {
                Entry dropped = entries.removeFirst();
                if (dropped.offset() > forwarded) {
                    unforwardedBytes -= dropped.body().length;
                }
            }
        }
        for (LongConsumer l : listeners) {
            l.accept(h);
        }
    }

    @Override
    public synchronized long head() {
        return head;
    }

    @Override
    public synchronized List<Entry> read(long after, int max) {
        List<Entry> out = new ArrayList<>(Math.min(max, entries.size()));
        for (Entry e : entries) {
            if (e.offset() > after) {
                out.add(e);
                if (out.size() == max) {
                    break;
                }
            }
        }
        return out;
    }

    @Override
    public AutoCloseable onAppend(LongConsumer listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    public synchronized long forwarded() {
        return forwarded;
    }

    @Override
    public synchronized void forwarded(long offset) {
        if (offset <= forwarded) {
            return;
        }
        for (Entry e : entries) {
            if (e.offset() > forwarded && e.offset() <= offset) {
                unforwardedBytes -= e.body().length;
            }
        }
        forwarded = Math.min(offset, head);
    }

    @Override
    public synchronized long unforwardedBytes() {
        return unforwardedBytes;
    }
}
