package io.tether.cli.trace;

import io.netty.buffer.Unpooled;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.FrameType;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * One TCP connection of a capture and its story: handshake, Tether frames, closes, keepalive
 * probes, retransmissions, zero windows, the drain window, and at the end a {@link Verdict}.
 * The device is the side that sent the SYN (or, for a connection whose handshake the capture
 * missed, the side that is not on the server port). State is bounded: a fixed set of counters
 * per side and at most {@value #MAX_EVENTS} timeline events. Not thread-safe.
 */
final class Connection implements FrameStream.Frames {
    static final int MAX_EVENTS = 48;
    /** As Wireshark's tcp.analysis.out_of_order: a hole filled within 3 ms of the sender's previous segment. */
    static final long OUT_OF_ORDER_NANOS = 3_000_000L;

    final int id;
    // canonical key: endpoint a sorts before endpoint b
    final long aHi;
    final long aLo;
    final long bHi;
    final long bLo;
    final int ports; // a's port << 16 | b's port
    final boolean ipv6;
    final boolean deviceIsA;
    final TraceAnalyzer analyzer;

    final Side device;
    final Side server;

    long firstTime = -1;
    long lastTime = -1;
    long closedTime = -1;
    boolean midStream;

    long synTime = -1;
    long synAckTime = -1;
    long handshakeAckTime = -1;
    long refusedTime = -1;

    String deviceId;
    long helloTime = -1;
    int helloVersion;
    int helloHeartbeatMs;
    long resumeSession;
    long welcomeTime = -1;
    long sessionId;
    int heartbeatMs;
    int timeoutMs;
    int welcomeFlags;
    String malformed;
    /** The device's last frame before the server's BYE (its frames in the drain window come after). */
    long deviceFrameBeforeServerBye = -1;

    // other connections of the same device
    int newerId = -1;
    long newerTime = -1;
    int resumedById = -1;
    long resumedByTime = -1;

    final List<long[]> eventTimes = new ArrayList<>();
    final List<String> events = new ArrayList<>();
    long omittedEvents;

    Verdict verdict;
    String verdictText;
    boolean emitted;

    Connection(int id, TraceAnalyzer analyzer, long aHi, long aLo, long bHi, long bLo, int ports, boolean ipv6,
               boolean deviceIsA) {
        this.id = id;
        this.analyzer = analyzer;
        this.aHi = aHi;
        this.aLo = aLo;
        this.bHi = bHi;
        this.bLo = bLo;
        this.ports = ports;
        this.ipv6 = ipv6;
        this.deviceIsA = deviceIsA;
        this.device = new Side(false, this);
        this.server = new Side(true, this);
    }

    int devicePort() {
        return deviceIsA ? ports >>> 16 : ports & 0xffff;
    }

    int serverPort() {
        return deviceIsA ? ports & 0xffff : ports >>> 16;
    }

    String deviceAddress() {
        return deviceIsA ? address(aHi, aLo) : address(bHi, bLo);
    }

    String serverAddress() {
        return deviceIsA ? address(bHi, bLo) : address(aHi, aLo);
    }

    private String address(long hi, long lo) {
        try {
            if (!ipv6) {
                return InetAddress.getByAddress(new byte[] {(byte) (lo >>> 24), (byte) (lo >>> 16), (byte) (lo >>> 8), (byte) lo})
                        .getHostAddress();
            }
            byte[] b = new byte[16];
            for (int i = 0; i < 8; i++) {
                b[i] = (byte) (hi >>> (56 - 8 * i));
                b[8 + i] = (byte) (lo >>> (56 - 8 * i));
            }
            return "[" + InetAddress.getByAddress(b).getHostAddress() + "]";
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // unreachable: 4 or 16 bytes
        }
    }

    String deviceEndpoint() {
        return deviceAddress() + ":" + devicePort();
    }

    String serverEndpoint() {
        return serverAddress() + ":" + serverPort();
    }

    /** True once an RST was seen, or a FIN from each side: the connection is over. */
    boolean closed() {
        return closedTime >= 0;
    }

    void event(long t, String text) {
        if (events.size() >= MAX_EVENTS) {
            omittedEvents++;
            return;
        }
        eventTimes.add(new long[] {t});
        events.add(text);
    }

    /** One segment of this connection; {@code s} is valid only during the call. */
    void packet(TcpSegment s, boolean fromDevice, long t, int wireLength) {
        Side me = fromDevice ? device : server;
        Side peer = fromDevice ? server : device;
        String who = me.name();
        if (firstTime < 0) {
            firstTime = t;
        }
        lastTime = t;
        me.packets++;
        me.wireBytes += wireLength;
        me.payloadBytes += s.payloadLength;
        if (me.firstTime < 0) {
            me.firstTime = t;
        }
        long previous = me.lastTime;
        me.lastTime = t;
        boolean syn = s.has(TcpSegment.SYN);
        boolean fin = s.has(TcpSegment.FIN);
        boolean rst = s.has(TcpSegment.RST);
        boolean ack = s.has(TcpSegment.ACK);

        if (peer.probePending) {
            peer.probePending = false;
            peer.keepaliveAnswered++;
            if (rst) {
                peer.keepaliveAnsweredByRst++;
            }
            if (peer.keepaliveAnswered <= 3) {
                event(t, who + " answered keepalive probe " + peer.keepaliveProbes + (rst ? " with RST" : " (ACK)"));
            }
        }
        peer.sinceOther = 0;
        peer.sinceOtherExpecting = 0;
        peer.sinceOtherRetries = 0;
        peer.sinceOtherFrom = -1;
        me.sinceOther++;
        if (me.sinceOtherFrom < 0) {
            me.sinceOtherFrom = t;
        }

        if (syn) {
            me.syns++;
            if (!ack) {
                if (synTime < 0) {
                    synTime = t;
                    event(t, "device SYN");
                } else if (me.syns <= 6) {
                    event(t, String.format("device SYN again (attempt %d, %.3f s after the first)", me.syns, (t - synTime) / 1e9));
                }
            } else if (synAckTime < 0) {
                synAckTime = t;
                event(t, "server SYN-ACK" + (synTime >= 0 ? " (" + Story.ms(t - synTime) + " after the SYN)" : ""));
            }
        }
        if (rst) {
            me.rsts++;
            if (me.rstTime < 0) {
                me.rstTime = t;
                event(t, who + " RST" + (!fromDevice && synTime >= 0 && synAckTime < 0 ? " in answer to the SYN: nothing listens" : ""));
                if (!fromDevice && synTime >= 0 && synAckTime < 0) {
                    refusedTime = t;
                }
            }
            if (closedTime < 0) {
                closedTime = t;
            }
        }
        if (fromDevice && ack && !syn && !rst && synAckTime >= 0 && handshakeAckTime < 0 && s.ack == server.isn + 1) {
            handshakeAckTime = t;
            event(t, "device ACK: connection established");
        }

        if (!rst) {
            int len = s.payloadLength;
            int seglen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
            if (!me.hasSeq) {
                me.hasSeq = true;
                me.isn = s.seq;
                me.nxt = s.seq + seglen;
                if (!syn) {
                    midStream = true;
                }
                if (seglen > 0) {
                    me.sentNew(s.seq, t);
                }
            } else if (len <= 1 && !syn && !fin && s.seq == me.nxt - 1) {
                // A keepalive probe: one byte before the next sequence number, so the peer must answer with an ACK.
                me.keepaliveProbes++;
                me.probePending = true;
                me.sinceOtherExpecting++;
                me.sinceOtherRetries++;
                if (me.firstProbeTime < 0) {
                    me.firstProbeTime = t;
                }
                if (me.keepaliveProbes <= 4) {
                    event(t, String.format("%s keepalive probe %d (%s silent for %.3f s)", who, me.keepaliveProbes,
                            peer.name(), peer.lastTime < 0 ? 0 : (t - peer.lastTime) / 1e9));
                }
                me.lastProbeTime = t;
            } else if (seglen > 0 && s.seq - me.nxt < 0 && len > 0 && me.stream.fillsHole(s.seq + (syn ? 1 : 0))
                    && t - previous < OUT_OF_ORDER_NANOS) {
                // Wireshark's rule: data that fills a hole within 3 ms of the sender's previous segment came out of order
                me.outOfOrder++;
                me.sinceOtherExpecting++;
            } else if (seglen > 0 && s.seq - me.nxt < 0) {
                me.retransmissions++;
                me.sinceOtherExpecting++;
                me.sinceOtherRetries++;
                if (me.runCount > 0 && s.seq == me.runSeq) {
                    me.addGap(t - me.runPrev);
                    me.runCount++;
                } else {
                    me.endRun();
                    me.runSeq = s.seq;
                    me.runCount = 1;
                    me.runFirst = t;
                    long sent = me.firstSent(s.seq);
                    if (sent >= 0) {
                        me.runFirst = sent;
                        me.addGap(t - sent);
                    }
                }
                me.runPrev = t;
            } else if (seglen > 0) {
                me.sinceOtherExpecting++;
                if (me.runCount > 0) {
                    me.endRun();
                }
                me.sentNew(s.seq, t);
            }
            int end = s.seq + seglen;
            if (end - me.nxt > 0) {
                me.nxt = end;
            }
            if (syn) {
                me.isn = s.seq;
                me.stream.start(s.seq + 1);
            }
            if (!syn && !fin && s.window == 0) {
                me.zeroWindows++;
                if (!me.inZeroWindow) {
                    me.inZeroWindow = true;
                    me.zeroSince = t;
                    me.zeroPeriods++;
                    if (me.zeroPeriods <= 3) {
                        event(t, who + " advertises a zero window: it is not reading");
                    }
                }
            } else if (s.window > 0 && me.inZeroWindow) {
                me.inZeroWindow = false;
                me.zeroTotal += t - me.zeroSince;
                if (me.zeroPeriods <= 3) {
                    event(t, String.format("%s window open again after %.3f s", who, (t - me.zeroSince) / 1e9));
                }
            }
        }
        if (len(s) > 0 && peer.finTime >= 0 && peer.finTime < t) {
            me.afterPeerFinSegments++;
            me.afterPeerFinBytes += s.payloadLength;
        }
        if (s.payloadLength > 0 && !rst) {
            me.stream.segment(s.seq + (syn ? 1 : 0), s.data, s.payloadOffset, s.payloadCaptured, s.payloadLength, t);
        }
        if (fin) {
            me.fins++;
            if (me.finTime < 0) {
                me.finTime = t;
                event(t, who + " FIN" + (peer.finTime < 0 ? " (" + who + " closes first; half-close)" : ""));
                me.stream.finish();
            }
            if (peer.finTime >= 0 && closedTime < 0) {
                closedTime = t;
            }
        }
        if (rst) {
            me.stream.finish();
        }
    }

    private static int len(TcpSegment s) {
        return s.payloadLength;
    }

    @Override
    public void frame(boolean fromServer, int version, int type, byte[] head, int headLength, long frameLength, long t) {
        Side me = fromServer ? server : device;
        Side peer = fromServer ? device : server;
        if (type < me.frames.length) {
            me.frames[type]++;
        }
        me.lastFrameTime = t;
        me.lastFrameType = type;
        if (peer.finTime >= 0 && peer.finTime < t) {
            me.afterPeerFinFrames++;
        }
        switch (type) {
            case FrameType.DATA, FrameType.ACK, FrameType.COMMAND, FrameType.COMMAND_ACK, FrameType.RESULT, FrameType.RESULT_ACK -> {
                if (headLength >= 14) {
                    long seq = TcpSegment.u64(head, 6);
                    if (type == FrameType.DATA) {
                        if (me.firstDataSeq < 0) {
                            me.firstDataSeq = seq;
                        }
                        me.lastDataSeq = seq;
                    } else if (type == FrameType.ACK) {
                        me.lastAckSeq = seq;
                    }
                }
                if (peer.finTime >= 0 && peer.finTime < t && me.afterPeerFinFrames <= 3) {
                    event(t, String.format("%s %s%s after the %s's FIN (drain window)", me.name(), FrameType.name(type),
                            headLength >= 14 ? " seq " + TcpSegment.u64(head, 6) : "", peer.name()));
                }
            }
            case FrameType.HELLO, FrameType.WELCOME, FrameType.BYE -> whole(me, version, type, head, headLength, frameLength, t);
            default -> {
                // PING, PONG: counted
            }
        }
    }

    private void whole(Side me, int version, int type, byte[] head, int headLength, long frameLength, long t) {
        if (headLength != frameLength) {
            malformed(t, me.name() + " sent a " + FrameType.name(type) + " of " + frameLength + " bytes, too long to be valid");
            return;
        }
        Frame f;
        try {
            f = FrameCodec.decodeBody(version, type, Unpooled.wrappedBuffer(head, 6, headLength - 6));
        } catch (ProtocolException e) {
            malformed(t, me.name() + " sent a malformed " + FrameType.name(type) + ": " + e.getMessage());
            return;
        }
        if (f instanceof Frame.Hello h) {
            if (deviceId == null) {
                deviceId = h.deviceId();
                helloTime = t;
                helloVersion = h.version();
                helloHeartbeatMs = h.heartbeatMillis();
                resumeSession = h.resumeSession();
                event(t, "device HELLO: id " + h.deviceId() + ", version " + h.version() + ", heartbeat "
                        + (h.heartbeatMillis() == 0 ? "server's default" : h.heartbeatMillis() + " ms")
                        + (h.resumeSession() != 0 ? ", resumes session " + Long.toUnsignedString(h.resumeSession()) : ""));
                analyzer.hello(this, t);
            }
        } else if (f instanceof Frame.Welcome w) {
            if (welcomeTime < 0) {
                welcomeTime = t;
                sessionId = w.sessionId();
                heartbeatMs = w.heartbeatMillis();
                timeoutMs = w.timeoutMillis();
                welcomeFlags = w.flags();
                event(t, "server WELCOME: session " + Long.toUnsignedString(w.sessionId()) + ", "
                        + (w.heartbeatMillis() == 0 ? "heartbeats off (keepalive only)"
                        : "heartbeat " + w.heartbeatMillis() + " ms, timeout " + w.timeoutMillis() + " ms")
                        + (w.resumed() ? ", resumed" : "") + (w.quiet() ? ", quiet" : ""));
                analyzer.welcome(this);
            }
        } else if (f instanceof Frame.Bye b) {
            if (me.byeTime < 0) {
                me.byeTime = t;
                if (me == server) {
                    deviceFrameBeforeServerBye = device.lastFrameTime;
                }
                me.byeReason = b.reason().code();
                me.byeText = b.text();
                me.byeReconnectMs = b.reconnectAfterMillis();
                event(t, me.name() + " BYE " + b.reason().name() + (b.text().isEmpty() ? "" : " \"" + b.text() + "\"")
                        + (b.reconnectAfterMillis() > 0 ? ", reconnect after " + b.reconnectAfterMillis() + " ms" : ""));
            }
        }
    }

    private void malformed(long t, String what) {
        if (malformed == null) {
            malformed = what;
            event(t, what);
        }
    }

    static String reasonName(int code) {
        Reason r = code < 0 ? null : Reason.ofCode(code);
        return r == null ? "0x" + Integer.toHexString(code) : r.name();
    }

    /** Ends the story: flushes the frame streams and picks the verdict. */
    void finish(long captureEnd) {
        device.stream.finish();
        server.stream.finish();
        device.endRun();
        server.endRun();
        if (device.inZeroWindow) {
            device.zeroTotal += lastTime - device.zeroSince;
        }
        if (server.inZeroWindow) {
            server.zeroTotal += lastTime - server.zeroSince;
        }
        decide();
    }

    /**
     * The verdict rules, first match wins (docs/OPERATIONS.md, "Reading a capture with tether
     * trace", says the same in words).
     */
    void decide() {
        int serverBye = server.byeReason;
        if (synTime >= 0 && synAckTime < 0 && refusedTime >= 0) {
            set(Verdict.REFUSED, String.format("the server answered the SYN with RST after %.1f ms: nothing listened on port %d",
                    (refusedTime - synTime) / 1e6, serverPort()));
        } else if (synTime >= 0 && synAckTime < 0) {
            set(Verdict.NO_ANSWER, String.format("%d SYN%s over %.3f s and no answer: the server is down, a firewall drops"
                    + " them, or its accept queue is full", device.syns, device.syns == 1 ? "" : "s", (device.lastTime - synTime) / 1e9));
        } else if (serverBye == Reason.SERVER_BUSY.code()) {
            set(Verdict.SERVER_BUSY, "the server refused the connection with BYE SERVER_BUSY" + reconnectHint(server)
                    + ": its connection limit or connect rate was reached");
        } else if (serverBye == Reason.TAKEN_OVER.code()) {
            set(Verdict.TAKEN_OVER, (newerId >= 0
                    ? String.format("connection #%d with the same device id%s opened at %s; ", newerId,
                    deviceId == null ? "" : " (" + deviceId + ")", analyzer.rel(newerTime))
                    : "a newer connection with the same device id (not in this capture) claimed it; ")
                    + "the server sent BYE TAKEN_OVER here and reset it"
                    + (device.lastTime < server.byeTime ? String.format("; this device had been silent since %s: it had rebooted",
                    analyzer.rel(device.lastTime)) : ""));
        } else if (serverBye == Reason.HEARTBEAT_TIMEOUT.code()) {
            boolean answered = device.lastTime > server.byeTime;
            String silence = String.format("the device's last frame was at %s; the server sent BYE HEARTBEAT_TIMEOUT %.3f s later%s",
                    analyzer.rel(deviceFrameBeforeServerBye), (server.byeTime - deviceFrameBeforeServerBye) / 1e9,
                    timeoutMs > 0 ? " (timeout " + timeoutMs + " ms)" : "");
            if (answered) {
                set(Verdict.HEARTBEAT_TIMEOUT_DEVICE_ALIVE, silence + "; the device's TCP still answered after the BYE"
                        + (device.afterPeerFinFrames > 0 ? " and it sent " + device.afterPeerFinFrames + " frame(s) in the drain window" : "")
                        + ": its application stopped sending heartbeats, or they were delayed");
            } else if (resumedById >= 0) {
                set(Verdict.MIDDLEBOX_SILENCE, silence + " and nothing came back; " + resumedText());
            } else {
                set(Verdict.POWER_LOSS_HEARTBEAT, silence + " and nothing came back, not even a TCP acknowledgement"
                        + (server.retransmissions > 0 ? " (" + server.retransmissions + " retransmissions unanswered)" : ""));
            }
        } else if (serverBye >= 0) {
            set(Verdict.SERVER_CLOSED, "the server sent BYE " + reasonName(serverBye)
                    + (server.byeText == null || server.byeText.isEmpty() ? "" : " \"" + server.byeText + "\"") + reconnectHint(server));
        } else if (device.byeReason >= 0 && device.byeReason != Reason.NORMAL.code()) {
            set(Verdict.DEVICE_CLOSED, "the device sent BYE " + reasonName(device.byeReason)
                    + (device.byeText == null || device.byeText.isEmpty() ? "" : " \"" + device.byeText + "\""));
        } else if (device.byeReason == Reason.NORMAL.code()) {
            Side first = Story.firstCloser(this);
            set(Verdict.CLEAN_CLOSE, "the device said goodbye with BYE NORMAL at " + analyzer.rel(device.byeTime)
                    + (first == null ? "; no FIN or RST followed in the capture"
                    : "; then the " + first.name() + " closed first with " + Story.how(first)
                    + (Story.firstClose(first == server ? device : server) < 0 ? ""
                    : " and the " + (first == server ? device : server).name() + " with "
                    + Story.how(first == server ? device : server))));
        } else if (server.keepaliveAnsweredByRst > 0) {
            set(Verdict.PEER_RESET, "the device answered a keepalive probe with RST: it had rebooted and no longer knew the connection");
        } else if (server.keepaliveProbes > 0 && (server.probePending || server.rstTime >= 0)
                && device.lastTime < server.lastProbeTime) {
            String s = String.format("the device went silent at %s; the server's kernel sent %d keepalive probe%s from %s,"
                            + " none answered%s", analyzer.rel(device.lastTime), server.keepaliveProbes,
                    server.keepaliveProbes == 1 ? "" : "s", analyzer.rel(server.firstProbeTime),
                    server.rstTime >= 0 ? ", and reset the connection at " + analyzer.rel(server.rstTime) : " by the end of the capture");
            if (resumedById >= 0) {
                set(Verdict.MIDDLEBOX_SILENCE, s + "; " + resumedText());
            } else {
                set(Verdict.POWER_LOSS_KEEPALIVE, s);
            }
        } else if (device.rstTime >= 0 && (server.rstTime < 0 || device.rstTime <= server.rstTime)
                && (server.finTime < 0 || device.rstTime <= server.finTime)) {
            set(Verdict.PEER_RESET, "the device reset the connection (RST) at " + analyzer.rel(device.rstTime)
                    + (device.byeReason == Reason.NORMAL.code() ? " after BYE NORMAL" : ", without BYE")
                    + (device.finTime >= 0 ? " after its FIN" : ""));
        } else if (server.rstTime >= 0 && server.finTime < 0 && server.sinceOtherExpecting > 0
                && device.lastTime < server.rstTime && server.retransmissions > 0) {
            set(resumedById >= 0 ? Verdict.MIDDLEBOX_SILENCE : Verdict.POWER_LOSS_KEEPALIVE,
                    String.format("the device went silent at %s; the server's kernel retransmitted %d time%s unanswered and reset"
                                    + " the connection at %s (TCP_USER_TIMEOUT)%s", analyzer.rel(device.lastTime),
                            server.retransmissions, server.retransmissions == 1 ? "" : "s", analyzer.rel(server.rstTime),
                            resumedById >= 0 ? "; " + resumedText() : ""));
        } else if (device.finTime >= 0 && (server.finTime < 0 || device.finTime <= server.finTime)
                && (server.finTime >= 0 || server.rstTime >= 0)) {
            set(Verdict.CLEAN_CLOSE, "the device closed first"
                    + (device.byeReason == Reason.NORMAL.code() ? " with BYE NORMAL and FIN" : " with FIN (no BYE)")
                    + String.format("; the server answered with %s %.1f ms later", server.finTime >= 0 ? "FIN" : "RST",
                    ((server.finTime >= 0 ? server.finTime : server.rstTime) - device.finTime) / 1e6));
        } else if (server.finTime >= 0 && (device.finTime >= 0 || device.rstTime >= 0 || server.rstTime >= 0)) {
            set(Verdict.SERVER_CLOSED, "the server closed first, without BYE");
        } else if (server.rstTime >= 0) {
            set(Verdict.SERVER_RESET, "the server reset the connection at " + analyzer.rel(server.rstTime) + " without BYE");
        } else if (halfOpen() != null) {
            set(Verdict.HALF_OPEN, halfOpen());
        } else {
            set(Verdict.OPEN, device.finTime >= 0 ? "the device closed its side (FIN) at " + analyzer.rel(device.finTime)
                    + "; the server had not closed by the end of the capture (CLOSE_WAIT)"
                    : server.finTime >= 0 ? "the server closed its side (FIN) at " + analyzer.rel(server.finTime)
                    + "; the device had not closed by the end of the capture"
                    : "no FIN, no RST by the end of the capture");
        }
    }

    private String reconnectHint(Side s) {
        return s.byeReconnectMs > 0 ? " (reconnect after " + s.byeReconnectMs + " ms)" : "";
    }

    private String resumedText() {
        return String.format("the same device came back on connection #%d at %s resuming this session %s: it had not lost"
                        + " power, the path between went silent", resumedById, analyzer.rel(resumedByTime),
                Long.toUnsignedString(sessionId));
    }

    /** A side that kept sending segments the other never answered, or null. */
    String halfOpen() {
        for (Side s : new Side[] {server, device}) {
            Side other = s == server ? device : server;
            if (s.sinceOtherRetries > 0 && !closed()) {
                return String.format("the %s has been silent since %s; the %s sent %d segment%s after that, none answered",
                        other.name(), analyzer.rel(other.lastTime), s.name(), s.sinceOther, s.sinceOther == 1 ? "" : "s");
            }
        }
        return null;
    }

    private void set(Verdict v, String text) {
        verdict = v;
        verdictText = text;
    }

    boolean matches(long hi1, long lo1, int port1, long hi2, long lo2, int port2) {
        return aHi == hi1 && aLo == lo1 && bHi == hi2 && bLo == lo2 && ports == ((port1 << 16) | port2);
    }
}
