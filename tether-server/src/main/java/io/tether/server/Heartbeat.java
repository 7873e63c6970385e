package io.tether.server;

import io.tether.transport.KeepAlive;

import java.time.Duration;
import java.util.Objects;

/**
 * Application heartbeats: the interval granted to devices, the range a device's request is
 * clamped to, the tolerance before a silent session is declared dead, and quiet mode (the server
 * does not answer PING). Immutable; change one value with a {@code with…} method, which validates
 * it. Thread-safe.
 */
public final class Heartbeat {
    /** Interval 30 s, range 1 s to 30 min, multiplier 1.5 (as MQTT), PINGs answered. */
    public static final Heartbeat DEFAULT = new Heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(1),
            Duration.ofMinutes(30), 1.5, false);

    private final Duration interval;
    private final Duration min;
    private final Duration max;
    private final double multiplier;
    private final boolean quiet;

    private Heartbeat(Duration interval, Duration min, Duration max, double multiplier, boolean quiet) {
        this.interval = interval;
        this.min = min;
        this.max = max;
        this.multiplier = multiplier;
        this.quiet = quiet;
    }

    /**
     * Interval granted to a device that asks for 0; {@link Duration#ZERO} turns application
     * heartbeats off (kernel keepalive alone then guards connections).
     *
     * @throws IllegalArgumentException if negative
     */
    public Heartbeat withInterval(Duration interval) {
        return new Heartbeat(Checks.nonNegative("heartbeat", interval), min, max, multiplier, quiet);
    }

    /**
     * The range a device's requested interval is clamped to.
     *
     * @throws IllegalArgumentException if either is not positive or {@code min > max}
     */
    public Heartbeat withRange(Duration min, Duration max) {
        Checks.positive("min-heartbeat", min);
        Checks.positive("max-heartbeat", max);
        if (min.compareTo(max) > 0) {
            throw new IllegalArgumentException("min-heartbeat " + KeepAlive.format(min) + " and max-heartbeat "
                    + KeepAlive.format(max) + " (expected: min-heartbeat <= max-heartbeat)");
        }
        return new Heartbeat(interval, min, max, multiplier, quiet);
    }

    /**
     * Tolerance: a session dies after interval x multiplier of silence.
     *
     * @throws IllegalArgumentException unless 1.0 to 100
     */
    public Heartbeat withMultiplier(double multiplier) {
        if (!(multiplier >= 1.0) || multiplier > 100) {
            throw new IllegalArgumentException("heartbeat-multiplier " + multiplier + " (expected: 1.0 to 100)");
        }
        return new Heartbeat(interval, min, max, multiplier, quiet);
    }

    /** Quiet mode: the server does not answer PING; devices detect a dead server on their own. */
    public Heartbeat withQuiet(boolean quiet) {
        return new Heartbeat(interval, min, max, multiplier, quiet);
    }

    /** Interval granted to devices that ask for 0; zero when heartbeats are off. */
    public Duration interval() {
        return interval;
    }

    /** Smallest interval a device may ask for. */
    public Duration min() {
        return min;
    }

    /** Largest interval a device may ask for. */
    public Duration max() {
        return max;
    }

    /** Silence of interval x multiplier kills a session. */
    public double multiplier() {
        return multiplier;
    }

    /** Whether the server leaves PINGs unanswered. */
    public boolean quiet() {
        return quiet;
    }

    /** Whether application heartbeats are on. */
    public boolean enabled() {
        return !interval.isZero();
    }

    /**
     * The interval granted to a device that asked for {@code requestedMillis} (0 = the default),
     * clamped to the range, in milliseconds; 0 when heartbeats are off.
     */
    public int grantMillis(int requestedMillis) {
        if (!enabled()) {
            return 0;
        }
        long granted = requestedMillis == 0 ? interval.toMillis() : requestedMillis;
        return (int) Math.max(min.toMillis(), Math.min(max.toMillis(), granted));
    }

    /** Silence after which a session with this interval (ms) is dead: interval x multiplier, rounded, in ms. */
    public int timeoutMillis(int heartbeatMillis) {
        return (int) Math.min(Integer.MAX_VALUE, Math.round(heartbeatMillis * multiplier));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Heartbeat h && interval.equals(h.interval) && min.equals(h.min) && max.equals(h.max)
                && Double.compare(multiplier, h.multiplier) == 0 && quiet == h.quiet;
    }

    @Override
    public int hashCode() {
        return Objects.hash(interval, min, max, multiplier, quiet);
    }

    @Override
    public String toString() {
        return "heartbeat " + KeepAlive.format(interval) + " (" + KeepAlive.format(min) + " to "
                + KeepAlive.format(max) + ") x " + multiplier + (quiet ? ", quiet" : "");
    }
}
