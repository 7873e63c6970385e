package io.tether.server;

/**
 * The HTTP API's rate limit per key ({@link TetherServer.Builder#apiRate(ApiRate)}): a token
 * bucket that refills at {@code perSecond} and holds at most {@code burst} requests. A request
 * beyond it is answered 429 (problem type {@code rate-limited}) with {@code Retry-After}, and costs
 * the gateway almost nothing. Immutable.
 *
 * @param perSecond requests per second, sustained; 0 turns the limit off
 * @param burst     requests a key may send at once after a quiet spell; at least 1 when on
 */
public record ApiRate(double perSecond, int burst) {
    /** 1,000 requests per second per key, bursts of 2,000. */
    public static final ApiRate DEFAULT = new ApiRate(1_000, 2_000);
    /** No limit. */
    public static final ApiRate OFF = new ApiRate(0, 0);

    /**
     * @throws IllegalArgumentException if {@code perSecond} is negative, NaN or above 1,000,000,
     *                                  or {@code burst} is below 1 while the rate is on
     */
    public ApiRate {
        if (!(perSecond >= 0 && perSecond <= 1_000_000)) {
            throw new IllegalArgumentException("api-rate " + perSecond + " (expected: 0 to 1000000 requests per second; 0 = off)");
        }
        if (perSecond > 0 && (burst < 1 || burst > 10_000_000)) {
            throw new IllegalArgumentException("api-rate burst " + burst + " (expected: 1 to 10000000)");
        }
    }

    /** Whether requests are limited at all. */
    public boolean enabled() {
        return perSecond > 0;
    }

    /** {@code 1000,2000}, or {@code 0} when off: the form {@code --api-rate} takes. */
    @Override
    public String toString() {
        if (!enabled()) {
            return "0";
        }
        String rate = perSecond == Math.rint(perSecond) ? Long.toString((long) perSecond) : Double.toString(perSecond);
        return rate + "," + burst;
    }
}
