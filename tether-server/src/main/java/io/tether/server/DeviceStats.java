package io.tether.server;

/**
 * What a durable store holds for one device.
 *
 * @param deviceId the device id
 * @param messages number of stored messages; equals {@code lastSeq - firstSeq + 1} unless the device
 *     skipped seqs (a gap, PROTOCOL.md 6.5)
 * @param firstSeq lowest stored seq, 0 if none
 * @param lastSeq highest stored seq, 0 if none; the value sent as WELCOME.last_seq
 */
public record DeviceStats(String deviceId, long messages, long firstSeq, long lastSeq) {
}
