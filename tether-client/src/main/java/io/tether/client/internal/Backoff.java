package io.tether.client.internal;

import java.util.function.LongUnaryOperator;

/**
 * Reconnect delays: exponential backoff with full jitter. The delay before reconnect attempt
 * {@code a} (0 for the first attempt after a successful handshake) is drawn uniformly from
 * {@code [0, min(cap, base × 2^a))}; full jitter spreads a fleet that lost its server at the same
 * instant over the whole window instead of bringing it back in synchronized waves.
 *
 * <p>A server's reconnect hint (BYE {@code reconnect_after_ms}) is a floor: the delay is then at
 * least the hint plus a jitter in {@code [0, base)}, and still no less than the backoff draw, so a
 * device that keeps failing does not come back faster because the server named a short hint.
 *
 * <p>Pure function of its arguments and the random source; thread-safe if the source is.
 */
public final class Backoff {
    private final long baseMillis;
    private final long capMillis;
    private final LongUnaryOperator random;

    /**
     * @param baseMillis first ceiling, in milliseconds, {@code >= 1}
     * @param capMillis  largest ceiling, in milliseconds, {@code >= baseMillis}
     * @param random     given a bound {@code > 0}, returns a value in {@code [0, bound)}; values
     *                   outside are reduced modulo the bound
     */
    public Backoff(long baseMillis, long capMillis, LongUnaryOperator random) {
        if (baseMillis < 1 || capMillis < baseMillis) {
            throw new IllegalArgumentException("backoff: base " + baseMillis + " ms, cap " + capMillis
                    + " ms (expected: 1 <= base <= cap)");
        }
        if (random == null) {
            throw new NullPointerException("random");
        }
        this.baseMillis = baseMillis;
        this.capMillis = capMillis;
        this.random = random;
    }

    /** {@code min(cap, base × 2^attempt)}, without overflow. */
    public long ceilingMillis(int attempt) {
        if (attempt < 0) {
            throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 0)");
        }
        // base × 2^attempt > cap  ⟺  base > floor(cap / 2^attempt), which cannot overflow.
        if (attempt >= Long.SIZE - 1 || baseMillis > (capMillis >> attempt)) {
            return capMillis;
        }
        return baseMillis << attempt;
    }

    /**
     * The delay before reconnect attempt {@code attempt}.
     *
     * @param attempt    reconnect attempts since the last successful handshake, minus one
     *                   (0 for the first)
     * @param hintMillis the last BYE's {@code reconnect_after_ms}; 0 = no hint
     * @return milliseconds, {@code >= 0}
     */
    public long delayMillis(int attempt, long hintMillis) {
        long delay = draw(ceilingMillis(attempt));
        if (hintMillis > 0) {
            delay = Math.max(delay, hintMillis + draw(baseMillis));
        }
        return delay;
    }

    private long draw(long bound) {
        long v = random.applyAsLong(bound);
        return v >= 0 && v < bound ? v : Math.floorMod(v, bound);
    }
}
