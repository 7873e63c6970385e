package io.tether.server;

import io.tether.protocol.Protocol;

import java.util.Objects;

/**
 * Per-connection size limits: the largest frame accepted and the bytes queued to one device
 * before it is closed as a slow consumer. Immutable; thread-safe.
 */
public final class Limits {
    /** Largest {@code max-frame} accepted: 16 MiB. */
    public static final int MAX_FRAME_CEILING = 16 * 1024 * 1024;
    /** Frame limit {@link Protocol#DEFAULT_MAX_FRAME_LENGTH}, write buffer 256 KiB. */
    public static final Limits DEFAULT = new Limits(Protocol.DEFAULT_MAX_FRAME_LENGTH, 256 * 1024);

    private final int maxFrameLength;
    private final int writeBufferLimit;

    private Limits(int maxFrameLength, int writeBufferLimit) {
        this.maxFrameLength = maxFrameLength;
        this.writeBufferLimit = writeBufferLimit;
    }

    /**
     * Largest frame length field accepted, in bytes.
     *
     * @throws IllegalArgumentException unless {@link Protocol#MIN_MAX_FRAME_LENGTH} to 16 MiB
     */
    public Limits withMaxFrameLength(int bytes) {
        if (bytes < Protocol.MIN_MAX_FRAME_LENGTH || bytes > MAX_FRAME_CEILING) {
            throw new IllegalArgumentException("max-frame " + bytes + " (expected: " + Protocol.MIN_MAX_FRAME_LENGTH
                    + " to " + MAX_FRAME_CEILING + " bytes)");
        }
        return new Limits(bytes, writeBufferLimit);
    }

    /**
     * Bytes queued to one device beyond which it is closed as SLOW_CONSUMER.
     *
     * @throws IllegalArgumentException if below 1024
     */
    public Limits withWriteBufferLimit(int bytes) {
        return new Limits(maxFrameLength, Checks.atLeast("write-buffer-limit", bytes, 1024));
    }

    public int maxFrameLength() {
        return maxFrameLength;
    }

    public int writeBufferLimit() {
        return writeBufferLimit;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Limits l && maxFrameLength == l.maxFrameLength && writeBufferLimit == l.writeBufferLimit;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxFrameLength, writeBufferLimit);
    }

    @Override
    public String toString() {
        return "max-frame " + maxFrameLength + ", write-buffer-limit " + writeBufferLimit;
    }
}
