package io.tether.server.internal.commands;

import io.tether.server.Command;
import io.tether.server.CommandState;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of one command record in a durable journal (the key holds the device and seq):
 *
 * <pre>
 * u8 record version (1) | u8 state ordinal | id: 26 ASCII
 * u64 created | u64 expires | u64 sent | u64 delivered | u64 finished | u32 attempts
 * u8 key length (0 = none) | key ASCII
 * u32 payload length | payload
 * i32 result length (-1 = none) | result
 * u16 detail length | detail UTF-8
 * </pre>
 *
 * All integers big-endian. A later build may append fields; a different meaning bumps the version.
 */
public final class CommandRecord {
    private static final byte VERSION = 1;
    private static final CommandState[] STATES = CommandState.values();

    private CommandRecord() {
    }

    public static byte[] encode(Command c) {
        byte[] key = c.idempotencyKey() == null ? new byte[0] : c.idempotencyKey().getBytes(StandardCharsets.US_ASCII);
        byte[] detail = c.detail().getBytes(StandardCharsets.UTF_8);
        if (detail.length > 0xFFFF) {
            detail = java.util.Arrays.copyOf(detail, 0xFFFF);
        }
        int size = 1 + 1 + Ulid.LENGTH + 5 * 8 + 4 + 1 + key.length + 4 + c.payload().length + 4
                + (c.result() == null ? 0 : c.result().length) + 2 + detail.length;
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(VERSION).put((byte) c.state().ordinal()).put(c.id().getBytes(StandardCharsets.US_ASCII));
        b.putLong(c.createdAtMillis()).putLong(c.expiresAtMillis()).putLong(c.sentAtMillis())
                .putLong(c.deliveredAtMillis()).putLong(c.finishedAtMillis()).putInt(c.attempts());
        b.put((byte) key.length).put(key);
        b.putInt(c.payload().length).put(c.payload());
        if (c.result() == null) {
            b.putInt(-1);
        } else {
            b.putInt(c.result().length).put(c.result());
        }
        b.putShort((short) detail.length).put(detail);
        return b.array();
    }

    /**
     * @throws IllegalStateException if the bytes are not a record of this layout (a damaged store)
     */
    public static Command decode(String deviceId, long seq, byte[] value) {
        try {
            ByteBuffer b = ByteBuffer.wrap(value);
            byte version = b.get();
            if (version != VERSION) {
                throw new IllegalStateException("command record version " + version + " (expected: " + VERSION + ")");
            }
            CommandState state = STATES[b.get()];
            byte[] id = new byte[Ulid.LENGTH];
            b.get(id);
            long created = b.getLong();
            long expires = b.getLong();
            long sent = b.getLong();
            long delivered = b.getLong();
            long finished = b.getLong();
            int attempts = b.getInt();
            byte[] key = new byte[b.get() & 0xFF];
            b.get(key);
            byte[] payload = new byte[b.getInt()];
            b.get(payload);
            int resultLength = b.getInt();
            byte[] result = null;
            if (resultLength >= 0) {
                result = new byte[resultLength];
                b.get(result);
            }
            byte[] detail = new byte[b.getShort() & 0xFFFF];
            b.get(detail);
            return new Command(new String(id, StandardCharsets.US_ASCII), deviceId, seq, payload,
                    key.length == 0 ? null : new String(key, StandardCharsets.US_ASCII), state, created, expires, sent,
                    delivered, finished, attempts, result, new String(detail, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            if (e instanceof IllegalStateException) {
                throw e;
            }
            throw new IllegalStateException("damaged command record of " + value.length + " bytes for "
                    + deviceId + " seq " + seq + ": " + e, e);
        }
    }
}
