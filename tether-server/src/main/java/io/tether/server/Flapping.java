package io.tether.server;

import io.tether.transport.KeepAlive;

import java.time.Duration;
import java.util.Objects;

/**
 * Flapping detection: a device that connects more than {@link #maxConnects()} times within
 * {@link #window()} is refused (BYE FLAPPING) for {@link #ban()}. Immutable; thread-safe.
 */
public final class Flapping {
    /** More than 15 connects in 1 min ban the device for 5 min (as EMQX). */
    public static final Flapping DEFAULT = new Flapping(15, Duration.ofMinutes(1), Duration.ofMinutes(5));
    /** No flapping detection. */
    public static final Flapping OFF = DEFAULT.withMaxConnects(0);

    private final int maxConnects;
    private final Duration window;
    private final Duration ban;

    private Flapping(int maxConnects, Duration window, Duration ban) {
        this.maxConnects = maxConnects;
        this.window = window;
        this.ban = ban;
    }

    /**
     * Connects allowed within the window; 0 turns detection off.
     *
     * @throws IllegalArgumentException if negative
     */
    public Flapping withMaxConnects(int maxConnects) {
        return new Flapping(Checks.atLeast("flapping N", maxConnects, 0), window, ban);
    }

    /** @throws IllegalArgumentException if not positive */
    public Flapping withWindow(Duration window) {
        return new Flapping(maxConnects, Checks.positive("flapping WINDOW", window), ban);
    }

    /** @throws IllegalArgumentException if not positive */
    public Flapping withBan(Duration ban) {
        return new Flapping(maxConnects, window, Checks.positive("flapping BAN", ban));
    }

    public int maxConnects() {
        return maxConnects;
    }

    public Duration window() {
        return window;
    }

    public Duration ban() {
        return ban;
    }

    public boolean enabled() {
        return maxConnects > 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Flapping f && maxConnects == f.maxConnects && window.equals(f.window) && ban.equals(f.ban);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxConnects, window, ban);
    }

    /** {@code 15,1m,5m} or {@code off}: the form of {@code --flapping}. */
    @Override
    public String toString() {
        return enabled() ? maxConnects + "," + KeepAlive.format(window) + "," + KeepAlive.format(ban) : "off";
    }
}
