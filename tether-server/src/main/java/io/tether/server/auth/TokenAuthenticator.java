package io.tether.server.auth;

import io.tether.protocol.auth.DeviceToken;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Checks HELLO tokens ({@link DeviceToken}) against a {@link CredentialsFile}: the MAC (compared
 * in constant time), the expiry, and that the nonce was never accepted before for that device.
 * Accepted nonces are remembered until their token expires, so a captured HELLO cannot be
 * replayed. Tokens may be valid at most {@code maxLifetime} ahead, which bounds that memory.
 * Thread-safe.
 */
public final class TokenAuthenticator implements Authenticator {
    private final CredentialsFile credentials;
    private final long maxLifetimeMillis;
    private final int maxRemembered;
    private final ConcurrentHashMap<NonceKey, Long> seen = new ConcurrentHashMap<>();
    private final AtomicInteger insertsSinceSweep = new AtomicInteger();

    private record NonceKey(String deviceId, long hi, long lo) {
    }

    /**
     * @param maxLifetime   how far in the future a token's expiry may lie (clock skew included)
     * @param maxRemembered bound on remembered nonces; when full of unexpired ones, new HELLOs are
     *                      refused (REPLAY_CACHE_FULL) rather than let replays through
     */
    public TokenAuthenticator(CredentialsFile credentials, Duration maxLifetime, int maxRemembered) {
        this.credentials = credentials;
        this.maxLifetimeMillis = maxLifetime.toMillis();
        this.maxRemembered = maxRemembered;
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
        if (seen.size() >= maxRemembered) {
            sweep(nowMillis);
            if (seen.size() >= maxRemembered) {
                return Verdict.REPLAY_CACHE_FULL;
            }
        }
        NonceKey nk = new NonceKey(deviceId, longAt(t.nonce(), 0), longAt(t.nonce(), 8));
        if (seen.putIfAbsent(nk, t.expiryMillis()) != null) {
            return Verdict.REPLAYED;
        }
        if (insertsSinceSweep.incrementAndGet() >= 10_000) {
            sweep(nowMillis);
        }
        return Verdict.OK;
    }

    /** Forgets nonces whose tokens have expired (they can no longer be replayed anyway). */
    private void sweep(long nowMillis) {
        insertsSinceSweep.set(0);
        for (Iterator<Map.Entry<NonceKey, Long>> it = seen.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() <= nowMillis) {
                it.remove();
            }
        }
    }

    private static long longAt(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }
}
