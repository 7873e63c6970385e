package io.tether.server.internal.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.tether.server.internal.feed.Feed;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * The JSON of the application feed's HTTP endpoints (docs/API.md, "Application feed"): one
 * entry, a page of {@code GET /v1/messages}, and the Server-Sent Events of {@code GET /v1/stream}.
 * Runs on the API's feed readers, never on an event loop.
 */
final class FeedJson {
    /** For checking that an event's or command's body is one JSON object before embedding it. */
    private static final JsonFactory CHECK = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build();
    private static final byte[] ID = "id: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT = "\nevent: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "\ndata: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private FeedJson() {
    }

    /** The kind as the API names it: {@code message}, {@code event}, {@code command}. */
    static String kindName(Feed.Kind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    /** A cursor as the API shows it: the offset in decimal, as a string (clients must not do arithmetic on it). */
    static String cursor(long offset) {
        return Long.toString(offset);
    }

    /**
     * One entry. A MESSAGE carries its payload in base64 and {@code receivedAt}; an EVENT or a
     * COMMAND its JSON body embedded as {@code body} and {@code at}.
     */
    static void writeEntry(JsonGenerator g, Feed.Entry e) throws IOException {
        g.writeStartObject();
        g.writeStringField("cursor", cursor(e.offset()));
        g.writeStringField("kind", kindName(e.kind()));
        g.writeStringField("device", e.deviceId());
        g.writeNumberField("seq", e.seq());
        g.writeNumberField("session", e.session());
        if (e.kind() == Feed.Kind.MESSAGE) {
            g.writeStringField("receivedAt", ApiJson.time(e.atMillis()));
            g.writeStringField("payload", Base64.getEncoder().encodeToString(e.body()));
        } else {
            g.writeStringField("at", ApiJson.time(e.atMillis()));
            String json = oneLineObject(e.body());
            if (json != null) {
                g.writeFieldName("body");
                g.writeRawValue(json);
            } else {
                // Not what the store promises; shown rather than dropped, and without breaking the page.
                g.writeStringField("bodyText", new String(e.body(), StandardCharsets.UTF_8));
            }
        }
        g.writeEndObject();
    }

    /**
     * The body as one line of JSON, or null if it is not exactly one JSON object. Line breaks
     * outside strings are whitespace in JSON, and inside strings they are escaped, so replacing
     * raw CR and LF by spaces keeps the meaning and makes it fit an SSE {@code data:} line.
     */
    static String oneLineObject(byte[] body) {
        try (JsonParser p = CHECK.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            p.skipChildren();
            if (p.nextToken() != null) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        return new String(body, StandardCharsets.UTF_8).replace('\n', ' ').replace('\r', ' ');
    }

    /**
     * A page of {@code GET /v1/messages}.
     *
     * @param oldest the offset of the first entry read when retention had removed entries after
     *               the given cursor, else 0
     */
    static byte[] page(List<Feed.Entry> entries, long next, long head, long oldest) {
        return ApiJson.write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("messages");
            for (Feed.Entry e : entries) {
                writeEntry(g, e);
            }
            g.writeEndArray();
            g.writeStringField("next", cursor(next));
            g.writeStringField("head", cursor(head));
            if (oldest > 0) {
                g.writeBooleanField("skipped", true);
                g.writeStringField("oldest", cursor(oldest));
            }
            g.writeEndObject();
        });
    }

    /** Appends one SSE event: {@code id: <cursor>}, {@code event: <kind>}, {@code data: <entry>}. */
    static void sseEntry(ByteArrayOutputStream out, Feed.Entry e) {
        out.writeBytes(ID);
        out.writeBytes(cursor(e.offset()).getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(EVENT);
        out.writeBytes(kindName(e.kind()).getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(DATA);
        out.writeBytes(ApiJson.write(g -> writeEntry(g, e)));
        out.writeBytes(END);
    }

    /**
     * Appends the SSE event that says retention removed entries the stream had not sent: no
     * {@code id}, so a reconnecting client's position is unchanged by it.
     */
    static void sseSkipped(ByteArrayOutputStream out, long after, long oldest) {
        out.writeBytes(("event: skipped\ndata: {\"after\":\"" + cursor(after) + "\",\"oldest\":\"" + cursor(oldest)
                + "\"}\n\n").getBytes(StandardCharsets.US_ASCII));
    }
}
