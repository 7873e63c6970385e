package io.tether.server;

import java.time.Duration;
import java.util.Objects;

/**
 * How the embedded store keeps the application feed (messages, session events and command
 * changes in one ordered log with stable offsets; docs/OPERATIONS.md, "The application feed").
 *
 * @param enabled             keep the feed at all ({@code --feed}; default on)
 * @param forwarding          a forwarder (Kafka) consumes it and moves its position ({@code --kafka});
 *                            without one every entry counts as forwarded
 * @param ackAfterForward     acknowledge a device's message only once forwarded ({@code --ack-after kafka})
 * @param retention           delete forwarded entries and their messages older than this; zero: keep
 * @param maxUnforwardedBytes refuse messages while this many bytes are not yet forwarded; 0: no bound
 */
public record FeedOptions(boolean enabled, boolean forwarding, boolean ackAfterForward, Duration retention,
                          long maxUnforwardedBytes) {
    /** The feed on, nothing forwarding it, nothing deleted. */
    public static final FeedOptions DEFAULT = new FeedOptions(true, false, false, Duration.ZERO, 0);

    /**
     * @throws IllegalArgumentException for a negative retention or byte bound, or forwarding
     *     settings without the feed or without a forwarder (the message names them)
     */
    public FeedOptions {
        Objects.requireNonNull(retention, "retention");
        if (retention.isNegative()) {
            throw new IllegalArgumentException("retention: " + retention + " (expected: >= 0)");
        }
        if (maxUnforwardedBytes < 0) {
            throw new IllegalArgumentException("maxUnforwardedBytes: " + maxUnforwardedBytes + " (expected: >= 0)");
        }
        if ((forwarding || ackAfterForward || maxUnforwardedBytes > 0) && !enabled) {
            throw new IllegalArgumentException("forwarding, ack after forward and max unforwarded bytes need the feed");
        }
        if ((ackAfterForward || maxUnforwardedBytes > 0) && !forwarding) {
            throw new IllegalArgumentException("ack after forward and max unforwarded bytes need a forwarder (Kafka)");
        }
    }
}
