package io.tether.server;

import java.util.Objects;

/**
 * Admission control at accept: a cap on open connections (beyond it, BYE SERVER_BUSY) and a
 * per-source-address connect rate (a token bucket). Immutable; thread-safe.
 */
public final class Admission {
    /**
     * No cap, no rate limit (burst 100 once a rate is set). Mobile devices often share one address
     * behind carrier-grade NAT, so a per-address limit is opt-in.
     */
    public static final Admission DEFAULT = new Admission(0, 0, 100);

    private final int maxConnections;
    private final double connectRate;
    private final int connectBurst;

    private Admission(int maxConnections, double connectRate, int connectBurst) {
        this.maxConnections = maxConnections;
        this.connectRate = connectRate;
        this.connectBurst = connectBurst;
    }

    /**
     * Open connections beyond which new ones get BYE SERVER_BUSY; 0 = no cap.
     *
     * @throws IllegalArgumentException if negative
     */
    public Admission withMaxConnections(int maxConnections) {
        return new Admission(Checks.atLeast("max-connections", maxConnections, 0), connectRate, connectBurst);
    }

    /**
     * New connections per second per source address, with a burst (the bucket's size); a rate of
     * 0 turns the limit off.
     *
     * @throws IllegalArgumentException if the rate is negative or not a number, or the burst < 1
     */
    public Admission withConnectRate(double perSecond, int burst) {
        if (!(perSecond >= 0) || Double.isInfinite(perSecond) || burst < 1) {
            throw new IllegalArgumentException("connect-rate " + perSecond + "," + burst
                    + " (expected: PER_SEC >= 0 and BURST >= 1, e.g. 50,100)");
        }
        return new Admission(maxConnections, perSecond, burst);
    }

    /** Open connections beyond which new ones are refused; 0 = no cap. */
    public int maxConnections() {
        return maxConnections;
    }

    /** New connections per second per source address; 0 = no limit. */
    public double connectRate() {
        return connectRate;
    }

    /** Token-bucket size of the connect rate. */
    public int connectBurst() {
        return connectBurst;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Admission a && maxConnections == a.maxConnections
                && Double.compare(connectRate, a.connectRate) == 0 && connectBurst == a.connectBurst;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxConnections, connectRate, connectBurst);
    }

    @Override
    public String toString() {
        return "max-connections " + (maxConnections == 0 ? "unlimited" : maxConnections) + ", connect-rate "
                + (connectRate == 0 ? "off" : connectRate + "/s burst " + connectBurst);
    }
}
