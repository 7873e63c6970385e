package io.tether.server.internal.events;

import io.tether.server.EventLog;
import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.tether.server.internal.json.JsonText;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.transport.BatchWriter;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one JSON line per session event. The event loop only queues the (immutable) event;
 * a background thread formats and writes it, so neither JSON nor a slow disk or terminal costs
 * the event loop time: in a close storm of 19,000 sessions, formatting on the event loop took
 * about 7 % of its samples, time that delayed the next deadline.
 *
 * <p><b>A failing or slow sink costs events, never the gateway.</b> The queue is bounded
 * ({@value #DEFAULT_CAPACITY} events). When it is full (a stdout pipe nobody reads) or the sink
 * throws (a full disk), events are dropped and counted in {@value #DROPPED_METER}; the first drop
 * after a working spell is logged once at ERROR, and so is the first successful write after it.
 * While the sink throws, the writer tries again once a second with the events queued since, so
 * the log resumes by itself when space is freed. A line torn by a failed write is cut off (a file
 * is truncated to its last whole line; another sink gets a newline after it), so every line of a
 * file stays whole JSON.
 *
 * <p>Formats (fields absent when not applicable are omitted):
 * <pre>
 * {"ts":"2026-11-26T05:40:00.123Z","event":"open","device":"d1","session":17,"remote":"127.0.0.1:50000",
 *  "heartbeatMs":30000,"timeoutMs":45000,"lastSeq":0,"tookOver":false,"resumed":false}
 * {"ts":"…","event":"close","device":"d1","session":17,"remote":"…","reason":"PEER_RESET",
 *  "errno":"ECONNRESET","errnoNumber":104,"durationMs":5012,"lateMs":0.4,"drained":0,"detail":"…"}
 * {"ts":"…","event":"gap","device":"d1","session":17,"seq":42}
 * </pre>
 */
public final class JsonEventLog implements EventLog {
    private static final Logger log = LoggerFactory.getLogger(JsonEventLog.class);
    /** Counter of events not written: queue full or sink failed. */
    public static final String DROPPED_METER = "tether.events.dropped";
    /** Events that may wait for the sink; more are dropped. */
    public static final int DEFAULT_CAPACITY = 1 << 16;
    private static final Duration DEFAULT_RETRY = Duration.ofSeconds(1);
    /** Pause of the writer after each write, so that lines are written in batches. */
    static final long LINGER_MILLIS = 2;
    /** How long {@link #close()} waits for queued events to be written to a stalled sink. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    private final OutputStream out;
    private final boolean closeStream;
    private final Duration retry;
    private final Counter dropped;
    /** True from the first drop until a write succeeds again. */
    private final AtomicBoolean dropping = new AtomicBoolean();
    /** Writer thread only: the last write failed, maybe half-way through a line. */
    private boolean torn;
    /** Writer thread only: for a file, its size after the last whole line written; else -1. */
    private long goodSize;
    private final BatchWriter<Object> writer;

    /**
     * Counts drops in a registry of its own; see {@link #JsonEventLog(OutputStream, boolean, MeterRegistry)}.
     */
    public JsonEventLog(OutputStream out, boolean closeStream) {
        this(out, closeStream, new SimpleMeterRegistry());
    }

    /**
     * @param out         where lines go
     * @param closeStream whether {@link #close()} closes {@code out} (false for System.out)
     * @param meters      where the {@value #DROPPED_METER} counter is registered
     */
    public JsonEventLog(OutputStream out, boolean closeStream, MeterRegistry meters) {
        this(out, closeStream, meters, Integer.getInteger(CAPACITY_PROPERTY, DEFAULT_CAPACITY), DEFAULT_RETRY);
    }

    /**
     * JVM property that sets how many events may wait for the sink (default {@value #DEFAULT_CAPACITY},
     * about 200 bytes each): {@code TETHER_JAVA_OPTS=-Dtether.events.queue=N}. Process tests use a
     * small value to reach the full-queue case quickly.
     */
    public static final String CAPACITY_PROPERTY = "tether.events.queue";

    /** For tests: a smaller queue, a shorter retry. */
    JsonEventLog(OutputStream out, boolean closeStream, MeterRegistry meters, int capacity, Duration retry) {
        this.out = Objects.requireNonNull(out, "out");
        this.closeStream = closeStream;
        this.retry = Objects.requireNonNull(retry, "retry");
        this.goodSize = sizeOf(out);
        this.dropped = Counter.builder(DROPPED_METER)
                .description("Session events not written to the event log: its queue was full or its sink failed")
                .register(meters);
        this.writer = BatchWriter.builder("tether-events", this::write)
                .capacity(capacity)
                .onFailure(this::writeFailed)
                .start();
    }

    /** Events dropped so far (the {@value #DROPPED_METER} counter). */
    public long dropped() {
        return (long) dropped.count();
    }

    @Override
    public void onOpen(SessionOpened e) {
        enqueue(e);
    }

    private static void append(StringBuilder b, SessionOpened e) {
        head(b, e.atMillis(), "open", e.deviceId(), e.sessionId(), e.remote());
        number(b, "heartbeatMs", e.heartbeatMillis());
        number(b, "timeoutMs", e.timeoutMillis());
        number(b, "lastSeq", e.lastSeq());
        JsonText.appendName(b.append(','), "tookOver").append(e.tookOver());
        JsonText.appendName(b.append(','), "resumed").append(e.resumed());
        if (e.protocolVersion() != 1) {
            number(b, "protocolVersion", e.protocolVersion());
        }
        b.append('}');
    }

    @Override
    public void onClose(SessionClosed e) {
        enqueue(e);
    }

    private static void append(StringBuilder b, SessionClosed e) {
        head(b, e.atMillis(), "close", e.deviceId(), e.sessionId(), e.remote());
        string(b, "reason", e.reason().name());
        if (e.errnoName() != null) {
            string(b, "errno", e.errnoName());
            number(b, "errnoNumber", e.errnoNumber());
        }
        number(b, "durationMs", e.durationMillis());
        if (e.lateMillis() >= 0) {
            // Double.toString, as a JSON generator writes a double.
            JsonText.appendName(b.append(','), "lateMs").append(Math.round(e.lateMillis() * 1000) / 1000.0);
        }
        if (e.drainedFrames() > 0) {
            number(b, "drained", e.drainedFrames());
        }
        if (e.deviceId() != null) {
            number(b, "messagesIn", e.messagesIn());
            number(b, "bytesIn", e.bytesIn());
            number(b, "messagesOut", e.messagesOut());
            number(b, "bytesOut", e.bytesOut());
        }
        if (e.claimedDevice() != null && e.deviceId() == null) {
            string(b, "claimedDevice", e.claimedDevice());
        }
        if (e.authCause() != null) {
            string(b, "authCause", e.authCause());
        }
        if (e.detail() != null) {
            string(b, "detail", e.detail());
        }
        b.append('}');
    }

    @Override
    public void onSequenceGap(String deviceId, long sessionId, long receivedSeq) {
        enqueue(new Gap(System.currentTimeMillis(), deviceId, sessionId, receivedSeq));
    }

    private record Gap(long atMillis, String deviceId, long sessionId, long seq) {
    }

    private static void append(StringBuilder b, Gap e) {
        head(b, e.atMillis(), "gap", e.deviceId(), e.sessionId(), null);
        number(b, "seq", e.seq());
        b.append('}');
    }

    @Override
    public void onCommand(Command c) {
        enqueue(c);
    }

    /**
     * One line per state change: {"event":"command","state":"DELIVERED","id":...}. Written by hand,
     * not with a generator: a command makes four of these lines, and a generator per line plus
     * {@code Instant.toString} were most of the event writer's samples in a profile of bench/commands.
     */
    private static void append(StringBuilder b, Command c) {
        long at = switch (c.state()) {
            case QUEUED -> c.createdAtMillis();
            case SENT -> c.sentAtMillis();
            case DELIVERED -> c.deliveredAtMillis();
            default -> c.finishedAtMillis();
        };
        head(b, at == 0 ? System.currentTimeMillis() : at, "command", c.deviceId(), 0, null);
        string(b, "id", c.id());
        number(b, "seq", c.seq());
        string(b, "state", c.state().name());
        number(b, "attempts", c.attempts());
        number(b, "bytes", c.payload().length);
        if (c.state().isFinal() || c.state() == CommandState.DELIVERED) {
            number(b, "ageMs", Math.max(0, at - c.createdAtMillis()));
        }
        if (!c.detail().isEmpty()) {
            string(b, "detail", c.detail());
        }
        b.append('}');
    }

    /**
     * The JSON object (one line, no newline) that the event file has for {@code event}: a
     * {@link SessionOpened}, {@link SessionClosed} or {@link Command}. The application feed
     * carries the same objects.
     */
    public static String json(Object event) {
        StringBuilder b = new StringBuilder(256);
        append(b, event);
        return b.toString();
    }

    /** The JSON object of a sequence gap event, as in the event file. */
    public static String gapJson(long atMillis, String deviceId, long sessionId, long seq) {
        return json(new Gap(atMillis, deviceId, sessionId, seq));
    }

    /** Appends the event's line (no newline). */
    private static void append(StringBuilder b, Object event) {
        if (event instanceof SessionClosed c) {
            append(b, c);
        } else if (event instanceof Command c) {
            append(b, c);
        } else if (event instanceof SessionOpened o) {
            append(b, o);
        } else {
            append(b, (Gap) event);
        }
    }

    /*
     * Every line is written by hand into one builder: in a 5,000-session close
     * storm, a JSON generator per line (with its buffer recycler and StringWriter) was most of
     * the samples of the code that formats closes (JFR, 2026-12-02), and every close is formatted
     * twice, here and for the application feed (on the store's writer). JsonEventLogFormatTest
     * checks that a JSON parser reads back the event's values.
     */
    private static void head(StringBuilder b, long atMillis, String event, String device, long session, String remote) {
        JsonText.appendTime(JsonText.appendName(b.append('{'), "ts").append('"'), atMillis, false).append('"');
        string(b, "event", event);
        if (device != null) {
            string(b, "device", device);
        }
        if (session != 0) {
            number(b, "session", session);
        }
        if (remote != null) {
            string(b, "remote", remote);
        }
    }

    private static void string(StringBuilder b, String name, String value) {
        JsonText.appendString(JsonText.appendName(b.append(','), name), value);
    }

    private static void number(StringBuilder b, String name, long value) {
        JsonText.appendName(b.append(','), name).append(value);
    }

    /** Never blocks: an event the writer cannot take now is dropped and counted. */
    private void enqueue(Object event) {
        if (writer.offer(event)) {
            return;
        }
        dropped.increment();
        if (dropping.compareAndSet(false, true)) {
            // Not logged here: this is an event loop, and the log's own sink (stderr) may be the
            // very pipe that is stalled. A short-lived thread says it, once per failing spell.
            Thread t = new Thread(() -> log.error("event log: {} events are waiting for a sink that does not keep up "
                    + "(is the --events file or stdout being read?); dropping events and counting them in {} "
                    + "until it does", writer.pending(), DROPPED_METER), "tether-events-alarm");
            t.setDaemon(true);
            t.start();
        }
    }

    // ---- writer thread ---------------------------------------------------------------------

    private void write(List<Object> batch) throws IOException {
        StringBuilder sb = new StringBuilder(batch.size() * 200 + 1);
        if (torn) {
            endTornLine(sb);
        }
        for (Object e : batch) {
            append(sb, e);
            sb.append('\n');
        }
        torn = true; // until the flush returns
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        torn = false;
        if (out instanceof FileOutputStream f) {
            goodSize = f.getChannel().size();
        }
        if (dropping.compareAndSet(true, false)) {
            log.error("event log: writing again; {} events dropped so far ({})", dropped(), DROPPED_METER);
        }
        linger();
    }

    /**
     * Lets the next lines gather in the queue for {@value #LINGER_MILLIS} ms: without the pause
     * this thread slept after each write and was woken by the next event, about once per
     * accepted command in bench/commands (a command makes four lines), each a futex call on the
     * thread that offered the event. Lines reach the sink at most that much later.
     */
    private static void linger() {
        try {
            Thread.sleep(LINGER_MILLIS);
        } catch (InterruptedException e) {
            // Nobody interrupts the writer on purpose (BatchWriter ignores it too); the pause is only shorter.
        }
    }

    /**
     * A write that failed on a full disk may have written part of a line. A file is cut back to
     * its last whole line; any other sink gets a newline, so the torn line stays on its own.
     */
    private void endTornLine(StringBuilder sb) {
        if (out instanceof FileOutputStream f && goodSize >= 0) {
            try {
                FileChannel ch = f.getChannel();
                if (ch.size() > goodSize) {
                    ch.truncate(goodSize);
                }
                return;
            } catch (IOException e) {
                // fall back to the newline
            }
        }
        sb.append('\n');
    }

    private static long sizeOf(OutputStream out) {
        if (out instanceof FileOutputStream f) {
            try {
                return f.getChannel().size();
            } catch (IOException e) {
                return -1;
            }
        }
        return -1;
    }

    private BatchWriter.Decision writeFailed(List<Object> batch, Throwable error, int attempt) {
        dropped.increment(batch.size());
        if (dropping.compareAndSet(false, true)) {
            log.error("event log: write failed ({}); dropping events and counting them in {}, retrying every {} ms",
                    error.toString(), DROPPED_METER, retry.toMillis());
        }
        return BatchWriter.Decision.drop(retry);
    }

    /** Writes what is queued (waiting at most 5 s for a stalled sink), then stops. */
    @Override
    public void close() {
        try {
            writer.closeAsync().get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            log.error("event log: the sink took more than {} s; closing with {} events unwritten",
                    CLOSE_WAIT.toSeconds(), writer.pending());
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        if (closeStream) {
            try {
                out.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
