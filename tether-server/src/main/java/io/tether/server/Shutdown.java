package io.tether.server;

import io.tether.transport.KeepAlive;

import java.time.Duration;
import java.util.Objects;

/**
 * Graceful shutdown: the bound on {@link TetherServer#close()}, and the spread of the reconnect
 * hint carried by BYE SERVER_SHUTDOWN (drawn uniformly from [1 s, 1 s + spread] so devices do not
 * all return at once). Immutable; thread-safe.
 */
public final class Shutdown {
    /** Timeout 10 s, reconnect spread 30 s. */
    public static final Shutdown DEFAULT = new Shutdown(Duration.ofSeconds(10), Duration.ofSeconds(30));

    private final Duration timeout;
    private final Duration reconnectSpread;

    private Shutdown(Duration timeout, Duration reconnectSpread) {
        this.timeout = timeout;
        this.reconnectSpread = reconnectSpread;
    }

    /** @throws IllegalArgumentException if negative */
    public Shutdown withTimeout(Duration timeout) {
        return new Shutdown(Checks.nonNegative("shutdown-timeout", timeout), reconnectSpread);
    }

    /** @throws IllegalArgumentException if negative */
    public Shutdown withReconnectSpread(Duration spread) {
        return new Shutdown(timeout, Checks.nonNegative("shutdown-reconnect-spread", spread));
    }

    public Duration timeout() {
        return timeout;
    }

    public Duration reconnectSpread() {
        return reconnectSpread;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shutdown s && timeout.equals(s.timeout) && reconnectSpread.equals(s.reconnectSpread);
    }

    @Override
    public int hashCode() {
        return Objects.hash(timeout, reconnectSpread);
    }

    @Override
    public String toString() {
        return "shutdown-timeout " + KeepAlive.format(timeout) + ", reconnect spread " + KeepAlive.format(reconnectSpread);
    }
}
