package io.tether.server;

import io.tether.server.internal.auth.TokenAuthenticator;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** The built-in {@link Authenticator}s (see also {@link Authenticator#allowAll()}). */
public final class Authenticators {
    /** How far in the future a token's expiry may lie, clock skew included. */
    public static final Duration MAX_TOKEN_LIFETIME = Duration.ofMinutes(5);
    /** Bound on remembered nonces; when full of unexpired ones, HELLOs are refused rather than replays let through. */
    public static final int MAX_REMEMBERED_NONCES = 1_000_000;

    private Authenticators() {
    }

    /**
     * Checks each HELLO's token (HMAC over device id, expiry and nonce) against the keys of
     * {@code credentials}, refusing expired tokens and replayed nonces. Follows
     * {@link Credentials#reload} of the same object. Thread-safe.
     */
    public static Authenticator tokens(Credentials credentials) {
        return new TokenAuthenticator(credentials.file(), MAX_TOKEN_LIFETIME, MAX_REMEMBERED_NONCES);
    }

    /**
     * {@link #tokens} over the credentials file at {@code path}, read once (keep the
     * {@link Credentials} and use {@link #tokens} to reload it).
     *
     * @throws IOException if the file cannot be read or is malformed
     */
    public static Authenticator credentialsFile(Path path) throws IOException {
        return tokens(Credentials.load(path));
    }
}
