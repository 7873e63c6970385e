package io.tether.server;

import io.tether.transport.KeepAlive;

import java.time.Duration;
import java.util.Objects;

/**
 * What one device's session may cost the gateway: uplink messages and bytes per second, and how
 * long its outbound side may stay stalled. Immutable; thread-safe.
 *
 * <ul>
 * <li>Rates are token buckets per session holding one second's worth (a device may send up to a
 *     second of traffic at once, then its rate). Over the limit the gateway stops reading that
 *     device's socket until the bucket has refilled: the device is slowed down by TCP itself, and
 *     nothing it sent is lost. This also bounds how fast one device can fill the store.</li>
 * <li>Write stall: a device that sends but never reads fills the kernel's buffers with ACKs
 *     long before the write-buffer limit notices. A session whose outbound data has not moved
 *     for the write-stall timeout while more is waiting is closed as SLOW_CONSUMER.</li>
 * </ul>
 * The defaults never bother a fleet device (benchmarks send ~230 messages/s per device) and
 * bound an abusive one.
 */
public final class DeviceLimits {
    /** 1,000 messages/s, 1 MiB/s, write stall 30 s. */
    public static final DeviceLimits DEFAULT = new DeviceLimits(1_000, 1024 * 1024, Duration.ofSeconds(30));
    /** No rate limit and no write-stall close. */
    public static final DeviceLimits OFF = new DeviceLimits(0, 0, Duration.ZERO);

    private final int messageRate;
    private final long byteRate;
    private final Duration writeStallTimeout;

    private DeviceLimits(int messageRate, long byteRate, Duration writeStallTimeout) {
        this.messageRate = messageRate;
        this.byteRate = byteRate;
        this.writeStallTimeout = writeStallTimeout;
    }

    /**
     * Uplink DATA messages per second per session; 0 = no limit.
     *
     * @throws IllegalArgumentException if negative
     */
    public DeviceLimits withMessageRate(int perSecond) {
        return new DeviceLimits(Checks.atLeast("device-message-rate", perSecond, 0), byteRate, writeStallTimeout);
    }

    /**
     * Uplink payload bytes per second per session; 0 = no limit. A message larger than a second's
     * worth is still accepted, and the device then waits for the bucket to refill.
     *
     * @throws IllegalArgumentException if negative
     */
    public DeviceLimits withByteRate(long perSecond) {
        if (perSecond < 0) {
            throw new IllegalArgumentException("device-byte-rate " + perSecond + " (expected: >= 0 bytes/s, 0 = no limit)");
        }
        return new DeviceLimits(messageRate, perSecond, writeStallTimeout);
    }

    /**
     * How long a session's outbound data may stay without moving while more is queued before it
     * is closed as SLOW_CONSUMER; {@link Duration#ZERO} = never.
     *
     * @throws IllegalArgumentException if negative
     */
    public DeviceLimits withWriteStallTimeout(Duration timeout) {
        return new DeviceLimits(messageRate, byteRate, Checks.nonNegative("write-stall-timeout", timeout));
    }

    /** Uplink messages per second per session; 0 = no limit. */
    public int messageRate() {
        return messageRate;
    }

    /** Uplink payload bytes per second per session; 0 = no limit. */
    public long byteRate() {
        return byteRate;
    }

    /** Outbound stall bound; zero = none. */
    public Duration writeStallTimeout() {
        return writeStallTimeout;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceLimits d && messageRate == d.messageRate && byteRate == d.byteRate
                && writeStallTimeout.equals(d.writeStallTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(messageRate, byteRate, writeStallTimeout);
    }

    @Override
    public String toString() {
        return "device-message-rate " + (messageRate == 0 ? "off" : messageRate + "/s") + ", device-byte-rate "
                + (byteRate == 0 ? "off" : byteRate + " B/s") + ", write-stall-timeout "
                + (writeStallTimeout.isZero() ? "off" : KeepAlive.format(writeStallTimeout));
    }
}
