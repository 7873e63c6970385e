package io.tether.server;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds of the command ledger.
 *
 * @param maxOpenPerDevice commands per device that may be QUEUED or SENT at once; one more is refused (QUEUE_FULL)
 * @param defaultTtl       TTL of a command whose request names none
 * @param maxTtl           largest TTL a request may ask for
 * @param maxInFlight      commands written to a device's connection and not yet acknowledged, at most
 */
public record CommandLimits(int maxOpenPerDevice, Duration defaultTtl, Duration maxTtl, int maxInFlight) {
    public static final CommandLimits DEFAULTS = new CommandLimits(1_000, Duration.ofHours(1), Duration.ofDays(7), 32);

    public CommandLimits {
        Objects.requireNonNull(defaultTtl, "defaultTtl");
        Objects.requireNonNull(maxTtl, "maxTtl");
        if (maxOpenPerDevice < 1 || maxOpenPerDevice > 100_000) {
            throw new IllegalArgumentException("max-commands-per-device " + maxOpenPerDevice + " (expected: 1 to 100000)");
        }
        if (maxTtl.compareTo(Duration.ofSeconds(1)) < 0 || maxTtl.compareTo(Duration.ofDays(365)) > 0) {
            throw new IllegalArgumentException("max-command-ttl " + maxTtl + " (expected: 1s to 365d)");
        }
        if (defaultTtl.compareTo(Duration.ofSeconds(1)) < 0 || defaultTtl.compareTo(maxTtl) > 0) {
            throw new IllegalArgumentException("command-ttl " + defaultTtl + " (expected: 1s to max-command-ttl " + maxTtl + ")");
        }
        if (maxInFlight < 1 || maxInFlight > 1_000) {
            throw new IllegalArgumentException("max-commands-in-flight " + maxInFlight + " (expected: 1 to 1000)");
        }
    }
}
