package io.tether.server.internal.feed;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.server.Command;
import io.tether.server.CommandState;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The feed's command records, written by hand, parse to exactly what the JSON generator they
 * replaced wrote (kept below as the reference): same fields, same order, same values, for every
 * state, with and without key, detail and result, escapes, non-ASCII text and binary results.
 */
class FeedEventsCommandFormatTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory JSON = new JsonFactory();

    @Test
    void everyCommandRecord_parsesToWhatTheGeneratorWrote() throws Exception {
        List<Command> commands = new ArrayList<>();
        long t = 1_796_209_261_423L;
        String[] details = {"", "sent, not acknowledged before the connection ended: queued again",
                "quote \" backslash \\ newline \n tab \t bell \u0007 nul \u0000 unit \u001f",
                "non-ASCII: Grüße, 设备, 😀 (a surrogate pair)"};
        byte[][] results = {null, new byte[0], "ok".getBytes(StandardCharsets.UTF_8),
                "done \"1\"\n设备".getBytes(StandardCharsets.UTF_8), {(byte) 0xff, 0, (byte) 0xc3}};
        int i = 0;
        for (CommandState state : CommandState.values()) {
            for (String detail : details) {
                for (byte[] result : results) {
                    long created = t + i * 997L - (i % 3 == 0 ? (t + i * 997L) % 1000 : 0); // some on whole seconds
                    String key = i % 2 == 0 ? null : "key-" + i + "_x.y:z";
                    commands.add(new Command("01JD" + i, "meter-" + i, i + 1, new byte[] {1, 2}, key, state, created,
                            created + 3_600_000, created + 5, created + 9, created + 12, i % 4, result, detail));
                    i++;
                }
            }
        }
        for (Command c : commands) {
            for (long at : new long[] {c.createdAtMillis(), c.createdAtMillis() + 1, c.createdAtMillis() + 1000 - c.createdAtMillis() % 1000}) {
                byte[] written = FeedEvents.command(c, at);
                byte[] reference = generated(c, at);
                JsonNode got = MAPPER.readTree(written);
                JsonNode want = MAPPER.readTree(reference);
                assertThat(got).as(new String(written, StandardCharsets.UTF_8)).isEqualTo(want);
                List<String> gotNames = new ArrayList<>();
                got.fieldNames().forEachRemaining(gotNames::add);
                List<String> wantNames = new ArrayList<>();
                want.fieldNames().forEachRemaining(wantNames::add);
                assertThat(gotNames).isEqualTo(wantNames);
            }
        }
    }

    /** The generator that wrote these records before (FeedEvents at 2f48b0e). */
    private static byte[] generated(Command c, long atMillis) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("ts", Instant.ofEpochMilli(atMillis).toString());
            g.writeStringField("event", "command");
            g.writeStringField("device", c.deviceId());
            g.writeStringField("id", c.id());
            g.writeNumberField("seq", c.seq());
            g.writeStringField("state", c.state().name());
            g.writeNumberField("attempts", c.attempts());
            g.writeStringField("createdAt", Instant.ofEpochMilli(c.createdAtMillis()).toString());
            if (c.idempotencyKey() != null) {
                g.writeStringField("idempotencyKey", c.idempotencyKey());
            }
            if (!c.detail().isEmpty()) {
                g.writeStringField("detail", c.detail());
            }
            if (c.result() != null) {
                g.writeStringField("result", Base64.getEncoder().encodeToString(c.result()));
                try {
                    g.writeStringField("resultText", StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(c.result())).toString());
                } catch (CharacterCodingException e) {
                    // not text: no resultText
                }
            }
            g.writeEndObject();
        }
        return out.toByteArray();
    }
}
