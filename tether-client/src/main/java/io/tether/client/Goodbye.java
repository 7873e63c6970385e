package io.tether.client;

import io.tether.protocol.Reason;

import java.time.Duration;
import java.util.Objects;

/**
 * The server's goodbye (its BYE): why it ends the connection and when to come back. Immutable.
 *
 * @param reason         why, e.g. {@link Reason#SERVER_SHUTDOWN}, {@link Reason#SERVER_BUSY},
 *                       {@link Reason#AUTH_FAILED}
 * @param reconnectAfter the server's hint: do not reconnect sooner; {@link Duration#ZERO} = no hint.
 *                       The client honours it (plus jitter) on its own.
 * @param text           the server's words for a person, possibly empty; never null
 */
public record Goodbye(Reason reason, Duration reconnectAfter, String text) {
    /** @throws NullPointerException if an argument is null */
    public Goodbye {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(reconnectAfter, "reconnectAfter");
        Objects.requireNonNull(text, "text");
    }
}
