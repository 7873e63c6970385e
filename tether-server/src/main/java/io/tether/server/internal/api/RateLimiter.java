package io.tether.server.internal.api;

import io.tether.server.ApiRate;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * One token bucket per API key name. Keys come from the keys file, so the map is bounded by it
 * (plus the one anonymous bucket without authentication). Time comes from an injected ticker
 * (nanoseconds), so tests can drive it. Thread-safe: a key's requests may arrive on several
 * event loops; each bucket is locked only for its arithmetic.
 */
final class RateLimiter {
    private final ApiRate rate;
    private final LongSupplier nanoTime;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    RateLimiter(ApiRate rate, LongSupplier nanoTime) {
        this.rate = rate;
        this.nanoTime = nanoTime;
    }

    /**
     * Takes one request from {@code key}'s bucket.
     *
     * @return 0 if the request may go on, else the nanoseconds until the bucket holds one again
     */
    long acquire(String key) {
        if (!rate.enabled()) {
            return 0;
        }
        return buckets.computeIfAbsent(key, k -> new Bucket(rate.burst(), nanoTime.getAsLong()))
                .take(nanoTime.getAsLong(), rate.perSecond(), rate.burst());
    }

    private static final class Bucket {
        private double tokens;
        private long last;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }

        synchronized long take(long now, double perSecond, int burst) {
            long elapsed = now - last;
            if (elapsed > 0) {
                tokens = Math.min(burst, tokens + elapsed * perSecond / 1e9);
                last = now;
            }
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - tokens) / perSecond * 1e9));
        }
    }
}
