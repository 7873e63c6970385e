package io.tether.server;

/**
 * One stored uplink message.
 *
 * @param receivedAtMillis wall-clock receive time, epoch milliseconds
 */
public record StoredMessage(String deviceId, long seq, long receivedAtMillis, byte[] payload) {
}
