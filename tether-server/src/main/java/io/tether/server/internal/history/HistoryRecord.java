package io.tether.server.internal.history;

import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import io.tether.server.SessionRecord;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The stored form of a {@link SessionRecord} (the value of a {@code history} key; the device and
 * session id are in the key). Big-endian:
 *
 * <pre>
 * u8  version (1)
 * u64 openedAtMillis, u64 closedAtMillis (0 = not recorded)
 * u32 heartbeatMillis, u32 timeoutMillis
 * u8  flags: 1 tookOver, 2 resumed
 * u64 lastSeqAtOpen
 * u8  reason code (0xFF = none)
 * u32 errnoNumber
 * u64 durationMillis (-1 = not recorded)
 * f64 lateMillis (-1 = none)
 * u32 drainedFrames
 * str remote, str errnoName, str detail   (str: u16 length, 0xFFFF = null, then UTF-8)
 * u64 messagesIn, u64 bytesIn, u64 messagesOut, u64 bytesOut   (appended later: absent = -1, not recorded)
 * </pre>
 *
 * A later version may append fields and keep version 1 as long as these keep their meaning.
 */
public final class HistoryRecord {
    private static final byte VERSION = 1;
    private static final int NONE = 0xFF;
    /** Bytes kept of a close's detail: the record stays small whatever a peer put in its BYE. */
    private static final int MAX_DETAIL_BYTES = 512;

    private HistoryRecord() {
    }

    /** The record of a session that has just opened. */
    public static SessionRecord opened(SessionOpened e) {
        return new SessionRecord(e.deviceId(), e.sessionId(), e.atMillis(), 0, e.remote(), e.heartbeatMillis(),
                e.timeoutMillis(), e.tookOver(), e.resumed(), e.lastSeq(), null, null, 0, null, -1, -1, 0, -1, -1, -1, -1, false);
    }

    /**
     * This session, closed by {@code e}. When the open was not recorded ({@code this} null), the
     * open time is the close time minus the connection's duration and the handshake's facts are unknown.
     *
     * @throws IllegalArgumentException if {@code e} has no device (a connection that never had a session)
     */
    public static SessionRecord closed(SessionRecord openedOrNull, SessionClosed e) {
        if (e.deviceId() == null) {
            throw new IllegalArgumentException("a close without a device is not a session");
        }
        SessionRecord o = openedOrNull != null ? openedOrNull
                : new SessionRecord(e.deviceId(), e.sessionId(), e.atMillis() - e.durationMillis(), 0, e.remote(), 0, 0,
                        false, false, -1, null, null, 0, null, -1, -1, 0, -1, -1, -1, -1, false);
        return new SessionRecord(o.deviceId(), o.sessionId(), o.openedAtMillis(), e.atMillis(), o.remote() != null ? o.remote() : e.remote(),
                o.heartbeatMillis(), o.timeoutMillis(), o.tookOver(), o.resumed(), o.lastSeqAtOpen(), e.reason(), e.errnoName(),
                e.errnoNumber(), e.detail(), e.durationMillis(), e.lateMillis(), e.drainedFrames(), e.messagesIn(),
                e.bytesIn(), e.messagesOut(), e.bytesOut(), false);
    }

    public static byte[] encode(SessionRecord r) {
        byte[] remote = utf8(r.remote(), 128);
        byte[] errno = utf8(r.errnoName(), 64);
        byte[] detail = utf8(r.detail(), MAX_DETAIL_BYTES);
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 8 + 4 + 4 + 1 + 8 + 1 + 4 + 8 + 8 + 4
                + 6 + len(remote) + len(errno) + len(detail) + 32);
        b.put(VERSION);
        b.putLong(r.openedAtMillis()).putLong(r.closedAtMillis());
        b.putInt(r.heartbeatMillis()).putInt(r.timeoutMillis());
        b.put((byte) ((r.tookOver() ? 1 : 0) | (r.resumed() ? 2 : 0)));
        b.putLong(r.lastSeqAtOpen());
        b.put((byte) (r.reason() == null ? NONE : r.reason().code()));
        b.putInt(r.errnoNumber());
        b.putLong(r.durationMillis());
        b.putDouble(r.lateMillis());
        b.putInt(r.drainedFrames());
        putString(b, remote);
        putString(b, errno);
        putString(b, detail);
        b.putLong(r.messagesIn()).putLong(r.bytesIn()).putLong(r.messagesOut()).putLong(r.bytesOut());
        return b.array();
    }

    /**
     * @throws IllegalStateException if {@code v} is not a record of this layout (a damaged store)
     */
    public static SessionRecord decode(String deviceId, long sessionId, byte[] v) {
        if (v.length == 0 || v[0] != VERSION) {
            throw new IllegalStateException("history record version "
                    + (v.length == 0 ? "missing" : Integer.toString(v[0] & 0xFF)) + " (expected: " + VERSION + ")");
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(v, 1, v.length - 1);
            long opened = b.getLong();
            long closed = b.getLong();
            int heartbeat = b.getInt();
            int timeout = b.getInt();
            int flags = b.get();
            long lastSeq = b.getLong();
            int reasonCode = b.get() & 0xFF;
            int errnoNumber = b.getInt();
            long duration = b.getLong();
            double late = b.getDouble();
            int drained = b.getInt();
            String remote = getString(b);
            String errno = getString(b);
            String detail = getString(b);
            boolean traffic = b.remaining() >= 32; // records written before the traffic figures end here
            long messagesIn = traffic ? b.getLong() : -1;
            long bytesIn = traffic ? b.getLong() : -1;
            long messagesOut = traffic ? b.getLong() : -1;
            long bytesOut = traffic ? b.getLong() : -1;
            Reason reason = reasonCode == NONE ? null : Reason.ofCode(reasonCode);
            return new SessionRecord(deviceId, sessionId, opened, closed, remote, heartbeat, timeout, (flags & 1) != 0,
                    (flags & 2) != 0, lastSeq, reason, errno, errnoNumber, detail, duration, late, drained, messagesIn, bytesIn,
                    messagesOut, bytesOut, false);
        } catch (BufferUnderflowException e) {
            throw new IllegalStateException("history record of " + v.length + " bytes is truncated", e);
        }
    }

    private static byte[] utf8(String s, int max) {
        if (s == null) {
            return null;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) {
            return b;
        }
        // Cut on a character boundary: never leave half a UTF-8 sequence.
        int n = max;
        while (n > 0 && (b[n] & 0xC0) == 0x80) {
            n--;
        }
        return java.util.Arrays.copyOf(b, n);
    }

    private static int len(byte[] b) {
        return b == null ? 0 : b.length;
    }

    private static void putString(ByteBuffer b, byte[] s) {
        if (s == null) {
            b.putShort((short) 0xFFFF);
        } else {
            b.putShort((short) s.length).put(s);
        }
    }

    private static String getString(ByteBuffer b) {
        int n = b.getShort() & 0xFFFF;
        if (n == 0xFFFF) {
            return null;
        }
        byte[] s = new byte[n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }
}
