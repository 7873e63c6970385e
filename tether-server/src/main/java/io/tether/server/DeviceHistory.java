package io.tether.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.tether.protocol.Reason;
import io.tether.server.internal.admin.Json;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A device's last sessions, newest first, as {@code GET /devices/{id}/history} of the admin
 * endpoint returns them. The JSON form is written and read here, so the server, the
 * {@code tether device history} client and the dashboard agree on it:
 *
 * <pre>{@code
 * {"device":"truck-42","keep":20,"sessions":[
 *   {"session":1795672668719102,"openedAt":"2026-11-26T05:58:00.801Z","closedAt":null,"live":true,
 *    "remote":"10.1.2.3:40100","heartbeatMs":30000,"timeoutMs":45000,"tookOver":true,"resumed":false,
 *    "lastSeqAtOpen":118,"reason":null,"errno":null,"errnoNumber":0,"detail":null,"durationMs":-1,
 *    "lateMs":-1,"drained":0},
 *   {"session":1795672668719051,"openedAt":"2026-11-26T05:41:12.004Z","closedAt":"2026-11-26T05:58:00.812Z",
 *    "live":false,"remote":"10.1.2.3:40007","heartbeatMs":30000,"timeoutMs":45000,"tookOver":false,
 *    "resumed":true,"lastSeqAtOpen":97,"reason":"TAKEN_OVER","errno":null,"errnoNumber":0,"detail":null,
 *    "durationMs":1008808,"lateMs":-1,"drained":0}]}
 * }</pre>
 *
 * <p>Times are UTC, ISO-8601 with milliseconds; {@code closedAt} null and {@code reason} null mean the
 * close was not recorded (see {@link SessionRecord}). Immutable and thread-safe.
 *
 * @param deviceId the device
 * @param keep     sessions kept per device by the server (0 = history off; -1 = unknown, when read
 *                 from a store directory: the setting is the server's, not stored)
 * @param sessions newest first; unmodifiable
 */
public record DeviceHistory(String deviceId, int keep, List<SessionRecord> sessions) {

    /** @throws NullPointerException if an argument is null */
    public DeviceHistory {
        Objects.requireNonNull(deviceId, "deviceId");
        sessions = List.copyOf(sessions);
    }

    /** This history as one JSON object (the format shown above). */
    public String toJson() {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("device", deviceId);
            g.writeNumberField("keep", keep);
            g.writeArrayFieldStart("sessions");
            for (SessionRecord r : sessions) {
                write(g, r);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static void write(JsonGenerator g, SessionRecord r) throws IOException {
        g.writeStartObject();
        g.writeNumberField("session", r.sessionId());
        g.writeStringField("openedAt", Instant.ofEpochMilli(r.openedAtMillis()).toString());
        g.writeStringField("closedAt", r.closed() ? Instant.ofEpochMilli(r.closedAtMillis()).toString() : null);
        g.writeBooleanField("live", r.live());
        g.writeStringField("remote", r.remote());
        g.writeNumberField("heartbeatMs", r.heartbeatMillis());
        g.writeNumberField("timeoutMs", r.timeoutMillis());
        g.writeBooleanField("tookOver", r.tookOver());
        g.writeBooleanField("resumed", r.resumed());
        g.writeNumberField("lastSeqAtOpen", r.lastSeqAtOpen());
        g.writeStringField("reason", r.reason() == null ? null : r.reason().name());
        g.writeStringField("errno", r.errnoName());
        g.writeNumberField("errnoNumber", r.errnoNumber());
        g.writeStringField("detail", r.detail());
        g.writeNumberField("durationMs", r.durationMillis());
        g.writeNumberField("lateMs", r.lateMillis() < 0 ? -1 : Math.round(r.lateMillis() * 1000) / 1000.0);
        g.writeNumberField("drained", r.drainedFrames());
        g.writeNumberField("messagesIn", r.messagesIn());
        g.writeNumberField("bytesIn", r.bytesIn());
        g.writeNumberField("messagesOut", r.messagesOut());
        g.writeNumberField("bytesOut", r.bytesOut());
        g.writeEndObject();
    }

    /**
     * Reads the JSON form. Unknown fields are ignored, so a newer server can add some.
     *
     * @throws IOException if {@code json} is not JSON of this shape
     */
    public static DeviceHistory parse(String json) throws IOException {
        try (JsonParser p = Json.FACTORY.createParser(json)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, p);
            String device = null;
            Integer keep = null;
            List<SessionRecord> sessions = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "device" -> device = p.getText();
                    case "keep" -> keep = p.getIntValue();
                    case "sessions" -> {
                        expect(t, JsonToken.START_ARRAY, p);
                        sessions = new ArrayList<>();
                        while (p.nextToken() == JsonToken.START_OBJECT) {
                            sessions.add(parseSession(p, device));
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (device == null || keep == null || sessions == null) {
                throw new IOException("not a device history: 'device', 'keep' and 'sessions' are required");
            }
            return new DeviceHistory(device, keep, sessions);
        } catch (IllegalArgumentException | DateTimeParseException | NullPointerException e) {
            throw new IOException("not a device history: " + e.getMessage(), e);
        }
    }

    private static SessionRecord parseSession(JsonParser p, String device) throws IOException {
        long session = 0;
        long opened = 0;
        long closed = 0;
        boolean live = false;
        String remote = null;
        int heartbeat = 0;
        int timeout = 0;
        boolean tookOver = false;
        boolean resumed = false;
        long lastSeq = -1;
        Reason reason = null;
        String errno = null;
        int errnoNumber = 0;
        String detail = null;
        long duration = -1;
        double late = -1;
        int drained = 0;
        long messagesIn = -1;
        long bytesIn = -1;
        long messagesOut = -1;
        long bytesOut = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            boolean isNull = t == JsonToken.VALUE_NULL;
            switch (field) {
                case "session" -> session = p.getLongValue();
                case "openedAt" -> opened = Instant.parse(p.getText()).toEpochMilli();
                case "closedAt" -> closed = isNull ? 0 : Instant.parse(p.getText()).toEpochMilli();
                case "live" -> live = p.getBooleanValue();
                case "remote" -> remote = isNull ? null : p.getText();
                case "heartbeatMs" -> heartbeat = p.getIntValue();
                case "timeoutMs" -> timeout = p.getIntValue();
                case "tookOver" -> tookOver = p.getBooleanValue();
                case "resumed" -> resumed = p.getBooleanValue();
                case "lastSeqAtOpen" -> lastSeq = p.getLongValue();
                case "reason" -> reason = isNull ? null : Reason.valueOf(p.getText());
                case "errno" -> errno = isNull ? null : p.getText();
                case "errnoNumber" -> errnoNumber = p.getIntValue();
                case "detail" -> detail = isNull ? null : p.getText();
                case "durationMs" -> duration = p.getLongValue();
                case "lateMs" -> late = p.getDoubleValue();
                case "drained" -> drained = p.getIntValue();
                case "messagesIn" -> messagesIn = p.getLongValue();
                case "bytesIn" -> bytesIn = p.getLongValue();
                case "messagesOut" -> messagesOut = p.getLongValue();
                case "bytesOut" -> bytesOut = p.getLongValue();
                default -> p.skipChildren();
            }
        }
        return new SessionRecord(device, session, opened, closed, remote, heartbeat, timeout, tookOver, resumed, lastSeq,
                reason, errno, errnoNumber, detail, duration, late, drained, messagesIn, bytesIn, messagesOut, bytesOut,
                live);
    }

    private static void expect(JsonToken actual, JsonToken expected, JsonParser p) throws IOException {
        if (actual != expected) {
            throw new IOException("not a device history: expected " + expected + " at " + p.currentLocation()
                    + ", got " + actual);
        }
    }
}
