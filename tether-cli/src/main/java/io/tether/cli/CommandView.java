package io.tether.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Commands of the API (JSON, docs/API.md) as text for people, and as one JSON line for scripts. */
final class CommandView {
    private CommandView() {}

    /** The JSON on one line. */
    static String json(JsonNode node) {
        try {
            return CommandApi.JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * One line: {@code 01JD... meter-0042 seq=17 SUCCEEDED result="ok" (delivered in 12 ms)}; the
     * result as a quoted string when it is text, else as {@code base64:...}; the detail when there
     * is one.
     */
    static String line(JsonNode c) {
        StringBuilder b = new StringBuilder();
        b.append(c.path("id").asText()).append(' ').append(c.path("deviceId").asText())
                .append(" seq=").append(c.path("seq").asText()).append(' ').append(c.path("state").asText());
        JsonNode result = c.path("result");
        if (result.isObject()) {
            b.append(" result=");
            if (result.hasNonNull("payloadText")) {
                b.append(quoted(result.path("payloadText").asText()));
            } else {
                b.append("base64:").append(result.path("payload").asText());
            }
        }
        String detail = c.path("detail").asText("");
        if (!detail.isEmpty()) {
            b.append(" detail=").append(quoted(detail));
        }
        Duration delivery = between(c.path("createdAt"), c.path("deliveredAt"));
        if (delivery != null) {
            b.append(" (delivered in ").append(delivery.toMillis()).append(" ms)");
        }
        return b.toString();
    }

    /** A table with a header line: id, seq, state, created, attempts, detail; one line per command. */
    static String table(JsonNode commands) {
        String format = "%-26s %8s %-9s %-24s %8s  %s%n";
        StringBuilder b = new StringBuilder(String.format(format, "ID", "SEQ", "STATE", "CREATED", "ATTEMPTS", "DETAIL"));
        for (JsonNode c : commands) {
            b.append(String.format(format, c.path("id").asText(), c.path("seq").asText(), c.path("state").asText(),
                    c.path("createdAt").asText(), c.path("attempts").asText(), c.path("detail").asText("")).stripTrailing())
                    .append(System.lineSeparator());
        }
        return b.toString();
    }

    private static String quoted(String s) {
        return json(CommandApi.JSON.getNodeFactory().textNode(s));
    }

    private static Duration between(JsonNode from, JsonNode to) {
        if (!from.isTextual() || !to.isTextual()) {
            return null;
        }
        try {
            return Duration.between(Instant.parse(from.asText()), Instant.parse(to.asText()));
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
