package io.tether.cli.trace;

import io.tether.protocol.FrameType;

/** What both report formats derive from a finished {@link Connection}: who closed first, the drain window, back-off. */
final class Story {
    private Story() {
    }

    /** The side whose FIN or RST came first, or null if neither closed. */
    static Side firstCloser(Connection c) {
        long d = firstClose(c.device);
        long s = firstClose(c.server);
        if (d < 0 && s < 0) {
            return null;
        }
        if (d < 0) {
            return c.server;
        }
        if (s < 0) {
            return c.device;
        }
        return d <= s ? c.device : c.server;
    }

    static long firstClose(Side s) {
        if (s.finTime < 0) {
            return s.rstTime;
        }
        return s.rstTime < 0 ? s.finTime : Math.min(s.finTime, s.rstTime);
    }

    /** "FIN", "RST" or "none": how a side closed first. */
    static String how(Side s) {
        long t = firstClose(s);
        if (t < 0) {
            return "none";
        }
        return t == s.finTime ? "FIN" : "RST";
    }

    /** The side that sent the first FIN while the other had not closed yet (a half-close), or null. */
    static Side halfCloser(Connection c) {
        for (Side s : new Side[] {c.device, c.server}) {
            Side other = s == c.server ? c.device : c.server;
            long o = firstClose(other);
            if (s.finTime >= 0 && (s.rstTime < 0 || s.rstTime > s.finTime) && (o < 0 || o > s.finTime)) {
                return s;
            }
        }
        return null;
    }

    /** True if the server sent BYE then FIN (half-close) and then RST: Tether's close with a drain. */
    static boolean hasDrain(Connection c) {
        return c.server.byeTime >= 0 && c.server.finTime >= c.server.byeTime && c.server.rstTime > c.server.finTime;
    }

    /** Mean ratio between successive gaps of a retransmission run (2.0 for the kernel's exponential back-off), or 0. */
    static double backoff(long[] gaps, int n) {
        if (n < 2) {
            return 0;
        }
        double sum = 0;
        int k = 0;
        for (int i = 1; i < n; i++) {
            if (gaps[i - 1] > 0) {
                sum += (double) gaps[i] / gaps[i - 1];
                k++;
            }
        }
        return k == 0 ? 0 : sum / k;
    }

    static String frames(Side s) {
        StringBuilder b = new StringBuilder();
        for (int t = 1; t < s.frames.length; t++) {
            if (s.frames[t] > 0) {
                if (b.length() > 0) {
                    b.append(", ");
                }
                b.append(FrameType.name(t)).append(' ').append(s.frames[t]);
            }
        }
        if (s.firstDataSeq >= 0) {
            b.append(" (DATA seq ").append(s.firstDataSeq).append(s.lastDataSeq != s.firstDataSeq ? "-" + s.lastDataSeq : "").append(')');
        }
        return b.length() == 0 ? "none" : b.toString();
    }

    /** Nanoseconds as milliseconds with one decimal, e.g. {@code 500.0 ms}. */
    static String ms(long nanos) {
        long tenths = Math.round(nanos / 1e5);
        return (tenths < 0 ? "-" : "") + Math.abs(tenths) / 10 + "." + Math.abs(tenths) % 10 + " ms";
    }
}
