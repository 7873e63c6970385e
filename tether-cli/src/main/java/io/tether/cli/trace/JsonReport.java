package io.tether.cli.trace;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.tether.protocol.FrameType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes the stories as one JSON document, streamed: {@code {"file":…, "connections":[…], "summary":{…}}}
 * (the summary comes last: the file's format, counts and verdicts are known only at its end).
 * Times are seconds since the capture's first packet ({@code …At}), except {@code startTime}
 * (ISO-8601, UTC); a time that did not happen is absent.
 */
final class JsonReport implements Consumer<Connection> {
    private final JsonGenerator g;
    private final Summary summary;
    private final String deviceFilter;

    JsonReport(Writer out, Summary summary, String deviceFilter, String file) throws IOException {
        this.g = new JsonFactory().createGenerator(out);
        this.g.useDefaultPrettyPrinter();
        this.summary = summary;
        this.deviceFilter = deviceFilter;
        g.writeStartObject();
        g.writeStringField("file", file);
        g.writeArrayFieldStart("connections");
    }

    @Override
    public void accept(Connection c) {
        if (deviceFilter != null && !deviceFilter.equals(c.deviceId)) {
            return;
        }
        summary.add(c);
        try {
            write(c);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Closes the document with the summary. */
    void end(TraceAnalyzer a, CaptureReader r, int port) throws IOException {
        g.writeEndArray();
        g.writeObjectFieldStart("summary");
        if (r != null) {
            g.writeStringField("format", r.format());
        }
        if (port != 0) {
            g.writeNumberField("port", port);
        }
        g.writeNumberField("packets", a.packets);
        g.writeNumberField("tcpPackets", a.tcpPackets);
        g.writeNumberField("portPackets", a.portPackets);
        g.writeNumberField("connections", a.connections);
        g.writeNumberField("shown", summary.shown);
        if (a.firstTime >= 0) {
            g.writeStringField("startTime", Instant.ofEpochSecond(0, a.firstTime).toString());
            g.writeNumberField("durationSeconds", (a.lastTime - a.firstTime) / 1e9);
        }
        g.writeBooleanField("truncated", r != null && r.truncated() >= 0);
        if (r != null && r.truncated() >= 0) {
            g.writeNumberField("truncatedBytes", r.truncated());
        }
        g.writeObjectFieldStart("verdicts");
        for (Map.Entry<Verdict, Long> e : summary.verdicts.entrySet()) {
            g.writeNumberField(e.getKey().code(), e.getValue());
        }
        g.writeEndObject();
        g.writeEndObject();
        g.writeEndObject();
        g.writeRaw('\n');
        g.flush();
    }

    private void time(String name, TraceAnalyzer a, long t) throws IOException {
        if (t >= 0) {
            g.writeNumberField(name, Math.round((t - a.firstTime) / 1e3) / 1e6);
        }
    }

    private void write(Connection c) throws IOException {
        TraceAnalyzer a = c.analyzer;
        g.writeStartObject();
        g.writeNumberField("id", c.id);
        g.writeObjectFieldStart("verdict");
        g.writeStringField("code", c.verdict.code());
        g.writeStringField("words", c.verdict.words());
        g.writeStringField("text", c.verdictText);
        g.writeEndObject();
        g.writeObjectFieldStart("device");
        g.writeStringField("address", c.deviceAddress());
        g.writeNumberField("port", c.devicePort());
        if (c.deviceId != null) {
            g.writeStringField("id", c.deviceId);
        }
        g.writeEndObject();
        g.writeObjectFieldStart("server");
        g.writeStringField("address", c.serverAddress());
        g.writeNumberField("port", c.serverPort());
        g.writeEndObject();
        g.writeStringField("startTime", Instant.ofEpochSecond(0, c.firstTime).toString());
        time("startAt", a, c.firstTime);
        time("endAt", a, c.lastTime);
        g.writeNumberField("durationSeconds", (c.lastTime - c.firstTime) / 1e9);
        g.writeBooleanField("midStream", c.midStream);

        g.writeObjectFieldStart("handshake");
        time("synAt", a, c.synTime);
        time("synAckAt", a, c.synAckTime);
        time("ackAt", a, c.handshakeAckTime);
        g.writeNumberField("synAttempts", c.device.syns);
        g.writeBooleanField("refused", c.refusedTime >= 0);
        g.writeEndObject();

        if (c.deviceId != null) {
            g.writeObjectFieldStart("hello");
            time("at", a, c.helloTime);
            g.writeStringField("deviceId", c.deviceId);
            g.writeNumberField("version", c.helloVersion);
            g.writeNumberField("heartbeatMs", c.helloHeartbeatMs);
            g.writeStringField("resumeSession", Long.toUnsignedString(c.resumeSession));
            g.writeEndObject();
        }
        if (c.welcomeTime >= 0) {
            g.writeObjectFieldStart("welcome");
            time("at", a, c.welcomeTime);
            g.writeStringField("sessionId", Long.toUnsignedString(c.sessionId));
            g.writeNumberField("heartbeatMs", c.heartbeatMs);
            g.writeNumberField("timeoutMs", c.timeoutMs);
            g.writeNumberField("flags", c.welcomeFlags);
            g.writeEndObject();
        }
        g.writeObjectFieldStart("bye");
        for (Side s : new Side[] {c.device, c.server}) {
            if (s.byeTime >= 0) {
                g.writeObjectFieldStart(s.name());
                time("at", a, s.byeTime);
                g.writeStringField("reason", Connection.reasonName(s.byeReason));
                g.writeStringField("text", s.byeText);
                g.writeNumberField("reconnectAfterMs", s.byeReconnectMs);
                g.writeEndObject();
            }
        }
        g.writeEndObject();

        g.writeObjectFieldStart("close");
        Side first = Story.firstCloser(c);
        if (first != null) {
            g.writeStringField("first", first.name());
            g.writeStringField("how", Story.how(first));
        } else {
            g.writeStringField("how", "none");
        }
        time("closedAt", a, c.closedTime);
        for (Side s : new Side[] {c.device, c.server}) {
            time(s.name() + "FinAt", a, s.finTime);
            time(s.name() + "RstAt", a, s.rstTime);
        }
        g.writeEndObject();

        Side hc = Story.halfCloser(c);
        if (hc != null) {
            Side other = hc == c.server ? c.device : c.server;
            g.writeObjectFieldStart("halfClosed");
            g.writeStringField("by", hc.name());
            time("from", a, hc.finTime);
            time("until", a, Story.firstClose(other));
            g.writeNumberField("otherSegments", other.afterPeerFinSegments);
            g.writeNumberField("otherBytes", other.afterPeerFinBytes);
            g.writeEndObject();
        }
        for (Side s : new Side[] {c.server, c.device}) {
            Side other = s == c.server ? c.device : c.server;
            boolean openAtEnd = s.sinceOtherExpecting > 0 && !c.closed();
            boolean silentAfterBye = s == c.server && s.byeTime >= 0 && other.lastTime < s.byeTime;
            if (openAtEnd || silentAfterBye) {
                g.writeObjectFieldStart("halfOpen");
                g.writeStringField("silent", other.name());
                time("from", a, other.lastTime);
                time("until", a, s.lastTime);
                g.writeNumberField("unansweredSegments", s.sinceOther);
                g.writeEndObject();
                break;
            }
        }
        if (Story.hasDrain(c)) {
            g.writeObjectFieldStart("drain");
            time("byeAt", a, c.server.byeTime);
            time("finAt", a, c.server.finTime);
            time("rstAt", a, c.server.rstTime);
            g.writeNumberField("windowMs", (c.server.rstTime - c.server.finTime) / 1e6);
            g.writeNumberField("deviceSegments", c.device.afterPeerFinSegments);
            g.writeNumberField("deviceBytes", c.device.afterPeerFinBytes);
            g.writeNumberField("deviceFrames", c.device.afterPeerFinFrames);
            g.writeEndObject();
        }
        g.writeObjectFieldStart("sides");
        for (Side s : new Side[] {c.device, c.server}) {
            g.writeObjectFieldStart(s.name());
            g.writeNumberField("packets", s.packets);
            g.writeNumberField("bytes", s.wireBytes);
            g.writeNumberField("payloadBytes", s.payloadBytes);
            g.writeNumberField("syn", s.syns);
            g.writeNumberField("fin", s.fins);
            g.writeNumberField("rst", s.rsts);
            time("firstAt", a, s.firstTime);
            time("lastAt", a, s.lastTime);
            g.writeObjectFieldStart("frames");
            for (int t = 1; t < s.frames.length; t++) {
                if (s.frames[t] > 0) {
                    g.writeNumberField(FrameType.name(t), s.frames[t]);
                }
            }
            g.writeEndObject();
            if (s.firstDataSeq >= 0) {
                g.writeNumberField("firstDataSeq", s.firstDataSeq);
                g.writeNumberField("lastDataSeq", s.lastDataSeq);
            }
            time("lastFrameAt", a, s.lastFrameTime);
            g.writeObjectFieldStart("keepalive");
            g.writeNumberField("probes", s.keepaliveProbes);
            g.writeNumberField("answered", s.keepaliveAnswered);
            g.writeNumberField("answeredWithRst", s.keepaliveAnsweredByRst);
            time("firstProbeAt", a, s.firstProbeTime);
            time("lastProbeAt", a, s.lastProbeTime);
            g.writeEndObject();
            g.writeObjectFieldStart("retransmissions");
            g.writeNumberField("count", s.retransmissions);
            if (s.bestCount > 0) {
                g.writeNumberField("longestRun", s.bestCount);
                time("longestRunFirstSentAt", a, s.bestStart);
                g.writeArrayFieldStart("longestRunIntervalsMs");
                for (int i = 0; i < s.bestGapCount; i++) {
                    g.writeNumber(Math.round(s.bestGaps[i] / 1e3) / 1e3);
                }
                g.writeEndArray();
                g.writeNumberField("backoff", Math.round(Story.backoff(s.bestGaps, s.bestGapCount) * 100) / 100.0);
            }
            g.writeEndObject();
            g.writeObjectFieldStart("zeroWindow");
            g.writeNumberField("segments", s.zeroWindows);
            g.writeNumberField("periods", s.zeroPeriods);
            g.writeNumberField("seconds", s.zeroTotal / 1e9);
            g.writeEndObject();
            g.writeNumberField("missingBytes", s.stream.missingBytes);
            if (s.stream.notTether) {
                g.writeStringField("notTether", s.stream.notTetherWhy);
            }
            g.writeEndObject();
        }
        g.writeEndObject();
        if (c.newerId >= 0) {
            g.writeNumberField("takenOverBy", c.newerId);
        }
        if (c.resumedById >= 0) {
            g.writeNumberField("resumedBy", c.resumedById);
        }
        g.writeArrayFieldStart("events");
        for (int i = 0; i < c.events.size(); i++) {
            g.writeStartObject();
            time("at", a, c.eventTimes.get(i)[0]);
            g.writeStringField("text", c.events.get(i));
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeNumberField("omittedEvents", c.omittedEvents);
        g.writeEndObject();
        g.flush();
    }
}
