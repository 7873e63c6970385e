package io.tether.client;

import java.time.Duration;

/**
 * What the server granted when a session started (its WELCOME). Immutable.
 *
 * @param sessionId        the server's id of this session; a later HELLO offers it to resume
 * @param resumed          whether the server resumed the session offered, rather than starting
 *                         a new one
 * @param heartbeat        how often the client PINGs when it has nothing else to write;
 *                         {@link Duration#ZERO} = heartbeats off (TCP keepalive only)
 * @param timeout          how long the server waits for a frame before it ends the session
 *                         ({@code HEARTBEAT_TIMEOUT}), as WELCOME's {@code timeout_ms} said; not used
 *                         by the client when heartbeats are off
 * @param quiet            whether the server answers PINGs (false) or not (true: dead-server
 *                         detection then rests on the TCP user timeout, see {@link TetherClient})
 * @param lastSeq          the highest sequence number of this device the server had stored; 0 = none
 * @param maxPayloadLength the largest payload {@link TetherClient#send} accepts in this session,
 *                         in bytes
 */
public record SessionInfo(long sessionId, boolean resumed, Duration heartbeat, Duration timeout, boolean quiet,
                          long lastSeq, int maxPayloadLength) {
}
