package io.tether.server.admission;

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
    private final int maxConnections;
    private final double ratePerSecond;
    private final double burst;
    private final int flapMaxConnects;
    private final long flapWindowNanos;
    private final long flapBanNanos;

    private final AtomicInteger open = new AtomicInteger();
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
        this.maxConnections = maxConnections;
        this.ratePerSecond = ratePerSecond;
        this.burst = Math.max(1, burst);
        this.flapMaxConnects = flapMaxConnects;
        this.flapWindowNanos = unit.toNanos(flapWindow);
        this.flapBanNanos = unit.toNanos(flapBan);
    }

    /** Why a connection was refused at the door. */
    public enum Refusal { NONE, MAX_CONNECTIONS, RATE_LIMITED }

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
        if (maxConnections > 0) {
            if (open.incrementAndGet() > maxConnections) {
                open.decrementAndGet();
                return Refusal.MAX_CONNECTIONS;
            }
        } else {
            open.incrementAndGet();
        }
        return Refusal.NONE;
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
     * Called when a device has authenticated. Counts the connect and decides.
     *
     * @return 0 if the device may proceed, else the nanoseconds left of its ban (it is flapping)
     */
    public long deviceConnect(String deviceId, long nowNanos) {
        if (flapMaxConnects <= 0) {
            return 0;
        }
        long[] banLeft = new long[1];
        flaps.compute(deviceId, (id, f) -> {
            if (f == null) {
                f = new Flap(nowNanos);
            }
            if (f.bannedUntil - nowNanos > 0) {
                banLeft[0] = f.bannedUntil - nowNanos;
                return f;
            }
            if (nowNanos - f.windowStart > flapWindowNanos) {
                f.windowStart = nowNanos;
                f.count = 0;
            }
            f.count++;
            if (f.count > flapMaxConnects) {
                f.bannedUntil = nowNanos + flapBanNanos;
                f.count = 0;
                f.windowStart = f.bannedUntil;
                banLeft[0] = flapBanNanos;
            }
            return f;
        });
        if (flaps.size() > 100_000) {
            sweepFlaps(nowNanos);
        }
        return banLeft[0];
    }

    private void sweepBuckets(long nowNanos) {
        // A bucket that has refilled completely carries no information.
        buckets.values().removeIf(b -> b.refilled(nowNanos, ratePerSecond, burst));
    }

    private void sweepFlaps(long nowNanos) {
        for (Iterator<Map.Entry<String, Flap>> it = flaps.entrySet().iterator(); it.hasNext(); ) {
            Flap f = it.next().getValue();
            if (f.bannedUntil - nowNanos <= 0 && nowNanos - f.windowStart > flapWindowNanos) {
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

    private static final class Flap {
        long windowStart;
        int count;
        long bannedUntil;

        Flap(long now) {
            this.windowStart = now;
            this.bannedUntil = now;
        }
    }
}
