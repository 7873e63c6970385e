package io.tether.server.internal.auth;

import io.tether.server.Authenticator;

import io.tether.protocol.auth.DeviceToken;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Checks HELLO tokens ({@link DeviceToken}) against a {@link CredentialsFile}: the MAC (compared
 * in constant time), the expiry, and that the nonce was never accepted before for that device.
 * Accepted tokens are remembered (8 bytes each) for one to two times {@code maxLifetime}, longer
 * than any token stays valid, so a captured HELLO cannot be replayed. Tokens may be valid at most
 * {@code maxLifetime} ahead, which bounds that memory.
 *
 * <p>Expiry is checked against the wall clock (the device's token carries a wall-clock expiry),
 * but the memory of accepted tokens ages by a monotonic clock: a wall clock that steps forward
 * and back (NTP, an operator) must not make the memory forget a token that is valid again once
 * the clock is back. A captured HELLO could only be replayed if the wall clock were stepped back
 * by more than the two generations (2 x maxLifetime) the memory spans.
 * Thread-safe.
 */
public final class TokenAuthenticator implements Authenticator {
    private final CredentialsFile credentials;
    private final long maxLifetimeMillis;
    private final NonceMemory seen;
    private final LongSupplier monotonicNanos;

    /**
     * @param maxLifetime   how far in the future a token's expiry may lie (clock skew included)
     * @param maxRemembered bound on remembered nonces; when full of unexpired ones, new HELLOs are
     *                      refused (REPLAY_CACHE_FULL) rather than let replays through
     */
    public TokenAuthenticator(CredentialsFile credentials, Duration maxLifetime, int maxRemembered) {
        this(credentials, maxLifetime, maxRemembered, System::nanoTime);
    }

    /** @param monotonicNanos the clock the replay memory ages by (tests drive it) */
    public TokenAuthenticator(CredentialsFile credentials, Duration maxLifetime, int maxRemembered, LongSupplier monotonicNanos) {
        this.credentials = credentials;
        this.monotonicNanos = monotonicNanos;
        this.maxLifetimeMillis = maxLifetime.toMillis();
        // An accepted token can be replayed until it expires, at most maxLifetime later: each
        // nonce must be remembered at least that long, which one generation guarantees.
        this.seen = new NonceMemory(maxLifetime.toNanos(), maxRemembered);
    }

    public CredentialsFile credentials() {
        return credentials;
    }

    @Override
    public Verdict check(String deviceId, byte[] credential, long nowMillis) {
        byte[] key = credentials.keyFor(deviceId);
        if (key == null) {
            return Verdict.UNKNOWN_DEVICE;
        }
        DeviceToken.Parsed t = DeviceToken.parse(credential);
        if (t == null) {
            return Verdict.MALFORMED;
        }
        byte[] expected = DeviceToken.mac(key, deviceId, t.expiryMillis(), t.nonce());
        if (!MessageDigest.isEqual(expected, t.mac())) {
            return Verdict.BAD_MAC;
        }
        if (t.expiryMillis() <= nowMillis) {
            return Verdict.EXPIRED;
        }
        if (t.expiryMillis() - nowMillis > maxLifetimeMillis) {
            return Verdict.TOO_FAR_IN_FUTURE;
        }
        // The MAC is a keyed hash of (device, expiry, nonce): its first 8 bytes identify the
        // token as well as the nonce does, and cost 8 bytes to remember.
        long fingerprint = longAt(t.mac(), 0);
        switch (seen.remember(fingerprint, monotonicNanos.getAsLong())) {
            case SEEN:
                return Verdict.REPLAYED;
            case FULL:
                return Verdict.REPLAY_CACHE_FULL;
            default:
                return Verdict.OK;
        }
    }

    /** A session stays while the key that admitted it is still the device's key ({@link CredentialsFile#keyUnchanged}). */
    @Override
    public boolean stillValid(String deviceId) {
        return credentials.keyUnchanged(deviceId);
    }

    private static long longAt(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }
}
