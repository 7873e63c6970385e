package io.tether.protocol.auth;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The credential a device puts in HELLO: a one-time token proving it holds its device key,
 * without sending the key. See docs/PROTOCOL.md, "Authentication".
 *
 * <pre>
 * offset size field
 * 0      1    version (1)
 * 1      8    expiry: u64, epoch milliseconds after which the token is void
 * 9      16   nonce: random; the server accepts each (device, nonce) once
 * 25     32   mac: HMAC-SHA256(device key, "tether-hello-v1" | u8 id_len | device id | expiry | nonce)
 * </pre>
 *
 * A device key is derived from a secret with PBKDF2-HMAC-SHA256 (salt "tether:" + device id,
 * {@value #PBKDF2_ITERATIONS} iterations, 32 bytes); or, for a group of devices sharing a
 * provisioning secret, as HMAC-SHA256(group key, device id) where the group key is PBKDF2 of the
 * secret with salt "tether-group:" + id prefix. The server stores keys, never secrets.
 * Thread-safe (stateless).
 */
public final class DeviceToken {
    public static final int VERSION = 1;
    public static final int LENGTH = 1 + 8 + 16 + 32;
    public static final int PBKDF2_ITERATIONS = 20_000;
    private static final byte[] CONTEXT = "tether-hello-v1".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * One Mac per thread: Mac.getInstance walks the security providers on every call, which
     * showed in profiles of a connect burst (one check per HELLO). init() resets it per key.
     */
    private static final ThreadLocal<Mac> MAC = ThreadLocal.withInitial(() -> {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    });

    private DeviceToken() {
    }

    /** A device's 32-byte key from its own secret. Slow on purpose (PBKDF2); derive once. */
    public static byte[] deviceKey(String deviceId, String secret) {
        return pbkdf2(secret, "tether:" + deviceId);
    }

    /** A group key from a provisioning secret shared by every id starting with {@code idPrefix}. */
    public static byte[] groupKey(String idPrefix, String secret) {
        return pbkdf2(secret, "tether-group:" + idPrefix);
    }

    /** The key of one device of a group. */
    public static byte[] memberKey(byte[] groupKey, String deviceId) {
        return hmac(groupKey, deviceId.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * A fresh token, valid until {@code expiryMillis}.
     *
     * @param key the device key (32 bytes)
     */
    public static byte[] create(byte[] key, String deviceId, long expiryMillis) {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        return create(key, deviceId, expiryMillis, nonce);
    }

    /** A token with a given nonce (tests, vectors). */
    public static byte[] create(byte[] key, String deviceId, long expiryMillis, byte[] nonce) {
        if (nonce.length != 16) {
            throw new IllegalArgumentException("nonce: " + nonce.length + " bytes (expected: 16)");
        }
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.put((byte) VERSION).putLong(expiryMillis).put(nonce);
        b.put(mac(key, deviceId, expiryMillis, nonce));
        return b.array();
    }

    /** The MAC a token for these fields must carry. */
    public static byte[] mac(byte[] key, String deviceId, long expiryMillis, byte[] nonce) {
        byte[] id = deviceId.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer msg = ByteBuffer.allocate(CONTEXT.length + 1 + id.length + 8 + nonce.length);
        msg.put(CONTEXT).put((byte) id.length).put(id).putLong(expiryMillis).put(nonce);
        return hmac(key, msg.array());
    }

    /** Token fields, parsed without any check of the MAC. */
    public record Parsed(long expiryMillis, byte[] nonce, byte[] mac) {
    }

    /**
     * @return the fields, or null if the bytes are not a version-1 token of the right length
     */
    public static Parsed parse(byte[] credential) {
        if (credential == null || credential.length != LENGTH || credential[0] != VERSION) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(credential);
        b.get();
        long expiry = b.getLong();
        byte[] nonce = new byte[16];
        b.get(nonce);
        byte[] mac = Arrays.copyOfRange(credential, 25, LENGTH);
        return new Parsed(expiry, nonce, mac);
    }

    static byte[] hmac(byte[] key, byte[] message) {
        try {
            Mac mac = MAC.get();
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static byte[] pbkdf2(String secret, String salt) {
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("secret: empty (expected: a non-empty secret)");
        }
        try {
            PBEKeySpec spec = new PBEKeySpec(secret.toCharArray(), salt.getBytes(StandardCharsets.UTF_8),
                    PBKDF2_ITERATIONS, 256);
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 unavailable", e);
        }
    }
}
