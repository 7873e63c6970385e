package io.tether.server.internal.delivery;

import io.tether.server.StoredMessage;

import java.nio.charset.StandardCharsets;

/**
 * The on-disk layout of the RocksDB store: column family names, key and value encodings.
 * Changing anything here changes the file format; bump {@link #FORMAT_VERSION} when doing so.
 *
 * <pre>
 * default  "tether.format"            → u8 format version (1)
 * messages device ASCII, 0x00, u64 seq → u64 receivedAtMillis, payload bytes
 * devices  device ASCII                → u8 state version (1), u64 lastSeq, u64 firstSeq, u64 count
 * commands 'c' device ASCII, 0x00, u64 seq → command record ({@code internal.commands.CommandRecord})
 *          'i' command id (26 ASCII)       → device ASCII, 0x00, u64 seq
 *          'k' device ASCII, 0x00, key     → command id
 * history  device ASCII, 0x00, u64 session id → session record ({@code internal.history.HistoryRecord}),
 *          the last N sessions of each device (N = --history-sessions; older ones deleted on write)
 * feed     'o' u64 offset      → feed entry: u8 kind, u64 session, u64 seq, u64 atMillis, u32 body length,
 *                                 u16 device length, device ASCII, then the body (JSON) for EVENT and
 *                                 COMMAND; a MESSAGE's body is its record in messages (not copied)
 *          'l' u64 session id  → a session whose open event is in the feed and whose close is not:
 *                                 u64 openedAtMillis, device ASCII (a restart closes them in the feed)
 *          'f'                 → u64 offset: the forwarder's position (every entry up to it is in Kafka)
 * </pre>
 *
 * <p>The commands, history and feed families were added after format 1 without changing it: a store
 * made before is opened writable with empty ones, and read-only without them.
 *
 * <p>All integers are big-endian. Device ids are printable ASCII (0x21–0x7E, PROTOCOL.md 4.1), so
 * the 0x00 separator sorts a device's keys before those of any longer id that it prefixes
 * ("a" before "a-1"), and RocksDB's bytewise order is (device, seq) order.
 */
final class StoreLayout {
    static final String MESSAGES_CF = "messages";
    static final String DEVICES_CF = "devices";
    static final String COMMANDS_CF = "commands";
    static final String HISTORY_CF = "history";
    static final String FEED_CF = "feed";
    static final byte FEED_ENTRY = 'o';
    static final byte FEED_LIVE = 'l';
    static final byte[] FEED_FORWARDED_KEY = {'f'};
    private static final int FEED_HEADER = 1 + 8 + 8 + 8 + 4 + 2;
    static final byte[] FORMAT_KEY = "tether.format".getBytes(StandardCharsets.US_ASCII);
    static final byte FORMAT_VERSION = 1;

    private static final byte STATE_VERSION = 1;
    private static final int STATE_LENGTH = 1 + 8 + 8 + 8;
    private static final int SEQ_LENGTH = 8;

    private StoreLayout() {
    }

    /**
     * The key bytes of a device id.
     *
     * @throws IllegalArgumentException if the id is empty or has a character outside 0x21–0x7E
     */
    static byte[] deviceBytes(String deviceId) {
        if (deviceId == null || deviceId.isEmpty()) {
            throw new IllegalArgumentException("deviceId: " + (deviceId == null ? "null" : "empty")
                    + " (expected: 1 or more printable ASCII characters)");
        }
        byte[] b = new byte[deviceId.length()];
        for (int i = 0; i < b.length; i++) {
            char c = deviceId.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException("deviceId: character 0x" + Integer.toHexString(c) + " at " + i
                        + " (expected: printable ASCII 0x21-0x7E)");
            }
            b[i] = (byte) c;
        }
        return b;
    }

    /** Device bytes followed by the 0x00 separator: every message key of the device starts with it. */
    static byte[] devicePrefix(byte[] device) {
        byte[] p = new byte[device.length + 1];
        System.arraycopy(device, 0, p, 0, device.length);
        return p;
    }

    static byte[] messageKey(byte[] device, long seq) {
        byte[] k = new byte[device.length + 1 + SEQ_LENGTH];
        System.arraycopy(device, 0, k, 0, device.length);
        putLong(k, device.length + 1, seq);
        return k;
    }

    /** Length of the device part of a message key. */
    static int deviceLength(byte[] messageKey) {
        return messageKey.length - 1 - SEQ_LENGTH;
    }

    static boolean isMessageKey(byte[] key) {
        return key.length > 1 + SEQ_LENGTH && key[deviceLength(key)] == 0;
    }

    static String deviceOf(byte[] messageKey) {
        return new String(messageKey, 0, deviceLength(messageKey), StandardCharsets.US_ASCII);
    }

    static long seqOf(byte[] messageKey) {
        return getLong(messageKey, messageKey.length - SEQ_LENGTH);
    }

    static boolean startsWith(byte[] key, byte[] prefix) {
        if (key.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (key[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    static byte[] messageValue(long receivedAtMillis, byte[] payload) {
        byte[] v = new byte[8 + payload.length];
        putLong(v, 0, receivedAtMillis);
        System.arraycopy(payload, 0, v, 8, payload.length);
        return v;
    }

    /**
     * @throws IllegalStateException if the key or value is not in this layout (a damaged store)
     */
    static StoredMessage decodeMessage(byte[] key, byte[] value) {
        if (!isMessageKey(key) || value.length < 8) {
            throw new IllegalStateException("not a message record: key of " + key.length + " bytes, value of "
                    + value.length + " bytes");
        }
        byte[] payload = new byte[value.length - 8];
        System.arraycopy(value, 8, payload, 0, payload.length);
        return new StoredMessage(deviceOf(key), seqOf(key), getLong(value, 0), payload);
    }

    /** A key of the feed family: a prefix byte ({@link #FEED_ENTRY}, {@link #FEED_LIVE}) and a u64. */
    static byte[] feedKey(byte prefix, long n) {
        byte[] k = new byte[9];
        k[0] = prefix;
        putLong(k, 1, n);
        return k;
    }

    static boolean isFeedKey(byte[] key, byte prefix) {
        return key.length == 9 && key[0] == prefix;
    }

    /** The value of a feed entry; {@code body} is null for a MESSAGE (its bytes are in messages), {@code bodyLength} counted either way. */
    static byte[] feedValue(int kind, long session, long seq, long atMillis, byte[] device, int bodyLength, byte[] body) {
        int dl = device == null ? 0 : device.length;
        byte[] v = new byte[FEED_HEADER + dl + (body == null ? 0 : body.length)];
        v[0] = (byte) kind;
        putLong(v, 1, session);
        putLong(v, 9, seq);
        putLong(v, 17, atMillis);
        putInt(v, 25, bodyLength);
        v[29] = (byte) (dl >>> 8);
        v[30] = (byte) dl;
        if (dl > 0) {
            System.arraycopy(device, 0, v, FEED_HEADER, dl);
        }
        if (body != null) {
            System.arraycopy(body, 0, v, FEED_HEADER + dl, body.length);
        }
        return v;
    }

    /** The fields of a feed value, the body still inside {@link #value}. */
    record FeedValue(int kind, long session, long seq, long atMillis, int bodyLength, String device, byte[] value,
                     int bodyOffset) {
        byte[] body() {
            byte[] b = new byte[value.length - bodyOffset];
            System.arraycopy(value, bodyOffset, b, 0, b.length);
            return b;
        }
    }

    /**
     * @throws IllegalStateException if the value is too short for its header (a damaged store)
     */
    static FeedValue decodeFeed(byte[] v) {
        if (v.length < FEED_HEADER) {
            throw new IllegalStateException("feed entry of " + v.length + " bytes (expected: >= " + FEED_HEADER + ")");
        }
        int dl = ((v[29] & 0xFF) << 8) | (v[30] & 0xFF);
        if (v.length < FEED_HEADER + dl) {
            throw new IllegalStateException("feed entry of " + v.length + " bytes with a device id of " + dl);
        }
        String device = dl == 0 ? null : new String(v, FEED_HEADER, dl, StandardCharsets.US_ASCII);
        return new FeedValue(v[0] & 0xFF, getLong(v, 1), getLong(v, 9), getLong(v, 17), getInt(v, 25), device, v,
                FEED_HEADER + dl);
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    static int getInt(byte[] b, int off) {
        return ((b[off] & 0xFF) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
    }

    static void putLong(byte[] b, int off, long v) {
        for (int i = 7; i >= 0; i--) {
            b[off + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    /**
     * What the store keeps per device, written in the same batch as the device's messages so it
     * never disagrees with them.
     *
     * @param lastSeq highest stored seq, 0 if none
     * @param firstSeq lowest stored seq, 0 if none
     * @param count number of stored messages
     */
    record DeviceState(long lastSeq, long firstSeq, long count) {
        static final DeviceState EMPTY = new DeviceState(0, 0, 0);

        DeviceState afterStoring(long seq) {
            return new DeviceState(seq, firstSeq == 0 ? seq : firstSeq, count + 1);
        }

        /** The state that knows more: seqs only grow, so the higher lastSeq is the newer state. */
        static DeviceState newer(DeviceState a, DeviceState b) {
            return b.lastSeq > a.lastSeq ? b : a;
        }

        byte[] encode() {
            byte[] v = new byte[STATE_LENGTH];
            v[0] = STATE_VERSION;
            putLong(v, 1, lastSeq);
            putLong(v, 9, firstSeq);
            putLong(v, 17, count);
            return v;
        }

        /**
         * @throws IllegalStateException for an unknown version or a short value
         */
        static DeviceState decode(byte[] v) {
            if (v.length == 0 || v[0] != STATE_VERSION) {
                throw new IllegalStateException("device state version "
                        + (v.length == 0 ? "missing" : Integer.toString(v[0] & 0xFF)) + " (expected: " + STATE_VERSION + ")");
            }
            if (v.length < STATE_LENGTH) {
                throw new IllegalStateException("device state of " + v.length + " bytes (expected: >= " + STATE_LENGTH + ")");
            }
            // Longer values are accepted: a later build may append fields and keep version 1 as long
            // as these 25 bytes keep their meaning; an incompatible change bumps the version.
            return new DeviceState(getLong(v, 1), getLong(v, 9), getLong(v, 17));
        }
    }
}
