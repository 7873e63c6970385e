package io.tether.client;

/**
 * The client was closed (by {@link TetherClient#close()}, or because the connection was lost with
 * reconnecting disabled) before this operation could complete. A send failed with this exception
 * may or may not have been stored by the server: it was never acknowledged. With an
 * {@link TetherClient.Builder#outboxFile outbox file}, a message whose future fails this way after
 * send() returned stays in the file and is resent by the next client built on it.
 */
public final class ClientClosedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ClientClosedException(String message) {
        super(message);
    }

    ClientClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
