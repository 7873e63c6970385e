package io.tether.transport;

import java.time.Duration;
import java.util.Objects;

/**
 * TCP keepalive of one socket: SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
 * The one validator of these values for the gateway, the device SDK and the command line, so
 * none of them accepts a value the kernel refuses (Linux: idle and interval 1 to 32,767 s, in
 * whole seconds; count 1 to 127 — {@code net/ipv4/tcp.c}, {@code MAX_TCP_KEEPIDLE},
 * {@code MAX_TCP_KEEPINTVL}, {@code MAX_TCP_KEEPCNT}). Immutable.
 *
 * @param idle     silence before the first probe (TCP_KEEPIDLE)
 * @param interval time between unanswered probes (TCP_KEEPINTVL)
 * @param count    unanswered probes before the kernel gives up (TCP_KEEPCNT)
 */
public record KeepAlive(Duration idle, Duration interval, int count) {
    /** Largest TCP_KEEPIDLE and TCP_KEEPINTVL the Linux kernel accepts, in seconds. */
    public static final int MAX_SECONDS = 32_767;
    /** Largest TCP_KEEPCNT the Linux kernel accepts. */
    public static final int MAX_COUNT = 127;

    /** Keepalive off: SO_KEEPALIVE is not set. */
    public static final KeepAlive OFF = new KeepAlive(Duration.ZERO, Duration.ZERO, 0);

    /** The default of both the gateway and the SDK: 60 s idle, 20 s between probes, 3 probes. */
    public static final KeepAlive DEFAULT = of(Duration.ofSeconds(60), Duration.ofSeconds(20), 3);

    /** Use {@link #of} or {@link #OFF}; this constructor only checks the shape of "off". */
    public KeepAlive {
        Objects.requireNonNull(idle, "idle");
        Objects.requireNonNull(interval, "interval");
    }

    /**
     * Keepalive on, validated against the kernel's limits.
     *
     * @throws IllegalArgumentException naming the value, the limit and why, e.g.
     *         {@code keepalive idle 10h: the kernel accepts 1s to 32767s (9h6m7s) for TCP_KEEPIDLE}
     */
    public static KeepAlive of(Duration idle, Duration interval, int count) {
        checkSeconds("idle", "TCP_KEEPIDLE", idle);
        checkSeconds("interval", "TCP_KEEPINTVL", interval);
        if (count < 1 || count > MAX_COUNT) {
            throw new IllegalArgumentException("keepalive count " + count + ": the kernel accepts 1 to "
                    + MAX_COUNT + " for TCP_KEEPCNT");
        }
        return new KeepAlive(idle, interval, count);
    }

    private static void checkSeconds(String what, String option, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofSeconds(MAX_SECONDS)) > 0) {
            throw new IllegalArgumentException("keepalive " + what + " " + format(d) + ": the kernel accepts 1s to "
                    + MAX_SECONDS + "s (9h6m7s) for " + option);
        }
        if (d.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("keepalive " + what + " " + format(d) + ": " + option
                    + " counts whole seconds (expected e.g. " + Math.max(1, d.toSeconds()) + "s)");
        }
    }

    /** Whether SO_KEEPALIVE is set. */
    public boolean enabled() {
        return count > 0;
    }

    /** TCP_KEEPIDLE in whole seconds. */
    public int idleSeconds() {
        return (int) idle.toSeconds();
    }

    /** TCP_KEEPINTVL in whole seconds. */
    public int intervalSeconds() {
        return (int) interval.toSeconds();
    }

    /**
     * How long a dead peer with nothing queued takes to be detected by keepalive alone:
     * idle + interval x count. Zero when off.
     */
    public Duration detectionBound() {
        return enabled() ? idle.plus(interval.multipliedBy(count)) : Duration.ZERO;
    }

    /** {@code 60s,20s,3} or {@code off}: the form the command line and the config file take. */
    @Override
    public String toString() {
        return enabled() ? format(idle) + "," + format(interval) + "," + count : "off";
    }

    /** A duration the way users write them: {@code 90s} as {@code 1m30s}, {@code 10h}, {@code 500ms}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0";
        }
        StringBuilder b = new StringBuilder();
        if (d.isNegative()) {
            b.append('-');
            d = d.negated();
        }
        long h = d.toHours(), m = d.toMinutesPart(), s = d.toSecondsPart(), ms = d.toMillisPart();
        if (h > 0) b.append(h).append('h');
        if (m > 0) b.append(m).append('m');
        if (s > 0) b.append(s).append('s');
        if (ms > 0) b.append(ms).append("ms");
        return b.length() == 0 || b.toString().equals("-") ? d.toNanos() + "ns" : b.toString();
    }
}
