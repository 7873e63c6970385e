package io.tether.server.internal.admission;

import java.net.InetAddress;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Who may come in, before any session exists: a cap on open connections, a connection-rate limit
 * per source address (token bucket), and flapping detection per device (more than N connects
 * within a window bans the device for a while, as EMQX's flapping detect does). All decisions are
 * O(1); the maps are swept of idle entries as they grow. Thread-safe. Time comes from the
 * caller (nanoTime-like ticks), so tests can drive it.
 */
public final class Admission {
    /** Refused connections being told SERVER_BUSY at once; beyond it, the refusal is a bare close (part of the descriptor reserve). */
    public static final int MAX_REFUSING = 64;

    private final int maxConnections;
    private final long descriptorCap;
    private final double ratePerSecond;
    private final double burst;
    private final int flapMaxConnects;
    private final long flapWindowNanos;
    private final long flapBanNanos;

    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger refusing = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Bucket> buckets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Flap> flaps = new ConcurrentHashMap<>();

    /**
     * @param maxConnections  open connections beyond which new ones are refused; 0 = no cap
     * @param ratePerSecond   new connections per second per source address; 0 = no limit
     * @param burst           bucket size for the rate limit
     * @param flapMaxConnects connects of one device within {@code flapWindow} that are still fine; 0 = off
     */
    public Admission(int maxConnections, double ratePerSecond, double burst, int flapMaxConnects,
                     long flapWindow, long flapBan, TimeUnit unit) {
        this(maxConnections, Long.MAX_VALUE, ratePerSecond, burst, flapMaxConnects, flapWindow, flapBan, unit);
    }

    /**
     * @param descriptorCap open connections the process's descriptors allow (open-files limit
     *                      minus the reserve); {@link Long#MAX_VALUE} = no such cap
     */
    public Admission(int maxConnections, long descriptorCap, double ratePerSecond, double burst, int flapMaxConnects,
                     long flapWindow, long flapBan, TimeUnit unit) {
        this.maxConnections = maxConnections;
        this.descriptorCap = descriptorCap;
        this.ratePerSecond = ratePerSecond;
        this.burst = Math.max(1, burst);
        this.flapMaxConnects = flapMaxConnects;
        this.flapWindowNanos = unit.toNanos(flapWindow);
        this.flapBanNanos = unit.toNanos(flapBan);
    }

    /** Why a connection was refused at the door. */
    public enum Refusal {
        NONE, MAX_CONNECTIONS, RATE_LIMITED,
        /** The open-files limit, less the descriptors kept in reserve, is reached. */
        OPEN_FILES
    }

    /**
     * Called for each accepted TCP connection. On {@link Refusal#NONE} the caller owns one
     * "open" slot and must call {@link #closed()} when the connection ends.
     */
    public Refusal admit(InetAddress source, long nowNanos) {
        if (ratePerSecond > 0 && source != null) {
            Bucket b = buckets.computeIfAbsent(source, a -> new Bucket(burst, nowNanos));
            if (!b.take(nowNanos, ratePerSecond, burst)) {
                return Refusal.RATE_LIMITED;
            }
            if (buckets.size() > 100_000) {
                sweepBuckets(nowNanos);
            }
        }
        int now = open.incrementAndGet();
        if (maxConnections > 0 && now > maxConnections) {
            open.decrementAndGet();
            return Refusal.MAX_CONNECTIONS;
        }
        if (now > descriptorCap) {
            open.decrementAndGet();
            return Refusal.OPEN_FILES;
        }
        return Refusal.NONE;
    }

    /**
     * A refused connection is about to be told why (BYE, drain): it holds a descriptor meanwhile.
     *
     * @return false if {@link #MAX_REFUSING} are being told already: close this one at once
     *         instead, so a flood cannot spend the reserve; on true, call {@link #refusalDone()}
     */
    public boolean startRefusal() {
        if (refusing.incrementAndGet() > MAX_REFUSING) {
            refusing.decrementAndGet();
            return false;
        }
        return true;
    }

    /** A refused connection that {@link #startRefusal()} let through has closed. */
    public void refusalDone() {
        refusing.decrementAndGet();
    }

    /** An admitted connection ended. */
    public void closed() {
        open.decrementAndGet();
    }

    /** Connections admitted and not yet closed. */
    public int open() {
        return open.get();
    }

    /**
     * Where a connected device's flapping count lives: in its session. The table here holds only
     * devices that are not connected and whose window is still open, so an idle connected device
     * costs it nothing (an entry was ~70 bytes of heap per device).
     */
    public interface FlapHolder {
        /** Start of the device's current window (ticks); meaningless while {@link #flapConnects()} is 0. */
        long flapWindowStart();

        /** Connects counted in that window, this session's included; 0 = none counted. */
        int flapConnects();

        /** Takes over the device's count; called once, when the session is admitted. */
        void flapState(long windowStart, int connects);
    }

    /**
     * Called when a device has authenticated. Counts the connect and decides; if the device may
     * proceed, {@code next} takes over its count.
     *
     * @param previous the device's session that is still registered (it is about to be taken
     *                 over), or null
     * @param next     the new session
     * @return 0 if the device may proceed, else the nanoseconds left of its ban (it is flapping)
     */
    public long deviceConnect(String deviceId, long nowNanos, FlapHolder previous, FlapHolder next) {
        if (flapMaxConnects <= 0) {
            return 0;
        }
        Flap f = flaps.get(deviceId);
        if (f != null && f.banned && f.bannedUntil - nowNanos > 0) {
            return f.bannedUntil - nowNanos;
        }
        // The newest count: the one left by the device's ended sessions, or the one its
        // still-connected session carries (which ends later and so may not be here yet).
        Flap known = f != null && f.banned ? null : f;
        if (previous != null && previous.flapConnects() > 0) {
            known = newer(known, new Flap(previous.flapWindowStart(), previous.flapConnects(), 0, false));
        }
        long windowStart = nowNanos;
        int connects = 1;
        if (known != null && nowNanos - known.windowStart <= flapWindowNanos) {
            windowStart = known.windowStart;
            connects = known.count + 1;
        }
        if (connects > flapMaxConnects) {
            long until = nowNanos + flapBanNanos;
            flaps.put(deviceId, new Flap(until, 0, until, true));
            return flapBanNanos;
        }
        if (f != null) {
            flaps.remove(deviceId, f);
        }
        next.flapState(windowStart, connects);
        return 0;
    }

    /** A device's session ended: its count is kept here until its window is over. */
    public void deviceDisconnected(String deviceId, FlapHolder session, long nowNanos) {
        if (flapMaxConnects <= 0 || session.flapConnects() == 0 || nowNanos - session.flapWindowStart() > flapWindowNanos) {
            return;
        }
        // merge: a session that was taken over ends after its successor took a newer count.
        flaps.merge(deviceId, new Flap(session.flapWindowStart(), session.flapConnects(), 0, false), Admission::newer);
        if (flaps.size() > 100_000) {
            sweepFlaps(nowNanos);
        }
    }

    /** Devices whose flapping state is held here (disconnected within their window, or banned). */
    public int flapEntries() {
        return flaps.size();
    }

    private static Flap newer(Flap a, Flap b) {
        if (a == null) {
            return b;
        }
        if (a.banned != b.banned) {
            return a.banned ? a : b;
        }
        if (a.banned) {
            return a.bannedUntil - b.bannedUntil >= 0 ? a : b;
        }
        if (a.windowStart != b.windowStart) {
            return a.windowStart - b.windowStart > 0 ? a : b;
        }
        return a.count >= b.count ? a : b;
    }

    private void sweepBuckets(long nowNanos) {
        // A bucket that has refilled completely carries no information.
        buckets.values().removeIf(b -> b.refilled(nowNanos, ratePerSecond, burst));
    }

    private void sweepFlaps(long nowNanos) {
        for (Iterator<Map.Entry<String, Flap>> it = flaps.entrySet().iterator(); it.hasNext(); ) {
            Flap f = it.next().getValue();
            if (f.banned ? f.bannedUntil - nowNanos <= 0 : nowNanos - f.windowStart > flapWindowNanos) {
                it.remove();
            }
        }
    }

    private static final class Bucket {
        private double tokens;
        private long last;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }

        synchronized boolean take(long now, double rate, double burst) {
            tokens = Math.min(burst, tokens + (now - last) / 1e9 * rate);
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            return false;
        }

        synchronized boolean refilled(long now, double rate, double burst) {
            return tokens + (now - last) / 1e9 * rate >= burst;
        }
    }

    /** A device's count while it is not connected, or its ban. Immutable. */
    private static final class Flap {
        final long windowStart;
        final int count;
        final long bannedUntil;
        final boolean banned;

        Flap(long windowStart, int count, long bannedUntil, boolean banned) {
            this.windowStart = windowStart;
            this.count = count;
            this.bannedUntil = bannedUntil;
            this.banned = banned;
        }
    }
}
