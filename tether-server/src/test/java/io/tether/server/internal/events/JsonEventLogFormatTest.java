package io.tether.server.internal.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.protocol.Reason;
import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The open, close and gap lines are written by hand (no generator): a JSON parser must read back
 * exactly the values of the event, whatever the strings hold, with the keys in the documented order.
 */
class JsonEventLogFormatTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Quotes, backslash, every escape, other controls, DEL, non-ASCII, a surrogate pair. */
    private static final String NASTY = "a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj\u007fk/é中\uD83D\uDE00";

    @Test
    void close_withEveryField_readsBackExactly() throws Exception {
        SessionClosed e = new SessionClosed(1_764_662_400_123L, "dev-" + NASTY, 42, "10.0.0.1:5000", Reason.PEER_RESET,
                "ECONNRESET", 104, "detail " + NASTY, 60_000, 12.3456, 3, null, null, 5, 500, 6, 600);
        JsonNode n = parse(JsonEventLog.json(e));
        assertThat(keys(n)).containsExactly("ts", "event", "device", "session", "remote", "reason", "errno",
                "errnoNumber", "durationMs", "lateMs", "drained", "messagesIn", "bytesIn", "messagesOut", "bytesOut", "detail");
        assertThat(n.get("ts").asText()).isEqualTo("2025-12-02T08:00:00.123Z");
        assertThat(n.get("event").asText()).isEqualTo("close");
        assertThat(n.get("device").asText()).isEqualTo("dev-" + NASTY);
        assertThat(n.get("session").asLong()).isEqualTo(42);
        assertThat(n.get("remote").asText()).isEqualTo("10.0.0.1:5000");
        assertThat(n.get("reason").asText()).isEqualTo("PEER_RESET");
        assertThat(n.get("errno").asText()).isEqualTo("ECONNRESET");
        assertThat(n.get("errnoNumber").asInt()).isEqualTo(104);
        assertThat(n.get("durationMs").asLong()).isEqualTo(60_000);
        assertThat(n.get("lateMs").isDouble()).isTrue();
        assertThat(n.get("lateMs").asDouble()).isEqualTo(12.346);
        assertThat(n.get("drained").asInt()).isEqualTo(3);
        assertThat(n.get("messagesIn").asLong()).isEqualTo(5);
        assertThat(n.get("bytesOut").asLong()).isEqualTo(600);
        assertThat(n.get("detail").asText()).isEqualTo("detail " + NASTY);
    }

    @Test
    void close_withoutSession_hasTheClaimAndCause_andNoTrafficFigures() throws Exception {
        SessionClosed e = new SessionClosed(0, null, 0, null, Reason.AUTH_FAILED, null, 0, null, 5, -1, 0,
                NASTY, "bad token " + NASTY);
        JsonNode n = parse(JsonEventLog.json(e));
        assertThat(keys(n)).containsExactly("ts", "event", "reason", "durationMs", "claimedDevice", "authCause");
        assertThat(n.get("ts").asText()).isEqualTo("1970-01-01T00:00:00Z");
        assertThat(n.get("claimedDevice").asText()).isEqualTo(NASTY);
        assertThat(n.get("authCause").asText()).isEqualTo("bad token " + NASTY);
    }

    @Test
    void lateness_isRoundedToMicroseconds_andWholeValuesStayNumbers() throws Exception {
        for (double late : new double[] {0, 0.0004, 0.0005, 1, 1e7, 123_456_789.1234}) {
            SessionClosed e = new SessionClosed(1, "d", 1, null, Reason.HEARTBEAT_TIMEOUT, null, 0, null, 1, late, 0, null, null);
            JsonNode n = parse(JsonEventLog.json(e));
            assertThat(n.get("lateMs").isNumber()).as("%s", late).isTrue();
            assertThat(n.get("lateMs").asDouble()).as("%s", late).isEqualTo(Math.round(late * 1000) / 1000.0);
        }
    }

    @Test
    void open_andGap_readBackExactly() throws Exception {
        JsonNode o = parse(JsonEventLog.json(new SessionOpened(1000, NASTY, 7, "[::1]:1", 30_000, 45_000, 99, true, false, 2)));
        assertThat(keys(o)).containsExactly("ts", "event", "device", "session", "remote", "heartbeatMs", "timeoutMs",
                "lastSeq", "tookOver", "resumed", "protocolVersion");
        assertThat(o.get("device").asText()).isEqualTo(NASTY);
        assertThat(o.get("tookOver").isBoolean()).isTrue();
        assertThat(o.get("tookOver").asBoolean()).isTrue();
        assertThat(o.get("resumed").asBoolean()).isFalse();
        assertThat(o.get("lastSeq").asLong()).isEqualTo(99);
        assertThat(o.get("protocolVersion").asInt()).isEqualTo(2);
        JsonNode v1 = parse(JsonEventLog.json(new SessionOpened(1000, "d", 7, null, 1, 2, 0, false, true)));
        assertThat(keys(v1)).doesNotContain("protocolVersion", "remote");

        JsonNode g = parse(JsonEventLog.gapJson(1000, "d", Long.MAX_VALUE, 17));
        assertThat(keys(g)).containsExactly("ts", "event", "device", "session", "seq");
        assertThat(g.get("session").asLong()).isEqualTo(Long.MAX_VALUE);
        assertThat(g.get("seq").asLong()).isEqualTo(17);
    }

    @Test
    void command_readsBackExactly() throws Exception {
        Command c = new Command("01JTEST", "dev-" + NASTY, 7, new byte[5], null, CommandState.SUCCEEDED, 1_000, 99_000,
                1_100, 1_200, 1_500, 2, new byte[0], "done " + NASTY);
        JsonNode n = parse(JsonEventLog.json(c));
        assertThat(keys(n)).containsExactly("ts", "event", "device", "id", "seq", "state", "attempts", "bytes", "ageMs",
                "detail");
        assertThat(n.get("ts").asText()).isEqualTo("1970-01-01T00:00:01.500Z");
        assertThat(n.get("event").asText()).isEqualTo("command");
        assertThat(n.get("device").asText()).isEqualTo("dev-" + NASTY);
        assertThat(n.get("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(n.get("bytes").asInt()).isEqualTo(5);
        assertThat(n.get("ageMs").asLong()).isEqualTo(500);
        assertThat(n.get("detail").asText()).isEqualTo("done " + NASTY);
        JsonNode queued = parse(JsonEventLog.json(c.with(CommandState.QUEUED, 0, 0, 0, 0, null, "")));
        assertThat(keys(queued)).doesNotContain("ageMs", "detail");
        assertThat(queued.get("ts").asText()).isEqualTo("1970-01-01T00:00:01Z");
    }

    private static JsonNode parse(String line) throws Exception {
        assertThat(line).doesNotContain("\n");
        return MAPPER.readTree(line);
    }

    private static List<String> keys(JsonNode n) {
        List<String> k = new ArrayList<>();
        n.fieldNames().forEachRemaining(k::add);
        return k;
    }
}
