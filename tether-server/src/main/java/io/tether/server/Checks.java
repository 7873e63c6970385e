package io.tether.server;

import io.tether.transport.KeepAlive;

import java.time.Duration;

/** Argument checks whose messages name the user's key, the value and the expectation. */
final class Checks {
    private Checks() {
    }

    static Duration positive(String key, Duration d) {
        if (d == null) {
            throw new NullPointerException(key);
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + " " + KeepAlive.format(d) + " (expected: > 0, e.g. 10s)");
        }
        return d;
    }

    static Duration nonNegative(String key, Duration d) {
        if (d == null) {
            throw new NullPointerException(key);
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException(key + " " + KeepAlive.format(d) + " (expected: >= 0)");
        }
        return d;
    }

    static int atLeast(String key, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(key + " " + value + " (expected: >= " + min + ")");
        }
        return value;
    }
}
