package io.tether.server;

import java.util.Arrays;
import java.util.Objects;

/**
 * One command in the ledger, as it is now. Immutable: each state change is a new value.
 *
 * @param id                assigned by Tether: 26 characters of Crockford base32 (a ULID), sortable by creation time
 * @param deviceId          the device it is for
 * @param seq               its place in the device's command sequence, which persists across sessions and restarts
 * @param payload           the bytes sent to the device
 * @param idempotencyKey    the caller's key, or null: the same key for the same device gives the same command
 * @param state             where it is now
 * @param createdAtMillis   when it was accepted, epoch ms
 * @param expiresAtMillis   when it expires unless delivered by then, epoch ms
 * @param sentAtMillis      when it was last written to a connection, epoch ms; 0 if never
 * @param deliveredAtMillis when the device acknowledged it, epoch ms; 0 if not yet
 * @param finishedAtMillis  when it reached a final state, epoch ms; 0 if not yet
 * @param attempts          how many times it was written to a connection
 * @param result            the device's result bytes (SUCCEEDED or FAILED), else null
 * @param detail            why it is in its state, for people: "canceled through the API", "TTL of 1h passed", ...; may be empty
 */
public record Command(String id, String deviceId, long seq, byte[] payload, String idempotencyKey,
                      CommandState state, long createdAtMillis, long expiresAtMillis, long sentAtMillis,
                      long deliveredAtMillis, long finishedAtMillis, int attempts, byte[] result, String detail) {

    public Command {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(detail, "detail");
    }

    /** This command in another state. */
    public Command with(CommandState newState, long sentAt, long deliveredAt, long finishedAt, int newAttempts,
                        byte[] newResult, String newDetail) {
        return new Command(id, deviceId, seq, payload, idempotencyKey, newState, createdAtMillis, expiresAtMillis,
                sentAt, deliveredAt, finishedAt, newAttempts, newResult, newDetail);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Command c && c.id.equals(id) && c.deviceId.equals(deviceId) && c.seq == seq
                && Arrays.equals(c.payload, payload) && Objects.equals(c.idempotencyKey, idempotencyKey)
                && c.state == state && c.createdAtMillis == createdAtMillis && c.expiresAtMillis == expiresAtMillis
                && c.sentAtMillis == sentAtMillis && c.deliveredAtMillis == deliveredAtMillis
                && c.finishedAtMillis == finishedAtMillis && c.attempts == attempts
                && Arrays.equals(c.result, result) && c.detail.equals(detail);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, state, sentAtMillis, deliveredAtMillis, finishedAtMillis, attempts);
    }

    @Override
    public String toString() {
        return "Command[id=" + id + ", deviceId=" + deviceId + ", seq=" + seq + ", state=" + state
                + ", payload=<" + payload.length + " bytes>, attempts=" + attempts
                + (detail.isEmpty() ? "" : ", detail=" + detail) + "]";
    }
}
