package io.tether.client;

import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.tether.transport.KeepAlive;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongUnaryOperator;

/**
 * Immutable client configuration, validated by {@link TetherClient.Builder}, where the defaults live.
 *
 * @param target             server address; unresolved host names are resolved on every attempt
 * @param deviceId           sent in HELLO
 * @param credential         sent in HELLO (not copied again: the builder copied it)
 * @param deviceKey          if not null, every HELLO carries a fresh token made with this key instead
 * @param credentialSource   for a person: which credential the client presents and what the
 *                           server needs for it (in the message of an authentication failure)
 * @param heartbeat          requested heartbeat interval; ZERO = the server's default
 * @param backoffBase        first backoff ceiling
 * @param backoffCap         largest backoff ceiling
 * @param connectTimeout     bound on TCP connect plus the wait for WELCOME
 * @param userTimeout        TCP_USER_TIMEOUT after WELCOME; null = the negotiated timeout_ms; ZERO = not set
 * @param keepAlive          TCP keepalive; {@link KeepAlive#OFF} = SO_KEEPALIVE off
 * @param outboxCapacity     most unacknowledged messages held
 * @param eventLoopGroup     caller's group, or null for a group the client owns
 * @param localAddress       source address to bind, or null
 * @param listener           callbacks
 * @param random             bound → value in [0, bound), for jitter
 * @param pingIntervalFactor PINGs every heartbeat × factor
 * @param reconnect          whether to reconnect after a loss
 * @param outboxFile         the outbox journal, or null for an outbox in memory only
 * @param outboxSync         whether the journal forces its appends to storage
 * @param tls                a client TLS context, or null for plaintext TCP
 * @param commandHandler     processes commands (the client then speaks protocol version 2), or null
 * @param commandExecutor    runs the handler (one command of this client at a time), or null for a thread of the client's own
 */
record ClientConfig(
        InetSocketAddress target,
        String deviceId,
        byte[] credential,
        byte[] deviceKey,
        String credentialSource,
        Duration heartbeat,
        Duration backoffBase,
        Duration backoffCap,
        Duration connectTimeout,
        Duration userTimeout,
        KeepAlive keepAlive,
        int outboxCapacity,
        EventLoopGroup eventLoopGroup,
        InetAddress localAddress,
        ClientListener listener,
        LongUnaryOperator random,
        double pingIntervalFactor,
        boolean reconnect,
        Path outboxFile,
        boolean outboxSync,
        SslContext tls,
        CommandHandler commandHandler,
        java.util.concurrent.Executor commandExecutor) {
}
