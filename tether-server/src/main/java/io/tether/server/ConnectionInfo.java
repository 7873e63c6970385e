package io.tether.server;

import java.net.InetSocketAddress;

/**
 * One open connection as the server sees it, for audits against the kernel's socket table.
 *
 * @param remote    the peer's address
 * @param deviceId  the device, or {@code null} while the handshake is not complete
 * @param sessionId the session id, or 0 while the handshake is not complete
 * @param state     HANDSHAKE, OPEN or DRAINING
 */
public record ConnectionInfo(InetSocketAddress remote, String deviceId, long sessionId, String state) {
}
