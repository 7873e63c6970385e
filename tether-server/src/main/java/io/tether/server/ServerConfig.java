package io.tether.server;

import io.tether.transport.HostPort;
import io.tether.transport.KeepAlive;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Immutable server configuration, built and validated by {@link TetherServer.Builder}. It is made
 * of small value types ({@link Heartbeat}, {@link KeepAlive}, {@link Admission}, {@link Flapping},
 * {@link Shutdown}, {@link Limits}, {@link DeviceLimits}), whose {@code DEFAULT} constants and the builder's initial
 * values are the only place a default lives; {@code tether serve}'s help, README and
 * {@code tether doctor} read them from there. The flat accessors ({@link #quiet()},
 * {@link #keepAliveIdle()}, …) are conveniences delegating to the value types. Thread-safe.
 */
public final class ServerConfig {
    private final InetSocketAddress bindAddress;
    private final Duration handshakeTimeout;
    private final Duration drain;
    private final Heartbeat heartbeat;
    private final KeepAlive keepAlive;
    private final Duration userTimeout;
    private final int backlog;
    private final boolean tcpNoDelay;
    private final int workerThreads;
    private final Limits limits;
    private final Shutdown shutdown;
    private final Admission admission;
    private final Flapping flapping;
    private final DeviceLimits deviceLimits;
    private final CommandLimits commandLimits;
    private final int historySessions;

    ServerConfig(InetSocketAddress bindAddress, Duration handshakeTimeout, Duration drain, Heartbeat heartbeat,
                 KeepAlive keepAlive, Duration userTimeout, int backlog, boolean tcpNoDelay, int workerThreads,
                 Limits limits, Shutdown shutdown, Admission admission, Flapping flapping,
                 DeviceLimits deviceLimits, CommandLimits commandLimits, int historySessions) {
        this.bindAddress = bindAddress;
        this.handshakeTimeout = handshakeTimeout;
        this.drain = drain;
        this.heartbeat = heartbeat;
        this.keepAlive = keepAlive;
        this.userTimeout = userTimeout;
        this.backlog = backlog;
        this.tcpNoDelay = tcpNoDelay;
        this.workerThreads = workerThreads;
        this.limits = limits;
        this.shutdown = shutdown;
        this.admission = admission;
        this.flapping = flapping;
        this.deviceLimits = deviceLimits;
        this.commandLimits = commandLimits;
        this.historySessions = historySessions;
    }

    // ---- value types

    /** Application heartbeats: interval, range, multiplier, quiet mode. */
    public Heartbeat heartbeats() {
        return heartbeat;
    }

    /** TCP keepalive of device sockets; {@link KeepAlive#OFF} when SO_KEEPALIVE is not set. */
    public KeepAlive keepAlive() {
        return keepAlive;
    }

    /** Frame and write-buffer limits. */
    public Limits limits() {
        return limits;
    }

    /** Graceful shutdown bound and reconnect spread. */
    public Shutdown shutdown() {
        return shutdown;
    }

    /** Connection cap and per-address connect rate. */
    public Admission admission() {
        return admission;
    }

    /** Flapping detection. */
    public Flapping flapping() {
        return flapping;
    }

    /** Per-device message and byte rates, and the write-stall bound. */
    public DeviceLimits deviceLimits() {
        return deviceLimits;
    }

    /** Bounds of the command ledger: open commands per device, TTLs, commands in flight. */
    public CommandLimits commandLimits() {
        return commandLimits;
    }

    // ---- scalars

    /** Sessions kept in each device's history ({@link TetherServer#history}); 0 = history off. */
    public int historySessions() {
        return historySessions;
    }

    /** Address and port to listen on; port 0 picks a free port. */
    public InetSocketAddress bindAddress() {
        return bindAddress;
    }

    /** Time from TCP accept to a complete HELLO. */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** After a graceful close has half-closed the socket, how long the server keeps reading before an abortive close. */
    public Duration drain() {
        return drain;
    }

    /** TCP_USER_TIMEOUT; {@link Duration#ZERO} leaves the kernel default. */
    public Duration userTimeout() {
        return userTimeout;
    }

    /** Listen backlog (SO_BACKLOG). */
    public int backlog() {
        return backlog;
    }

    /** TCP_NODELAY on device sockets. */
    public boolean tcpNoDelay() {
        return tcpNoDelay;
    }

    /** Event loop threads for connections (0 given to the builder is resolved to the number of cores). */
    public int workerThreads() {
        return workerThreads;
    }

    // ---- conveniences delegating to the value types

    /** Default heartbeat interval; {@link Duration#ZERO} when heartbeats are off. */
    public Duration heartbeat() {
        return heartbeat.interval();
    }

    public Duration minHeartbeat() {
        return heartbeat.min();
    }

    public Duration maxHeartbeat() {
        return heartbeat.max();
    }

    public double heartbeatMultiplier() {
        return heartbeat.multiplier();
    }

    /** The server does not answer PING. */
    public boolean quiet() {
        return heartbeat.quiet();
    }

    /** Whether application heartbeats are on. */
    public boolean heartbeatsEnabled() {
        return heartbeat.enabled();
    }

    /** See {@link Heartbeat#grantMillis(int)}. */
    public int grantHeartbeatMillis(int requestedMillis) {
        return heartbeat.grantMillis(requestedMillis);
    }

    /** See {@link Heartbeat#timeoutMillis(int)}. */
    public int timeoutMillis(int heartbeatMillis) {
        return heartbeat.timeoutMillis(heartbeatMillis);
    }

    /** Whether SO_KEEPALIVE is set on device sockets. */
    public boolean keepAliveEnabled() {
        return keepAlive.enabled();
    }

    /** TCP_KEEPIDLE; zero when keepalive is off. */
    public Duration keepAliveIdle() {
        return keepAlive.idle();
    }

    /** TCP_KEEPINTVL; zero when keepalive is off. */
    public Duration keepAliveInterval() {
        return keepAlive.interval();
    }

    /** TCP_KEEPCNT; 0 when keepalive is off. */
    public int keepAliveCount() {
        return keepAlive.count();
    }

    public int maxFrameLength() {
        return limits.maxFrameLength();
    }

    public int writeBufferLimit() {
        return limits.writeBufferLimit();
    }

    public Duration shutdownTimeout() {
        return shutdown.timeout();
    }

    public Duration shutdownReconnectSpread() {
        return shutdown.reconnectSpread();
    }

    public int maxConnections() {
        return admission.maxConnections();
    }

    public double connectRate() {
        return admission.connectRate();
    }

    public int connectBurst() {
        return admission.connectBurst();
    }

    public int flapMaxConnects() {
        return flapping.maxConnects();
    }

    public Duration flapWindow() {
        return flapping.window();
    }

    public Duration flapBan() {
        return flapping.ban();
    }

    @Override
    public String toString() {
        return "listen " + HostPort.format(bindAddress) + ", handshake-timeout " + KeepAlive.format(handshakeTimeout)
                + ", " + heartbeat + ", keepalive " + keepAlive + ", user-timeout " + KeepAlive.format(userTimeout)
                + ", drain " + KeepAlive.format(drain) + ", " + limits + ", " + deviceLimits + ", " + commandLimits + ", " + admission + ", flapping " + flapping
                + ", " + shutdown + ", backlog " + backlog + ", workers " + workerThreads + ", history-sessions " + historySessions;
    }
}
