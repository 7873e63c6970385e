package io.tether.server.internal.feed;

import io.tether.server.Command;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.tether.server.internal.events.JsonEventLog;
import io.tether.server.internal.json.JsonText;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Puts session events and command changes into the {@link Feed}: each session's open and close
 * (the same JSON objects as the event file), sequence gaps, failed authentications (a close
 * without a session but with an auth cause), and every command state change with its result.
 * Other closes without a session (a port scan, a handshake that timed out) stay in the event
 * file only. Runs on the event loops and the ledger thread and only queues: the JSON is made
 * by the store's writer ({@link Feed.Body}), so a close storm costs the loops no formatting.
 */
public final class FeedEvents implements SessionListener {
    private final Feed feed;

    public FeedEvents(Feed feed) {
        this.feed = feed;
    }

    @Override
    public void onOpen(SessionOpened e) {
        feed.appendSession(true, e.deviceId(), e.sessionId(), e.atMillis(), () -> utf8(JsonEventLog.json(e)));
    }

    @Override
    public void onClose(SessionClosed e) {
        if (e.deviceId() != null && e.sessionId() != 0) {
            feed.appendSession(false, e.deviceId(), e.sessionId(), e.atMillis(), () -> utf8(JsonEventLog.json(e)));
        } else if (e.authCause() != null) {
            feed.append(Feed.Kind.EVENT, e.claimedDevice(), 0, 0, e.atMillis(), () -> utf8(JsonEventLog.json(e)));
        }
    }

    @Override
    public void onSequenceGap(String deviceId, long sessionId, long receivedSeq) {
        long now = System.currentTimeMillis();
        feed.append(Feed.Kind.EVENT, deviceId, sessionId, 0, now,
                () -> utf8(JsonEventLog.gapJson(now, deviceId, sessionId, receivedSeq)));
    }

    @Override
    public void onCommand(Command c) {
        long at = switch (c.state()) {
            case QUEUED -> c.createdAtMillis();
            case SENT -> c.sentAtMillis();
            case DELIVERED -> c.deliveredAtMillis();
            default -> c.finishedAtMillis();
        };
        if (at == 0) {
            at = System.currentTimeMillis();
        }
        long when = at;
        feed.append(Feed.Kind.COMMAND, c.deviceId(), 0, c.seq(), at, () -> command(c, when));
    }

    /**
     * A command change as the feed has it: {"ts","event":"command","device","id","seq","state",
     * "attempts","createdAt","idempotencyKey"?, "detail"?, "result"? (base64), "resultText"? (the
     * result when it is valid UTF-8)}. Written by hand, as the event file's lines are: a command
     * makes four of these, and a JSON generator with {@code Instant.toString()} for each was a
     * few percent of the server's CPU under bench/commands (perf, issue 13).
     */
    static byte[] command(Command c, long atMillis) {
        StringBuilder b = new StringBuilder(256);
        JsonText.appendTime(b.append("{\"ts\":\""), atMillis, false).append('"');
        JsonText.appendString(b.append(",\"event\":\"command\",\"device\":"), c.deviceId());
        JsonText.appendString(b.append(",\"id\":"), c.id());
        b.append(",\"seq\":").append(c.seq());
        b.append(",\"state\":\"").append(c.state().name()).append('"');
        b.append(",\"attempts\":").append(c.attempts());
        JsonText.appendTime(b.append(",\"createdAt\":\""), c.createdAtMillis(), false).append('"');
        if (c.idempotencyKey() != null) {
            JsonText.appendString(b.append(",\"idempotencyKey\":"), c.idempotencyKey());
        }
        if (!c.detail().isEmpty()) {
            JsonText.appendString(b.append(",\"detail\":"), c.detail());
        }
        if (c.result() != null) {
            b.append(",\"result\":\"").append(Base64.getEncoder().encodeToString(c.result())).append('"');
            String text = textOrNull(c.result());
            if (text != null) {
                JsonText.appendString(b.append(",\"resultText\":"), text);
            }
        }
        return b.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String textOrNull(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
