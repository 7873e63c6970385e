package io.tether.server.internal.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.tether.server.Command;
import io.tether.server.CommandState;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
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
    /** RFC 3339, UTC, always with milliseconds (Instant.toString drops a zero fraction). */
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

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
        return epochMillis == 0 ? null : TIME.format(Instant.ofEpochMilli(epochMillis));
    }

    /** The bytes as a string when they are valid UTF-8, else null. */
    static String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    static byte[] command(Command c) {
        return write(g -> writeCommand(g, c));
    }

    static byte[] commands(List<Command> list) {
        return write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("commands");
            for (Command c : list) {
                writeCommand(g, c);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private static void writeCommand(JsonGenerator g, Command c) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", c.id());
        g.writeStringField("deviceId", c.deviceId());
        g.writeNumberField("seq", c.seq());
        g.writeStringField("state", c.state().name());
        writePayload(g, c.payload());
        g.writeStringField("idempotencyKey", c.idempotencyKey());
        g.writeStringField("createdAt", time(c.createdAtMillis()));
        g.writeStringField("expiresAt", time(c.expiresAtMillis()));
        g.writeStringField("sentAt", time(c.sentAtMillis()));
        g.writeStringField("deliveredAt", time(c.deliveredAtMillis()));
        g.writeStringField("finishedAt", time(c.finishedAtMillis()));
        g.writeNumberField("attempts", c.attempts());
        if (c.state() == CommandState.SUCCEEDED || c.state() == CommandState.FAILED) {
            g.writeObjectFieldStart("result");
            g.writeStringField("status", c.state().name());
            writePayload(g, c.result() == null ? new byte[0] : c.result());
            g.writeEndObject();
        } else {
            g.writeNullField("result");
        }
        g.writeStringField("detail", c.detail());
        g.writeEndObject();
    }

    private static void writePayload(JsonGenerator g, byte[] payload) throws IOException {
        g.writeStringField("payload", Base64.getEncoder().encodeToString(payload));
        String text = utf8OrNull(payload);
        if (text != null) {
            g.writeStringField("payloadText", text);
        }
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
