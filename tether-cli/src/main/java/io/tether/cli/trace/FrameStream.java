package io.tether.cli.trace;

import io.tether.protocol.FrameType;

import java.util.Arrays;

/**
 * One direction of a connection's byte stream, put back in order by TCP sequence number and cut
 * into Tether frames (docs/PROTOCOL.md section 3).
 *
 * <p>Memory is bounded whatever the stream's length: a frame is buffered only as far as its story
 * needs (all of HELLO, WELCOME and BYE; the header and seq of DATA; the rest is counted and
 * skipped), and segments that arrive ahead of a hole are kept up to {@value #MAX_AHEAD_BYTES} bytes.
 * A hole that is never filled (a packet the capture missed, a snap length shorter than the
 * segment) is skipped: the bytes are counted as missing and decoding resumes at the next segment
 * that starts with a plausible frame header (senders write whole frames, so segments usually
 * start with one). Bytes that do not look like Tether frames at all stop decoding of the
 * direction ({@link #notTether}). Not thread-safe.
 */
final class FrameStream {
    static final int MAX_AHEAD_BYTES = 64 * 1024;
    private static final int MAX_AHEAD_SEGMENTS = 32;
    /** Largest length field taken for a frame; the protocol allows up to 2^31-1, servers advertise 64 KiB by default. */
    private static final long MAX_PLAUSIBLE_LENGTH = 16L << 20;

    interface Frames {
        /**
         * A frame: {@code head} holds its first {@code headLength} bytes (the whole frame for
         * HELLO, WELCOME and BYE), {@code frameLength} is its size on the wire.
         */
        void frame(boolean fromServer, int version, int type, byte[] head, int headLength, long frameLength, long timeNanos);
    }

    private final boolean fromServer;
    private final Frames sink;
    private boolean started;
    private int expected;
    private boolean resync;
    boolean notTether;
    String notTetherWhy;
    long missingBytes;
    long gaps;
    long undecodedBytes;

    private byte[] head = new byte[16];
    private int have;
    private int need;
    private long skip;
    private long frameLength;
    private int version;
    private int type;

    // segments ahead of a hole: seq and bytes, kept in arrival order
    private int[] aheadSeq;
    private byte[][] ahead;
    private long[] aheadTime;
    private int aheadCount;
    private int aheadBytes;

    FrameStream(boolean fromServer, Frames sink) {
        this.fromServer = fromServer;
        this.sink = sink;
    }

    /** The first byte of the stream is {@code seq} (the SYN's sequence number + 1). */
    void start(int seq) {
        if (!started) {
            started = true;
            expected = seq;
        }
    }

    /** A segment's payload: {@code length} bytes by the IP header, of which {@code captured} are present. */
    void segment(int seq, byte[] d, int off, int captured, int length, long time) {
        if (length == 0) {
            return;
        }
        if (!started) {
            // The capture began after the handshake: the first byte seen may be in the middle of a frame.
            started = true;
            expected = seq;
            resync = true;
        }
        int rel = seq - expected;
        if (rel + length <= 0) {
            return; // a retransmission of what was already read
        }
        if (rel > 0) {
            keepAhead(seq, d, off, captured, length, time);
            return;
        }
        take(seq, d, off, captured, length, time);
        drainAhead();
    }

    private void take(int seq, byte[] d, int off, int captured, int length, long time) {
        int skipHere = expected - seq;
        boolean segmentStart = skipHere == 0;
        if (captured > skipHere) {
            consume(d, off + skipHere, captured - skipHere, time, segmentStart);
        }
        if (captured < length) {
            // the snap length cut the segment: the rest is missing from the capture
            gap(seq + length, Math.max(0, length - Math.max(captured, skipHere)));
        } else {
            expected = seq + length;
        }
    }

    private void keepAhead(int seq, byte[] d, int off, int captured, int length, long time) {
        if (aheadSeq == null) {
            aheadSeq = new int[MAX_AHEAD_SEGMENTS];
            ahead = new byte[MAX_AHEAD_SEGMENTS][];
            aheadTime = new long[MAX_AHEAD_SEGMENTS];
        }
        if (aheadCount == MAX_AHEAD_SEGMENTS || aheadBytes + captured > MAX_AHEAD_BYTES) {
            // The hole is not going to be filled within a bounded wait: give it up.
            flushAhead();
            if (seq - expected > 0) {
                gap(seq, seq - expected);
            }
            take(seq, d, off, captured, length, time);
            return;
        }
        aheadSeq[aheadCount] = seq;
        ahead[aheadCount] = Arrays.copyOfRange(d, off, off + captured);
        aheadTime[aheadCount] = time;
        // a segment whose tail the snap length cut: keep what there is, the rest becomes a gap when reached
        if (captured < length) {
            ahead[aheadCount] = Arrays.copyOf(ahead[aheadCount], captured);
        }
        aheadCount++;
        aheadBytes += captured;
    }

    private void drainAhead() {
        boolean progress = true;
        while (aheadCount > 0 && progress) {
            progress = false;
            for (int i = 0; i < aheadCount; i++) {
                if (aheadSeq[i] - expected <= 0) {
                    int s = aheadSeq[i];
                    byte[] b = ahead[i];
                    long t = aheadTime[i];
                    removeAhead(i);
                    if (s - expected + b.length > 0) {
                        take(s, b, 0, b.length, b.length, t);
                    }
                    progress = true;
                    break;
                }
            }
        }
    }

    private void removeAhead(int i) {
        aheadBytes -= ahead[i].length;
        aheadCount--;
        aheadSeq[i] = aheadSeq[aheadCount];
        ahead[i] = ahead[aheadCount];
        aheadTime[i] = aheadTime[aheadCount];
        ahead[aheadCount] = null;
    }

    /** True if {@code seq} lies at or beyond the next byte expected: the segment brings bytes not read yet. */
    boolean fillsHole(int seq) {
        return started && seq - expected >= 0;
    }

    /** End of the stream (FIN, RST, end of capture): whatever waits behind a hole is read after the hole. */
    void finish() {
        flushAhead();
    }

    private void flushAhead() {
        while (aheadCount > 0) {
            int lowest = 0;
            for (int i = 1; i < aheadCount; i++) {
                if (aheadSeq[i] - aheadSeq[lowest] < 0) {
                    lowest = i;
                }
            }
            int s = aheadSeq[lowest];
            if (s - expected > 0) {
                gap(s, s - expected);
            }
            byte[] b = ahead[lowest];
            long t = aheadTime[lowest];
            removeAhead(lowest);
            if (s - expected + b.length > 0) {
                take(s, b, 0, b.length, b.length, t);
            }
        }
    }

    private void gap(int newExpected, long bytes) {
        gaps++;
        missingBytes += bytes;
        expected = newExpected;
        resync = true;
        have = 0;
        skip = 0;
    }

    private void consume(byte[] d, int off, int n, long time, boolean segmentStart) {
        if (notTether) {
            undecodedBytes += n;
            return;
        }
        if (resync) {
            if (!segmentStart || n < 6 || !plausible(d, off)) {
                undecodedBytes += n;
                return;
            }
            resync = false;
            have = 0;
            skip = 0;
        }
        while (n > 0) {
            if (skip > 0) {
                int k = (int) Math.min(skip, n);
                skip -= k;
                off += k;
                n -= k;
                continue;
            }
            int target = have < 6 ? 6 : need;
            int k = Math.min(target - have, n);
            if (have + k > head.length) {
                head = Arrays.copyOf(head, Math.max(target, head.length * 2));
            }
            System.arraycopy(d, off, head, have, k);
            have += k;
            off += k;
            n -= k;
            if (have == 6 && need == 0) {
                if (!header()) {
                    undecodedBytes += n;
                    return;
                }
            }
            if (have >= 6 && have == need) {
                sink.frame(fromServer, version, type, head, have, frameLength, time);
                skip = frameLength - have;
                have = 0;
                need = 0;
            }
        }
    }

    /** Reads the 6-byte header in {@code head}; false (and decoding stops) if it is not a Tether frame. */
    private boolean header() {
        long length = TcpSegment.u32(head, 0) & 0xffffffffL;
        version = head[4] & 0xff;
        type = head[5] & 0xff;
        if (length < 2 || length > MAX_PLAUSIBLE_LENGTH || (version != 1 && version != 2) || FrameType.since(type) == 0) {
            notTether = true;
            notTetherWhy = String.format("bytes that are not a Tether frame header (length %d, version %d, type 0x%02x)",
                    length, version, type);
            undecodedBytes += 6;
            return false;
        }
        frameLength = 4 + length;
        need = (int) Math.min(frameLength, headBytes(type));
        if (head.length < need) {
            head = Arrays.copyOf(head, need);
        }
        return true;
    }

    private static boolean plausible(byte[] d, int off) {
        long length = TcpSegment.u32(d, off) & 0xffffffffL;
        int v = d[off + 4] & 0xff;
        int t = d[off + 5] & 0xff;
        return length >= 2 && length <= MAX_PLAUSIBLE_LENGTH && (v == 1 || v == 2) && FrameType.since(t) != 0;
    }

    /** How much of a frame of this type its story needs. */
    private static int headBytes(int type) {
        return switch (type) {
            case FrameType.HELLO -> 4 + 17 + 128 + 1024;
            case FrameType.BYE -> 4 + 8 + 255;
            case FrameType.WELCOME -> 35;
            case FrameType.RESULT -> 15;
            case FrameType.PING, FrameType.PONG -> 6;
            default -> 14; // DATA, ACK, COMMAND, COMMAND_ACK, RESULT_ACK: header and seq
        };
    }
}
