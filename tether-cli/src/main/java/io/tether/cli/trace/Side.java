package io.tether.cli.trace;

/**
 * What one endpoint of a connection sent, as far as its story needs: counters, the highest
 * sequence number sent, FIN/RST times, keepalive probes, retransmissions with their spacing, zero
 * windows, Tether frames. Fixed size, whatever the connection's length.
 */
final class Side {
    static final int MAX_BACKOFF = 16;

    final boolean server;
    final FrameStream stream;

    long packets;
    long wireBytes;
    long payloadBytes;
    int syns;
    int fins;
    int rsts;
    long firstTime = -1;
    long lastTime = -1;

    boolean hasSeq;
    int isn;
    int nxt;
    long finTime = -1;
    long rstTime = -1;
    /** The last segments that carried something new (payload, SYN or FIN): their seq and time, a ring. */
    static final int RECENT = 8;
    final int[] newSeq = new int[RECENT];
    final long[] newTime = new long[RECENT];
    int newCount;
    long outOfOrder;

    void sentNew(int seq, long t) {
        newSeq[newCount % RECENT] = seq;
        newTime[newCount % RECENT] = t;
        newCount++;
    }

    /** When a segment starting at {@code seq} was first sent, if it is among the last few; else -1. */
    long firstSent(int seq) {
        for (int i = 0; i < Math.min(newCount, RECENT); i++) {
            if (newSeq[i] == seq) {
                return newTime[i];
            }
        }
        return -1;
    }

    long retransmissions;
    // the current run of retransmissions of one sequence number, and the longest one so far
    int runSeq;
    long runPrev;
    int runCount;
    int runGapCount;
    long runFirst;
    long[] runGaps = new long[MAX_BACKOFF];
    int bestCount;
    long bestStart;
    long[] bestGaps = new long[MAX_BACKOFF];
    int bestGapCount;

    long keepaliveProbes;
    long keepaliveAnswered;
    long keepaliveAnsweredByRst;
    boolean probePending;
    long firstProbeTime = -1;
    long lastProbeTime = -1;

    long zeroWindows;
    int zeroPeriods;
    boolean inZeroWindow;
    long zeroSince;
    long zeroTotal;

    /** Segments sent since the other side last sent anything, and how many of them wanted an answer. */
    long sinceOther;
    long sinceOtherExpecting;
    /** Of those, retransmissions and keepalive probes: proof that this side waited for an answer. */
    long sinceOtherRetries;
    long sinceOtherFrom = -1;

    // Tether frames
    final long[] frames = new long[12];
    long firstDataSeq = -1;
    long lastDataSeq = -1;
    long lastAckSeq = -1;
    long lastFrameTime = -1;
    int lastFrameType;
    long byeTime = -1;
    int byeReason = -1;
    String byeText;
    int byeReconnectMs;
    /** Frames and payload bytes sent after the other side's FIN (the drain window, when this is the device). */
    long afterPeerFinSegments;
    long afterPeerFinBytes;
    long afterPeerFinFrames;

    Side(boolean server, FrameStream.Frames sink) {
        this.server = server;
        this.stream = new FrameStream(server, sink);
    }

    String name() {
        return server ? "server" : "device";
    }

    long frameCount() {
        long n = 0;
        for (long f : frames) {
            n += f;
        }
        return n;
    }

    /** Ends the current retransmission run, keeping it if it is the longest. */
    void endRun() {
        if (runCount > bestCount) {
            bestCount = runCount;
            bestStart = runFirst;
            bestGapCount = runGapCount;
            System.arraycopy(runGaps, 0, bestGaps, 0, bestGapCount);
        }
        runCount = 0;
        runGapCount = 0;
    }

    void addGap(long gap) {
        if (runGapCount < MAX_BACKOFF) {
            runGaps[runGapCount++] = gap;
        }
    }
}
