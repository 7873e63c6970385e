package io.tether.client;

import io.tether.protocol.Reason;

import java.time.Duration;

/**
 * Callbacks about one client's connection. Every method has a no-op default; override what you need.
 *
 * <p>Threading: all methods are called on the client's event loop thread, one at a time and in the
 * order the events happened. They must not block: with a shared event loop group one slow listener
 * stalls every client on its thread. An exception thrown by a method is logged and otherwise
 * ignored.
 */
public interface ClientListener {

    /** A session was established (WELCOME received); called after the outbox was resent. */
    default void onConnected(SessionInfo session) {
    }

    /**
     * A connection that had been established at the TCP level ended (with or without a session).
     * Not called for connection attempts that never got that far; those show in
     * {@link ClientStats#connectFailures()}.
     *
     * @param reason       why: the reason of the server's BYE if one came, else what this side saw
     *                     ({@link Reason#PEER_CLOSED}, {@link Reason#PEER_RESET},
     *                     {@link Reason#KEEPALIVE_TIMEOUT}, {@link Reason#HEARTBEAT_TIMEOUT},
     *                     {@link Reason#HANDSHAKE_TIMEOUT}, {@link Reason#PROTOCOL_ERROR},
     *                     {@link Reason#IO_ERROR}, or {@link Reason#NORMAL} after {@code close()})
     * @param causeOrNull  the exception behind it, or null when there is none (orderly close, BYE)
     */
    default void onDisconnected(Reason reason, Throwable causeOrNull) {
    }

    /**
     * The server said goodbye; the connection closes next and the client reconnects per the hint,
     * except after {@link Reason#AUTH_FAILED} (see {@link #onAuthenticationFailed}).
     */
    default void onBye(Goodbye goodbye) {
    }

    /**
     * The server refused this device's credential (BYE AUTH_FAILED): a wrong or missing secret,
     * an id the server's credentials file does not know, or a device clock too far off. The
     * client has stopped (it does not retry a credential the server refused): called after
     * {@link #onBye} and {@link #onDisconnected} with {@link Reason#AUTH_FAILED}; next,
     * {@link TetherClient#connect()}'s future and every pending send fail, and
     * {@link TetherClient#closeFuture()} completes. Build a new client once the credential is fixed.
     *
     * @param failure says which credential was presented and what to check
     */
    default void onAuthenticationFailed(AuthenticationFailedException failure) {
    }

    /**
     * A downlink message arrived. It is acknowledged to the server after this method returns (also
     * if it throws), and a redelivery of a sequence number already delivered in this session is
     * acknowledged again without calling this method.
     *
     * @param seq     the server's sequence number for this device, {@code >= 1}
     * @param payload the message; owned by the callee
     */
    default void onMessage(long seq, byte[] payload) {
    }

    /**
     * A reconnect was scheduled.
     *
     * @param attempt 1 for the first reconnect since the last successful handshake, then 2, 3, …
     * @param delay   time until the attempt starts
     */
    default void onReconnectScheduled(int attempt, Duration delay) {
    }
}
