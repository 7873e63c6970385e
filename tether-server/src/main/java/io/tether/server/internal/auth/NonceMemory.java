package io.tether.server.internal.auth;

/**
 * Remembers which (device, nonce) pairs were accepted, for at least {@code generationNanos},
 * in 8 bytes per pair: a 64-bit fingerprint in an open-addressing table. Two generations are
 * kept; when the current one is older than a generation, the older is dropped. A pair is
 * therefore remembered for between one and two generations, which must cover the longest time
 * a token can stay valid. A fingerprint collision (about 2^-64 per pair) would refuse one
 * legitimate HELLO, which the device retries with a new nonce. Thread-safe (synchronized; one
 * lookup per HELLO).
 */
final class NonceMemory {
    private final long generationNanos;
    private final int maxEntries;
    private LongSet current = new LongSet(1024);
    private LongSet previous = new LongSet(16);
    private static final long UNSET = Long.MIN_VALUE;
    private long currentSince = UNSET;

    NonceMemory(long generationNanos, int maxEntries) {
        this.generationNanos = generationNanos;
        this.maxEntries = maxEntries;
    }

    enum Result { NEW, SEEN, FULL }

    synchronized Result remember(long fingerprint, long nowNanos) {
        if (currentSince == UNSET) {
            currentSince = nowNanos;
        }
        long elapsed = nowNanos - currentSince;
        if (elapsed >= generationNanos) {
            // Two generations gone: nothing in either can still be valid.
            previous = elapsed >= 2 * generationNanos ? new LongSet(16) : current;
            current = new LongSet(1024);
            currentSince = nowNanos;
        }
        if (current.contains(fingerprint) || previous.contains(fingerprint)) {
            return Result.SEEN;
        }
        if (current.size() + previous.size() >= maxEntries) {
            return Result.FULL;
        }
        current.add(fingerprint);
        return Result.NEW;
    }

    synchronized int size() {
        return current.size() + previous.size();
    }

    /** Open addressing, linear probing; 0 is stored out of line. */
    private static final class LongSet {
        private long[] slots;
        private int size;
        private boolean hasZero;

        LongSet(int capacity) {
            slots = new long[Integer.highestOneBit(Math.max(16, capacity) - 1) << 1];
        }

        int size() {
            return size + (hasZero ? 1 : 0);
        }

        boolean contains(long v) {
            if (v == 0) {
                return hasZero;
            }
            int mask = slots.length - 1;
            for (int i = mix(v) & mask; ; i = (i + 1) & mask) {
                long s = slots[i];
                if (s == 0) {
                    return false;
                }
                if (s == v) {
                    return true;
                }
            }
        }

        void add(long v) {
            if (v == 0) {
                hasZero = true;
                return;
            }
            if ((size + 1) * 2 > slots.length) {
                long[] old = slots;
                slots = new long[old.length * 2];
                size = 0;
                for (long s : old) {
                    if (s != 0) {
                        insert(s);
                    }
                }
            }
            insert(v);
        }

        private void insert(long v) {
            int mask = slots.length - 1;
            for (int i = mix(v) & mask; ; i = (i + 1) & mask) {
                if (slots[i] == 0) {
                    slots[i] = v;
                    size++;
                    return;
                }
                if (slots[i] == v) {
                    return;
                }
            }
        }

        private static int mix(long v) {
            long h = v * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }
    }
}
