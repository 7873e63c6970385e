package io.tether.cli.trace;

import java.io.PrintWriter;
import java.util.function.Consumer;

/**
 * Writes each connection's story in plain words, as it is handed on. Built with a StringBuilder
 * rather than printf: a capture may hold hundreds of thousands of connections, and
 * {@code String.format} would cost more than reading their packets.
 */
final class TextReport implements Consumer<Connection> {
    private final PrintWriter out;
    private final Summary summary;
    private final String deviceFilter;
    private final StringBuilder b = new StringBuilder(2048);

    TextReport(PrintWriter out, Summary summary, String deviceFilter) {
        this.out = out;
        this.summary = summary;
        this.deviceFilter = deviceFilter;
    }

    private static String plural(long n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }

    @Override
    public void accept(Connection c) {
        if (deviceFilter != null && !deviceFilter.equals(c.deviceId)) {
            return;
        }
        summary.add(c);
        TraceAnalyzer a = c.analyzer;
        b.setLength(0);
        b.append('#').append(c.id).append("  ").append(c.deviceEndpoint()).append(" -> ").append(c.serverEndpoint());
        if (c.deviceId != null) {
            b.append("  device ").append(c.deviceId);
        }
        b.append("  ").append(a.rel(c.firstTime)).append(" to ").append(a.rel(c.lastTime)).append(" (")
                .append(TraceAnalyzer.seconds(c.lastTime - c.firstTime)).append(" s)\n");
        b.append("  verdict: ").append(c.verdict.words()).append('\n');
        b.append("  why: ").append(c.verdictText).append('\n');
        if (c.midStream) {
            b.append("  (the capture began after this connection's handshake)\n");
        }
        for (int i = 0; i < c.events.size(); i++) {
            String t = a.rel(c.eventTimes.get(i)[0]);
            b.append("  ");
            for (int k = t.length(); k < 10; k++) {
                b.append(' ');
            }
            b.append(t).append("  ").append(c.events.get(i)).append('\n');
        }
        if (c.omittedEvents > 0) {
            b.append("              ... ").append(c.omittedEvents).append(" more events not listed\n");
        }
        Side first = Story.firstCloser(c);
        if (first != null) {
            Side other = first == c.server ? c.device : c.server;
            b.append("  closed: the ").append(first.name()).append(" first, with ").append(Story.how(first)).append(" at ")
                    .append(a.rel(Story.firstClose(first))).append("; the ").append(other.name()).append(' ')
                    .append(Story.firstClose(other) < 0 ? "never closed in the capture"
                            : "with " + Story.how(other) + " at " + a.rel(Story.firstClose(other))).append('\n');
        } else {
            b.append("  closed: no FIN or RST from either side in the capture\n");
        }
        Side hc = Story.halfCloser(c);
        if (hc != null) {
            Side other = hc == c.server ? c.device : c.server;
            long end = Story.firstClose(other);
            b.append("  half-closed: the ").append(hc.name()).append("'s FIN at ").append(a.rel(hc.finTime)).append(" until ")
                    .append(end < 0 ? "the end of the capture" : "the " + other.name() + "'s " + Story.how(other) + " at " + a.rel(end))
                    .append("; the ").append(other.name()).append(" sent ").append(plural(other.afterPeerFinSegments, "segment"))
                    .append(" (").append(other.afterPeerFinBytes).append(" bytes) meanwhile\n");
        }
        String halfOpen = c.halfOpen();
        if (halfOpen == null && c.server.byeTime >= 0 && c.device.lastTime < c.server.byeTime) {
            halfOpen = "the device was silent from " + a.rel(c.device.lastTime) + "; the server went on until " + a.rel(c.server.lastTime);
        }
        if (halfOpen != null) {
            b.append("  half-open: ").append(halfOpen).append('\n');
        }
        if (Story.hasDrain(c)) {
            b.append("  drain window: BYE at ").append(a.rel(c.server.byeTime)).append(", FIN ")
                    .append(Story.ms(c.server.finTime - c.server.byeTime)).append(" later, RST ")
                    .append(Story.ms(c.server.rstTime - c.server.finTime)).append(" after the FIN; meanwhile the device sent ")
                    .append(plural(c.device.afterPeerFinSegments, "segment")).append(" (").append(c.device.afterPeerFinBytes)
                    .append(" bytes, ").append(plural(c.device.afterPeerFinFrames, "frame")).append(")\n");
        }
        for (Side s : new Side[] {c.device, c.server}) {
            if (s.keepaliveProbes > 0) {
                b.append("  keepalive: the ").append(s.name()).append(" sent ").append(plural(s.keepaliveProbes, "probe")).append(", ")
                        .append(s.keepaliveAnswered).append(" answered")
                        .append(s.keepaliveAnsweredByRst > 0 ? " (" + s.keepaliveAnsweredByRst + " with RST)" : "").append('\n');
            }
            if (s.retransmissions > 0) {
                b.append("  retransmissions: the ").append(s.name()).append(' ').append(s.retransmissions)
                        .append("; the longest run: ").append(s.bestCount).append(" of one segment first sent at ").append(a.rel(s.bestStart));
                if (s.bestGapCount > 0) {
                    b.append(", spaced ");
                    for (int i = 0; i < s.bestGapCount; i++) {
                        b.append(i == 0 ? "" : ", ").append(Math.round(s.bestGaps[i] / 1e6));
                    }
                    b.append(" ms");
                }
                double bo = Story.backoff(s.bestGaps, s.bestGapCount);
                if (bo > 0) {
                    b.append(" (RTO back-off x").append(Math.round(bo * 10) / 10.0).append(')');
                }
                b.append('\n');
            }
            if (s.zeroWindows > 0) {
                b.append("  zero window: the ").append(s.name()).append(" advertised 0 in ").append(plural(s.zeroWindows, "segment"))
                        .append(", ").append(plural(s.zeroPeriods, "period")).append(", ")
                        .append(TraceAnalyzer.seconds(s.zeroTotal)).append(" s in all\n");
            }
            if (s.stream.missingBytes > 0) {
                b.append("  capture gaps: ").append(s.stream.missingBytes).append(" bytes from the ").append(s.name())
                        .append(" missing in ").append(plural(s.stream.gaps, "hole")).append('\n');
            }
            if (s.stream.notTether) {
                b.append("  not Tether: the ").append(s.name()).append(" sent ").append(s.stream.notTetherWhy).append('\n');
            }
        }
        b.append("  packets: device ").append(c.device.packets).append(" (").append(c.device.wireBytes).append(" bytes; SYN ")
                .append(c.device.syns).append(", FIN ").append(c.device.fins).append(", RST ").append(c.device.rsts)
                .append("), server ").append(c.server.packets).append(" (").append(c.server.wireBytes).append(" bytes; SYN ")
                .append(c.server.syns).append(", FIN ").append(c.server.fins).append(", RST ").append(c.server.rsts).append(")\n");
        b.append("  frames: device ").append(Story.frames(c.device)).append("; server ").append(Story.frames(c.server)).append("\n\n");
        out.append(b);
    }
}
