package io.tether.server.internal.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.internal.json.JsonText;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The HTTP API's JSON: commands, devices and problems written with jackson-core's streaming
 * generator (no object mapping on the event loop), and the one request body it reads.
 */
final class ApiJson {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            // The body is bounded by the aggregator; this bounds what a hostile one can make the parser build.
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).build())
            .build();

    private ApiJson() {
    }

    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    static byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return out.toByteArray();
    }

    /** Epoch ms as RFC 3339 UTC with milliseconds; 0 (it has not happened) as null. */
    static String time(long epochMillis) {
        return epochMillis == 0 ? null : JsonText.time(epochMillis);
    }

    /** The bytes as a string when they are valid UTF-8, else null. */
    static String utf8OrNull(byte[] bytes) {
        boolean ascii = true;
        for (byte b : bytes) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(bytes, StandardCharsets.US_ASCII); // no decoder to make for the common case
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * A command as the API shows it. Written by hand, not with a generator: every accepted command
     * is answered with one, and a generator per answer plus java.time's formatter were a large part
     * of the API thread's samples in a profile of bench/commands.
     */
    static byte[] command(Command c) {
        StringBuilder b = new StringBuilder(512);
        appendCommand(b, c);
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] commands(List<Command> list) {
        StringBuilder b = new StringBuilder(64 + 512 * list.size()).append("{\"commands\":[");
        for (int i = 0; i < list.size(); i++) {
            appendCommand(i == 0 ? b : b.append(','), list.get(i));
        }
        return b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void appendCommand(StringBuilder b, Command c) {
        b.append('{');
        string(b, "id", c.id()).append(',');
        string(b, "deviceId", c.deviceId()).append(',');
        JsonText.appendName(b, "seq").append(c.seq()).append(',');
        JsonText.appendName(b, "state").append('"').append(c.state().name()).append("\",");
        appendPayload(b, c.payload()).append(',');
        string(b, "idempotencyKey", c.idempotencyKey()).append(',');
        time(b, "createdAt", c.createdAtMillis()).append(',');
        time(b, "expiresAt", c.expiresAtMillis()).append(',');
        time(b, "sentAt", c.sentAtMillis()).append(',');
        time(b, "deliveredAt", c.deliveredAtMillis()).append(',');
        time(b, "finishedAt", c.finishedAtMillis()).append(',');
        JsonText.appendName(b, "attempts").append(c.attempts()).append(',');
        JsonText.appendName(b, "result");
        if (c.state() == CommandState.SUCCEEDED || c.state() == CommandState.FAILED) {
            b.append('{');
            JsonText.appendName(b, "status").append('"').append(c.state().name()).append("\",");
            appendPayload(b, c.result() == null ? new byte[0] : c.result()).append('}');
        } else {
            b.append("null");
        }
        string(b.append(','), "detail", c.detail()).append('}');
    }

    /** {@code "name":"value"}, or {@code "name":null}. */
    private static StringBuilder string(StringBuilder b, String name, String value) {
        JsonText.appendName(b, name);
        return value == null ? b.append("null") : JsonText.appendString(b, value);
    }

    private static StringBuilder time(StringBuilder b, String name, long epochMillis) {
        JsonText.appendName(b, name);
        return epochMillis == 0 ? b.append("null") : JsonText.appendTime(b.append('"'), epochMillis, true).append('"');
    }

    private static StringBuilder appendPayload(StringBuilder b, byte[] payload) {
        JsonText.appendName(b, "payload").append('"').append(Base64.getEncoder().encodeToString(payload)).append('"');
        String text = utf8OrNull(payload);
        if (text != null) {
            JsonText.appendString(JsonText.appendName(b.append(','), "payloadText"), text);
        }
        return b;
    }

    static byte[] problem(Problem p, String detail, String instance) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("type", p.type());
            g.writeStringField("title", p.title);
            g.writeNumberField("status", p.status);
            g.writeStringField("detail", detail);
            if (instance != null) {
                g.writeStringField("instance", instance);
            }
            g.writeEndObject();
        });
    }

    /** The body of {@code POST /v1/devices/{id}/commands}, as sent; each field null when absent. */
    record SubmitBody(String payload, String text, String ttl, String idempotencyKey) {
    }

    /**
     * Reads a submit body: one JSON object with string (or null) members {@code payload},
     * {@code text}, {@code ttl}, {@code idempotencyKey}, nothing else.
     *
     * @throws IllegalArgumentException saying what is wrong, in the words of docs/API.md
     */
    static SubmitBody parseSubmit(byte[] body) {
        if (body.length == 0) {
            throw new IllegalArgumentException("empty body (expected a JSON object: {\"payload\": \"<base64>\"} or {\"text\": \"...\"})");
        }
        String payload = null, text = null, ttl = null, key = null;
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("the body is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                String value;
                if (t == JsonToken.VALUE_NULL) {
                    value = null;
                } else if (t == JsonToken.VALUE_STRING) {
                    value = p.getText();
                } else {
                    throw new IllegalArgumentException("\"" + name + "\" is not a string");
                }
                switch (name) {
                    case "payload" -> payload = value;
                    case "text" -> text = value;
                    case "ttl" -> ttl = value;
                    case "idempotencyKey" -> key = value;
                    default -> throw new IllegalArgumentException("unknown member \"" + name
                            + "\" (expected: payload or text, ttl, idempotencyKey)");
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new IllegalArgumentException("malformed JSON: trailing data after the object");
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed JSON: " + e.getMessage());
        }
        return new SubmitBody(payload, text, ttl, key);
    }
}
