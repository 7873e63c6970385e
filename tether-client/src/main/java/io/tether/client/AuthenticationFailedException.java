package io.tether.client;

/**
 * The server refused this device's credential (BYE AUTH_FAILED). Retrying with the same
 * credential cannot succeed, so the client stops: {@link TetherClient#connect()}'s future fails
 * with this exception, pending and later sends fail with a {@link ClientClosedException} that
 * carries it as cause, and {@link ClientListener#onAuthenticationFailed} is called. The message
 * says which credential the client presented and what to check. The server never says why it
 * refused (that would help whoever is guessing); its event log and the counter
 * {@code tether.auth.failures{cause}} do.
 */
public final class AuthenticationFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String deviceId;

    AuthenticationFailedException(String deviceId, String message) {
        super(message);
        this.deviceId = deviceId;
    }

    /** The device id the refused HELLO presented. */
    public String deviceId() {
        return deviceId;
    }
}
