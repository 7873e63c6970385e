package io.tether.server.internal.admin;

import io.tether.transport.HostPort;
import io.tether.server.SocketAudit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Tag;
import io.tether.server.ConnectionInfo;
import io.tether.transport.kernel.KernelSocket;
import io.tether.transport.kernel.TcpState;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** The admin endpoint's JSON shapes, written with jackson-core's streaming generator. */
public final class Json {
    public static final JsonFactory FACTORY = new JsonFactory();

    private Json() {
    }

    public interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    public static String write(Body body) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(w)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return w.toString();
    }

    /** {@code 127.0.0.1:7400} or {@code [2001:db8::1]:7400}; {@code null} stays null. */
    public static String formatAddress(InetSocketAddress a) {
        return HostPort.format(a);
    }


    /**
     * Reads what {@link #formatAddress} wrote. Only IP literals are accepted, so no name is ever
     * looked up in DNS.
     *
     * @throws IllegalArgumentException if {@code s} is not {@code IPV4:PORT} or {@code [IPV6]:PORT}
     */
    public static InetSocketAddress parseAddress(String s) {
        return HostPort.parseLiteral("address", s);
    }

    public static void writeConnection(JsonGenerator g, ConnectionInfo c) throws IOException {
        g.writeStartObject();
        g.writeStringField("remote", formatAddress(c.remote()));
        g.writeStringField("device", c.deviceId());
        g.writeNumberField("session", c.sessionId());
        g.writeStringField("state", c.state());
        g.writeEndObject();
    }

    static void writeSocket(JsonGenerator g, KernelSocket s) throws IOException {
        g.writeStartObject();
        g.writeStringField("local", formatAddress(s.local()));
        g.writeStringField("remote", formatAddress(s.remote()));
        g.writeStringField("state", s.state().name());
        g.writeNumberField("inode", s.inode());
        g.writeNumberField("uid", s.uid());
        g.writeNumberField("txQueue", s.txQueue());
        g.writeNumberField("rxQueue", s.rxQueue());
        g.writeEndObject();
    }

    public static String report(SocketAudit.Report r) {
        return write(g -> {
            g.writeStartObject();
            g.writeNumberField("port", r.port());
            g.writeBooleanField("healthy", r.healthy());
            g.writeBooleanField("compared", r.compared());
            g.writeObjectFieldStart("states");
            for (Map.Entry<TcpState, Integer> e : r.states().entrySet()) {
                g.writeNumberField(e.getKey().name(), e.getValue());
            }
            g.writeEndObject();
            g.writeNumberField("closeWait", r.closeWait());
            if (r.compared()) {
                g.writeNumberField("sessions", r.sessions());
                g.writeArrayFieldStart("handshaking");
                for (ConnectionInfo c : r.handshaking()) {
                    writeConnection(g, c);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("ghosts");
                for (KernelSocket s : r.ghosts()) {
                    writeSocket(g, s);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("orphans");
                for (SocketAudit.Orphan o : r.orphans()) {
                    g.writeStartObject();
                    g.writeFieldName("connection");
                    writeConnection(g, o.connection());
                    g.writeStringField("kernelState", o.kernelState() == null ? null : o.kernelState().name());
                    g.writeEndObject();
                }
                g.writeEndArray();
            } else {
                // Unknown without the server's connections: null, not an empty list that would read as "none".
                g.writeNullField("sessions");
                g.writeNullField("handshaking");
                g.writeNullField("ghosts");
                g.writeNullField("orphans");
            }
            g.writeArrayFieldStart("acceptQueue");
            for (KernelSocket s : r.acceptQueue()) {
                writeSocket(g, s);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /**
     * Every meter as {@code {"name","type","tags":{..},"value":x}}; meters that measure more than
     * one statistic (timers, summaries) also carry {@code "statistics":{"count":..,"total":..}},
     * and {@code value} is their first statistic. NaN and infinities (a gauge whose object was
     * collected) are written as null: JSON has no NaN.
     */
    static String meters(MeterRegistry registry) {
        List<Meter> meters = new ArrayList<>(registry.getMeters());
        meters.sort(Comparator.comparing((Meter m) -> m.getId().getName())
                .thenComparing(m -> m.getId().getTags().toString()));
        return write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("meters");
            for (Meter m : meters) {
                List<Measurement> ms = new ArrayList<>();
                m.measure().forEach(ms::add);
                g.writeStartObject();
                g.writeStringField("name", m.getId().getName());
                g.writeStringField("type", m.getId().getType().name().toLowerCase(java.util.Locale.ROOT));
                g.writeObjectFieldStart("tags");
                for (Tag t : m.getId().getTagsAsIterable()) {
                    g.writeStringField(t.getKey(), t.getValue());
                }
                g.writeEndObject();
                g.writeFieldName("value");
                writeNumber(g, ms.isEmpty() ? Double.NaN : ms.get(0).getValue());
                if (ms.size() > 1) {
                    g.writeObjectFieldStart("statistics");
                    for (Measurement x : ms) {
                        g.writeFieldName(x.getStatistic().getTagValueRepresentation());
                        writeNumber(g, x.getValue());
                    }
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static void writeNumber(JsonGenerator g, double v) throws IOException {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            g.writeNull();
        } else if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            g.writeNumber((long) v);
        } else {
            g.writeNumber(v);
        }
    }

    /**
     * {@code /sessions?device=ID}: the shape of {@link io.tether.server.SessionsSnapshot}, with
     * only that device's connections, and {@code "device"} and {@code "online"} (a live session
     * in the registry) added.
     */
    static String deviceSessions(io.tether.server.TetherServer server, String deviceId) {
        List<ConnectionInfo> mine = new ArrayList<>();
        for (ConnectionInfo c : server.connections()) {
            if (deviceId.equals(c.deviceId())) {
                mine.add(c);
            }
        }
        boolean online = server.registry().lookup(deviceId) != null;
        int port = server.port();
        int sessions = server.registry().size();
        return write(g -> {
            g.writeStartObject();
            g.writeNumberField("port", port);
            g.writeNumberField("sessions", sessions);
            g.writeStringField("device", deviceId);
            g.writeBooleanField("online", online);
            g.writeArrayFieldStart("connections");
            for (ConnectionInfo c : mine) {
                writeConnection(g, c);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /**
     * {@code /closes}: {@code {"perReason":N,"closes":{"REASON":[close,...],...}}}, oldest first,
     * reasons without closes left out; with {@code deviceId}, {@code {"device":ID,"closes":[...]}}.
     */
    static String closes(RecentCloses recent, String deviceId) {
        return write(g -> {
            g.writeStartObject();
            g.writeNumberField("perReason", RecentCloses.PER_REASON);
            if (deviceId != null) {
                g.writeStringField("device", deviceId);
                g.writeArrayFieldStart("closes");
                for (io.tether.server.SessionClosed e : recent.ofDevice(deviceId)) {
                    writeClose(g, e);
                }
                g.writeEndArray();
            } else {
                g.writeObjectFieldStart("closes");
                for (io.tether.protocol.Reason r : io.tether.protocol.Reason.values()) {
                    List<io.tether.server.SessionClosed> list = recent.of(r);
                    if (list.isEmpty()) {
                        continue;
                    }
                    g.writeArrayFieldStart(r.name());
                    for (io.tether.server.SessionClosed e : list) {
                        writeClose(g, e);
                    }
                    g.writeEndArray();
                }
                g.writeEndObject();
            }
            g.writeEndObject();
        });
    }

    private static void writeClose(JsonGenerator g, io.tether.server.SessionClosed e) throws IOException {
        g.writeStartObject();
        g.writeStringField("ts", java.time.Instant.ofEpochMilli(e.atMillis()).toString());
        g.writeStringField("device", e.deviceId() != null ? e.deviceId() : e.claimedDevice());
        g.writeBooleanField("admitted", e.deviceId() != null);
        g.writeNumberField("session", e.sessionId());
        g.writeStringField("remote", e.remote());
        g.writeStringField("reason", e.reason().name());
        if (e.errnoName() != null) {
            g.writeStringField("errno", e.errnoName());
        }
        if (e.authCause() != null) {
            g.writeStringField("authCause", e.authCause());
        }
        g.writeNumberField("durationMs", e.durationMillis());
        if (e.lateMillis() >= 0) {
            g.writeNumberField("lateMs", Math.round(e.lateMillis() * 1000) / 1000.0);
        }
        if (e.detail() != null) {
            g.writeStringField("detail", e.detail());
        }
        g.writeEndObject();
    }

    static String error(int status, String message) {
        return write(g -> {
            g.writeStartObject();
            g.writeNumberField("status", status);
            g.writeStringField("error", message);
            g.writeEndObject();
        });
    }
}
