package io.tether.server;

import io.tether.server.internal.admin.Json;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@code GET /sessions} of the admin endpoint ({@code tether serve --admin}) returns: the server's port, its registry
 * size and its open connections. The JSON form is written and read here, so the server and the
 * {@code tether sockets --admin} client agree on it:
 *
 * <pre>{@code
 * {"port":7400,"sessions":1,"connections":[
 *   {"remote":"127.0.0.1:53422","device":"truck-42","session":1795672668719051,"state":"OPEN"},
 *   {"remote":"[2001:db8::7]:40100","device":null,"session":0,"state":"HANDSHAKE"}]}
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param port        the server's device port
 * @param sessions    live sessions in the registry
 * @param connections open connections, handshaken or not; unmodifiable
 */
public record SessionsSnapshot(int port, int sessions, List<ConnectionInfo> connections) {

    /** @throws NullPointerException if {@code connections} is null */
    public SessionsSnapshot {
        connections = List.copyOf(connections);
    }

    /**
     * Takes a snapshot of a started server.
     *
     * @throws NullPointerException if {@code server} is null
     */
    public static SessionsSnapshot of(TetherServer server) {
        Objects.requireNonNull(server, "server");
        return new SessionsSnapshot(server.port(), server.registry().size(), server.connections());
    }

    /** This snapshot as one JSON object (the format shown above). */
    public String toJson() {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeNumberField("port", port);
            g.writeNumberField("sessions", sessions);
            g.writeArrayFieldStart("connections");
            for (ConnectionInfo c : connections) {
                Json.writeConnection(g, c);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /**
     * Reads the JSON form. Unknown fields are ignored, so a newer server can add some.
     *
     * @throws IOException if {@code json} is not JSON of this shape
     */
    public static SessionsSnapshot parse(String json) throws IOException {
        try (JsonParser p = Json.FACTORY.createParser(json)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, p);
            Integer port = null;
            Integer sessions = null;
            List<ConnectionInfo> connections = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "port" -> port = p.getIntValue();
                    case "sessions" -> sessions = p.getIntValue();
                    case "connections" -> {
                        expect(t, JsonToken.START_ARRAY, p);
                        connections = new ArrayList<>();
                        while (p.nextToken() == JsonToken.START_OBJECT) {
                            connections.add(parseConnection(p));
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (port == null || sessions == null || connections == null) {
                throw new IOException("not a sessions snapshot: 'port', 'sessions' and 'connections' are required");
            }
            return new SessionsSnapshot(port, sessions, connections);
        } catch (IllegalArgumentException e) {
            throw new IOException("not a sessions snapshot: " + e.getMessage(), e);
        }
    }

    private static ConnectionInfo parseConnection(JsonParser p) throws IOException {
        InetSocketAddress remote = null;
        String device = null;
        long session = 0;
        String state = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "remote" -> remote = t == JsonToken.VALUE_NULL ? null : Json.parseAddress(p.getText());
                case "device" -> device = t == JsonToken.VALUE_NULL ? null : p.getText();
                case "session" -> session = p.getLongValue();
                case "state" -> state = t == JsonToken.VALUE_NULL ? null : p.getText();
                default -> p.skipChildren();
            }
        }
        return new ConnectionInfo(remote, device, session, state);
    }

    private static void expect(JsonToken actual, JsonToken expected, JsonParser p) throws IOException {
        if (actual != expected) {
            throw new IOException("not a sessions snapshot: expected " + expected + " at " + p.currentLocation()
                    + ", got " + actual);
        }
    }
}
