package io.tether.server.internal.commands;

import java.security.SecureRandom;

/**
 * Command ids: ULIDs (48 bits of epoch milliseconds, then 80 random bits, in 26 characters of
 * Crockford base32), so ids sort by creation time as strings and bytes. Monotonic within one
 * generator: within a millisecond the random part is incremented, so ids never go backwards even
 * if several are made in the same millisecond. Not thread-safe: the ledger's thread owns it.
 */
final class Ulid {
    private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
    static final int LENGTH = 26;

    private final SecureRandom random = new SecureRandom();
    private long lastMillis = -1;
    private long randHigh; // 16 bits
    private long randLow;  // 64 bits

    String next(long millis) {
        if (millis <= lastMillis) {
            millis = lastMillis;
            if (++randLow == 0) {
                randHigh = (randHigh + 1) & 0xFFFF;
            }
        } else {
            lastMillis = millis;
            randHigh = random.nextInt(1 << 16);
            randLow = random.nextLong();
        }
        char[] out = new char[LENGTH];
        // 128 bits: 48 time | 16 randHigh | 64 randLow, written as 26 base32 digits (130 bits, top 2 zero).
        long hi = (millis << 16) | randHigh; // top 64 bits
        long lo = randLow;                     // bottom 64 bits
        for (int i = LENGTH - 1; i >= 0; i--) {
            int digit = (int) (lo & 31);
            out[i] = ALPHABET[digit];
            lo = (lo >>> 5) | (hi << 59);
            hi >>>= 5;
        }
        return new String(out);
    }

    /** Whether {@code s} has the shape of an id (26 Crockford base32 characters, upper case). */
    static boolean isValid(String s) {
        if (s == null || s.length() != LENGTH || s.charAt(0) > '7') {
            return false;
        }
        for (int i = 0; i < LENGTH; i++) {
            char c = s.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
