package io.tether.server;

import java.util.Objects;

/**
 * Admission control at accept: a cap on open connections (beyond it, BYE SERVER_BUSY), a
 * per-source-address connect rate (a token bucket), and file descriptors kept in reserve.
 * Immutable; thread-safe.
 *
 * <p>Every connection is a file descriptor, and so are the store's files, the admin endpoint's
 * connections and the JVM's own. A gateway that lets devices take the last descriptor breaks the
 * store (RocksDB cannot open its next log file: "Too many open files"). So the connections a
 * server admits are capped at {@link #connectionCap(long) the open-files limit minus the reserve},
 * whatever {@code max-connections} says; beyond it devices get BYE SERVER_BUSY with a reconnect
 * hint, as beyond {@code max-connections}.
 */
public final class Admission {
    /**
     * What the default descriptor reserve of 256 is made of: ~100 the JVM holds (jars, epoll and
     * event fds, logs), up to 32 admin connections, up to 64 refused connections being told
     * SERVER_BUSY at once, and ~60 for the store (RocksDB's log, manifest and table files).
     */
    public static final int DEFAULT_DESCRIPTOR_RESERVE = 256;

    /**
     * No cap, no rate limit (burst 100 once a rate is set). Mobile devices often share one address
     * behind carrier-grade NAT, so a per-address limit is opt-in.
     */
    public static final Admission DEFAULT = new Admission(0, 0, 100, DEFAULT_DESCRIPTOR_RESERVE);

    private final int maxConnections;
    private final double connectRate;
    private final int connectBurst;
    private final int descriptorReserve;

    private Admission(int maxConnections, double connectRate, int connectBurst, int descriptorReserve) {
        this.maxConnections = maxConnections;
        this.connectRate = connectRate;
        this.connectBurst = connectBurst;
        this.descriptorReserve = descriptorReserve;
    }

    /**
     * Open connections beyond which new ones get BYE SERVER_BUSY; 0 = no cap.
     *
     * @throws IllegalArgumentException if negative
     */
    public Admission withMaxConnections(int maxConnections) {
        return new Admission(Checks.atLeast("max-connections", maxConnections, 0), connectRate, connectBurst,
                descriptorReserve);
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
        return new Admission(maxConnections, perSecond, burst, descriptorReserve);
    }

    /**
     * File descriptors never given to device connections: kept for the store, the admin endpoint
     * and the JVM. Default {@link #DEFAULT_DESCRIPTOR_RESERVE}.
     *
     * @throws IllegalArgumentException if negative
     */
    public Admission withDescriptorReserve(int descriptors) {
        return new Admission(maxConnections, connectRate, connectBurst,
                Checks.atLeast("descriptor-reserve", descriptors, 0));
    }

    /** Descriptors kept from device connections. */
    public int descriptorReserve() {
        return descriptorReserve;
    }

    /**
     * The connections a process with this open-files limit admits at once: the smaller of
     * {@link #maxConnections()} (when set) and {@code openFilesLimit - descriptorReserve()}.
     *
     * @param openFilesLimit the process's RLIMIT_NOFILE (soft); {@link Long#MAX_VALUE} if unlimited
     * @return the cap, 0 or less if the limit leaves nothing beyond the reserve;
     *         {@link Long#MAX_VALUE} if neither bounds it
     */
    public long connectionCap(long openFilesLimit) {
        long byDescriptors = openFilesLimit == Long.MAX_VALUE ? Long.MAX_VALUE : openFilesLimit - descriptorReserve;
        return maxConnections == 0 ? byDescriptors : Math.min(maxConnections, byDescriptors);
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
                && Double.compare(connectRate, a.connectRate) == 0 && connectBurst == a.connectBurst
                && descriptorReserve == a.descriptorReserve;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxConnections, connectRate, connectBurst, descriptorReserve);
    }

    @Override
    public String toString() {
        return "max-connections " + (maxConnections == 0 ? "unlimited" : maxConnections) + ", connect-rate "
                + (connectRate == 0 ? "off" : connectRate + "/s burst " + connectBurst)
                + ", descriptor-reserve " + descriptorReserve;
    }
}
