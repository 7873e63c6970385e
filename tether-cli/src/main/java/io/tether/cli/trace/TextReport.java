package io.tether.cli.trace;

import java.io.PrintWriter;
import java.util.function.Consumer;

/** Writes each connection's story in plain words, as it is handed on. */
final class TextReport implements Consumer<Connection> {
    private final PrintWriter out;
    private final Summary summary;
    private final String deviceFilter;

    TextReport(PrintWriter out, Summary summary, String deviceFilter) {
        this.out = out;
        this.summary = summary;
        this.deviceFilter = deviceFilter;
    }

    @Override
    public void accept(Connection c) {
        if (deviceFilter != null && !deviceFilter.equals(c.deviceId)) {
            return;
        }
        summary.add(c);
        TraceAnalyzer a = c.analyzer;
        out.printf("#%d  %s -> %s%s  %s to %s (%.3f s)%n", c.id, c.deviceEndpoint(), c.serverEndpoint(),
                c.deviceId == null ? "" : "  device " + c.deviceId, a.rel(c.firstTime), a.rel(c.lastTime),
                (c.lastTime - c.firstTime) / 1e9);
        out.printf("  verdict: %s — %s%n", c.verdict.words(), c.verdictText);
        if (c.midStream) {
            out.println("  (the capture began after this connection's handshake)");
        }
        for (int i = 0; i < c.events.size(); i++) {
            out.printf("  %10s  %s%n", a.rel(c.eventTimes.get(i)[0]), c.events.get(i));
        }
        if (c.omittedEvents > 0) {
            out.printf("  %10s  … %d more events not listed%n", "", c.omittedEvents);
        }
        Side first = Story.firstCloser(c);
        if (first != null) {
            Side other = first == c.server ? c.device : c.server;
            out.printf("  closed: the %s first, with %s at %s; the %s %s%n", first.name(), Story.how(first),
                    a.rel(Story.firstClose(first)), other.name(),
                    Story.firstClose(other) < 0 ? "never closed in the capture"
                            : "with " + Story.how(other) + " at " + a.rel(Story.firstClose(other)));
        } else {
            out.println("  closed: no FIN or RST from either side in the capture");
        }
        halfClosed(c, a);
        String halfOpen = c.halfOpen();
        if (halfOpen == null && c.server.byeTime >= 0 && c.device.lastTime < c.server.byeTime) {
            halfOpen = String.format("the device was silent from %s; the server went on until %s", a.rel(c.device.lastTime),
                    a.rel(c.server.lastTime));
        }
        if (halfOpen != null) {
            out.println("  half-open: " + halfOpen);
        }
        if (Story.hasDrain(c)) {
            out.printf("  drain window: BYE at %s, FIN %s later, RST %s after the FIN; meanwhile the device sent %d segment%s"
                            + " (%d bytes, %d frame%s)%n", a.rel(c.server.byeTime), Story.ms(c.server.finTime - c.server.byeTime),
                    Story.ms(c.server.rstTime - c.server.finTime), c.device.afterPeerFinSegments,
                    c.device.afterPeerFinSegments == 1 ? "" : "s", c.device.afterPeerFinBytes, c.device.afterPeerFinFrames,
                    c.device.afterPeerFinFrames == 1 ? "" : "s");
        }
        for (Side s : new Side[] {c.device, c.server}) {
            if (s.keepaliveProbes > 0) {
                out.printf("  keepalive: the %s sent %d probe%s, %d answered%s%n", s.name(), s.keepaliveProbes,
                        s.keepaliveProbes == 1 ? "" : "s", s.keepaliveAnswered,
                        s.keepaliveAnsweredByRst > 0 ? " (" + s.keepaliveAnsweredByRst + " with RST)" : "");
            }
            if (s.retransmissions > 0) {
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < s.bestGapCount; i++) {
                    b.append(i == 0 ? "" : ", ").append(String.format("%.0f", s.bestGaps[i] / 1e6));
                }
                double bo = Story.backoff(s.bestGaps, s.bestGapCount);
                out.printf("  retransmissions: the %s %d; the longest run: %d of one segment first sent at %s%s%s%n", s.name(),
                        s.retransmissions, s.bestCount, a.rel(s.bestStart),
                        s.bestGapCount > 0 ? ", spaced " + b + " ms" : "",
                        bo > 0 ? String.format(" (RTO back-off ×%.1f)", bo) : "");
            }
            if (s.zeroWindows > 0) {
                out.printf("  zero window: the %s advertised 0 in %d segment%s, %d period%s, %.3f s in all%n", s.name(),
                        s.zeroWindows, s.zeroWindows == 1 ? "" : "s", s.zeroPeriods, s.zeroPeriods == 1 ? "" : "s", s.zeroTotal / 1e9);
            }
            if (s.stream.missingBytes > 0) {
                out.printf("  capture gaps: %d bytes from the %s missing in %d hole%s%n", s.stream.missingBytes, s.name(),
                        s.stream.gaps, s.stream.gaps == 1 ? "" : "s");
            }
            if (s.stream.notTether) {
                out.printf("  not Tether: the %s sent %s%n", s.name(), s.stream.notTetherWhy);
            }
        }
        out.printf("  packets: device %d (%d bytes; SYN %d, FIN %d, RST %d), server %d (%d bytes; SYN %d, FIN %d, RST %d)%n",
                c.device.packets, c.device.wireBytes, c.device.syns, c.device.fins, c.device.rsts,
                c.server.packets, c.server.wireBytes, c.server.syns, c.server.fins, c.server.rsts);
        out.printf("  frames: device %s; server %s%n", Story.frames(c.device), Story.frames(c.server));
        out.println();
        out.flush();
    }

    private void halfClosed(Connection c, TraceAnalyzer a) {
        Side first = Story.halfCloser(c);
        if (first != null) {
            Side other = first == c.server ? c.device : c.server;
            long end = Story.firstClose(other);
            out.printf("  half-closed: the %s's FIN at %s until %s; the %s sent %d segment%s (%d bytes) meanwhile%n", first.name(),
                    a.rel(first.finTime), end < 0 ? "the end of the capture" : "the " + other.name() + "'s " + Story.how(other)
                            + " at " + a.rel(end), other.name(), other.afterPeerFinSegments,
                    other.afterPeerFinSegments == 1 ? "" : "s", other.afterPeerFinBytes);
        }
    }
}
