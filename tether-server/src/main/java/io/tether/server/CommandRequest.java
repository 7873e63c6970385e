package io.tether.server;

import io.tether.protocol.Protocol;

import java.time.Duration;
import java.util.Objects;

/**
 * What a caller asks the ledger to send.
 *
 * @param deviceId       the device, checked like a HELLO's device id (1 to 128 printable ASCII characters)
 * @param payload        the bytes for the device; at most the server's maximum frame length − 10
 * @param ttl            how long it may wait for delivery; null for the ledger's default
 * @param idempotencyKey null, or 1 to 128 printable ASCII characters: a second request with the same key for the
 *                       same device returns the first command instead of queueing a copy
 */
public record CommandRequest(String deviceId, byte[] payload, Duration ttl, String idempotencyKey) {
    public CommandRequest {
        Protocol.checkDeviceId(deviceId);
        Objects.requireNonNull(payload, "payload");
        if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
        }
        if (idempotencyKey != null) {
            if (idempotencyKey.isEmpty() || idempotencyKey.length() > 128
                    || !idempotencyKey.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
                throw new IllegalArgumentException("idempotencyKey: expected 1 to 128 printable ASCII characters");
            }
        }
    }

    public static CommandRequest of(String deviceId, byte[] payload) {
        return new CommandRequest(deviceId, payload, null, null);
    }
}
