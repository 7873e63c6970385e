package io.tether.server;

import io.tether.protocol.Protocol;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Immutable server configuration, built and validated by {@link TetherServer.Builder}. Defaults
 * live in {@link TetherServer.Builder} and nowhere else.
 *
 * @param bindAddress            address and port to listen on; port 0 picks a free port
 * @param handshakeTimeout       time from TCP accept to a complete HELLO
 * @param heartbeat              default heartbeat interval granted to devices that ask for 0;
 *                               {@link Duration#ZERO} turns application heartbeats off entirely
 * @param minHeartbeat           smallest interval a device may ask for (requests are clamped)
 * @param maxHeartbeat           largest interval a device may ask for (requests are clamped)
 * @param heartbeatMultiplier    tolerance: a session dies after interval x multiplier of silence
 * @param drain                  after a graceful close has half-closed the socket, how long the
 *                               server keeps reading before an abortive close
 * @param keepAliveIdle          TCP_KEEPIDLE; {@link Duration#ZERO} turns SO_KEEPALIVE off
 * @param keepAliveInterval      TCP_KEEPINTVL
 * @param keepAliveCount         TCP_KEEPCNT
 * @param userTimeout            TCP_USER_TIMEOUT; {@link Duration#ZERO} leaves the kernel default
 * @param backlog                listen backlog (SO_BACKLOG)
 * @param tcpNoDelay             TCP_NODELAY on device sockets
 * @param quiet                  the server does not answer PING
 * @param maxFrameLength         largest accepted frame length field, in bytes
 * @param writeBufferLimit       bytes queued to one device beyond which it is a slow consumer
 * @param workerThreads          event loop threads for connections; 0 = number of cores
 * @param shutdownTimeout        bound on a graceful shutdown
 * @param shutdownReconnectSpread BYE SERVER_SHUTDOWN carries a reconnect hint drawn uniformly
 *                               from [1 s, 1 s + spread] so devices do not all return at once
 * @param maxConnections         open connections beyond which new ones get BYE SERVER_BUSY; 0 = no cap
 * @param connectRate            new connections per second per source address; 0 = no limit
 * @param connectBurst           token-bucket size of that limit
 * @param flapMaxConnects        connects of one device within {@code flapWindow} before it is
 *                               banned for {@code flapBan}; 0 = no flapping detection
 */
public record ServerConfig(
        InetSocketAddress bindAddress,
        Duration handshakeTimeout,
        Duration heartbeat,
        Duration minHeartbeat,
        Duration maxHeartbeat,
        double heartbeatMultiplier,
        Duration drain,
        Duration keepAliveIdle,
        Duration keepAliveInterval,
        int keepAliveCount,
        Duration userTimeout,
        int backlog,
        boolean tcpNoDelay,
        boolean quiet,
        int maxFrameLength,
        int writeBufferLimit,
        int workerThreads,
        Duration shutdownTimeout,
        Duration shutdownReconnectSpread,
        int maxConnections,
        double connectRate,
        int connectBurst,
        int flapMaxConnects,
        Duration flapWindow,
        Duration flapBan) {

    /** Whether application heartbeats are on. */
    public boolean heartbeatsEnabled() {
        return !heartbeat.isZero();
    }

    /** Whether SO_KEEPALIVE is set on device sockets. */
    public boolean keepAliveEnabled() {
        return !keepAliveIdle.isZero();
    }

    /**
     * The heartbeat interval granted to a device that asked for {@code requestedMillis}
     * (0 = the server default), in milliseconds; 0 when heartbeats are off.
     */
    public int grantHeartbeatMillis(int requestedMillis) {
        if (!heartbeatsEnabled()) {
            return 0;
        }
        long granted = requestedMillis == 0 ? heartbeat.toMillis() : requestedMillis;
        granted = Math.max(minHeartbeat.toMillis(), Math.min(maxHeartbeat.toMillis(), granted));
        return (int) granted;
    }

    /** The silence after which a session with the given interval is dead, in milliseconds. */
    public int timeoutMillis(int heartbeatMillis) {
        return (int) Math.min(Integer.MAX_VALUE, Math.round(heartbeatMillis * heartbeatMultiplier));
    }

    static void checkMaxFrameLength(int maxFrameLength) {
        if (maxFrameLength < Protocol.MIN_MAX_FRAME_LENGTH || maxFrameLength > 16 * 1024 * 1024) {
            throw new IllegalArgumentException("maxFrameLength: " + maxFrameLength
                    + " (expected: " + Protocol.MIN_MAX_FRAME_LENGTH + " to 16777216)");
        }
    }
}
