package io.tether.server.internal.events;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.tether.server.EventLog;
import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.transport.BatchWriter;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
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
    private static final JsonFactory JSON = new JsonFactory();
    /** Counter of events not written: queue full or sink failed. */
    public static final String DROPPED_METER = "tether.events.dropped";
    /** Events that may wait for the sink; more are dropped. */
    public static final int DEFAULT_CAPACITY = 1 << 16;
    private static final Duration DEFAULT_RETRY = Duration.ofSeconds(1);
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

    private static String format(SessionOpened e) {
        return line(g -> {
            head(g, e.atMillis(), "open", e.deviceId(), e.sessionId(), e.remote());
            g.writeNumberField("heartbeatMs", e.heartbeatMillis());
            g.writeNumberField("timeoutMs", e.timeoutMillis());
            g.writeNumberField("lastSeq", e.lastSeq());
            g.writeBooleanField("tookOver", e.tookOver());
            g.writeBooleanField("resumed", e.resumed());
            if (e.protocolVersion() != 1) {
                g.writeNumberField("protocolVersion", e.protocolVersion());
            }
        });
    }

    @Override
    public void onClose(SessionClosed e) {
        enqueue(e);
    }

    private static String format(SessionClosed e) {
        return line(g -> {
            head(g, e.atMillis(), "close", e.deviceId(), e.sessionId(), e.remote());
            g.writeStringField("reason", e.reason().name());
            if (e.errnoName() != null) {
                g.writeStringField("errno", e.errnoName());
                g.writeNumberField("errnoNumber", e.errnoNumber());
            }
            g.writeNumberField("durationMs", e.durationMillis());
            if (e.lateMillis() >= 0) {
                g.writeNumberField("lateMs", Math.round(e.lateMillis() * 1000) / 1000.0);
            }
            if (e.drainedFrames() > 0) {
                g.writeNumberField("drained", e.drainedFrames());
            }
            if (e.deviceId() != null) {
                g.writeNumberField("messagesIn", e.messagesIn());
                g.writeNumberField("bytesIn", e.bytesIn());
                g.writeNumberField("messagesOut", e.messagesOut());
                g.writeNumberField("bytesOut", e.bytesOut());
            }
            if (e.claimedDevice() != null && e.deviceId() == null) {
                g.writeStringField("claimedDevice", e.claimedDevice());
            }
            if (e.authCause() != null) {
                g.writeStringField("authCause", e.authCause());
            }
            if (e.detail() != null) {
                g.writeStringField("detail", e.detail());
            }
        });
    }

    @Override
    public void onSequenceGap(String deviceId, long sessionId, long receivedSeq) {
        enqueue(new Gap(System.currentTimeMillis(), deviceId, sessionId, receivedSeq));
    }

    private record Gap(long atMillis, String deviceId, long sessionId, long seq) {
    }

    private static String format(Gap e) {
        return line(g -> {
            head(g, e.atMillis(), "gap", e.deviceId(), e.sessionId(), null);
            g.writeNumberField("seq", e.seq());
        });
    }

    @Override
    public void onCommand(Command c) {
        enqueue(c);
    }

    /** One line per state change: {"event":"command","state":"DELIVERED","id":...}. */
    private static String format(Command c) {
        long at = switch (c.state()) {
            case QUEUED -> c.createdAtMillis();
            case SENT -> c.sentAtMillis();
            case DELIVERED -> c.deliveredAtMillis();
            default -> c.finishedAtMillis();
        };
        return line(g -> {
            head(g, at == 0 ? System.currentTimeMillis() : at, "command", c.deviceId(), 0, null);
            g.writeStringField("id", c.id());
            g.writeNumberField("seq", c.seq());
            g.writeStringField("state", c.state().name());
            g.writeNumberField("attempts", c.attempts());
            g.writeNumberField("bytes", c.payload().length);
            if (c.state().isFinal() || c.state() == CommandState.DELIVERED) {
                g.writeNumberField("ageMs", Math.max(0, at - c.createdAtMillis()));
            }
            if (!c.detail().isEmpty()) {
                g.writeStringField("detail", c.detail());
            }
        });
    }

    /**
     * The JSON object (one line, no newline) that the event file has for {@code event}: a
     * {@link SessionOpened}, {@link SessionClosed} or {@link Command}. The application feed
     * carries the same objects.
     */
    public static String json(Object event) {
        return format(event);
    }

    /** The JSON object of a sequence gap event, as in the event file. */
    public static String gapJson(long atMillis, String deviceId, long sessionId, long seq) {
        return format(new Gap(atMillis, deviceId, sessionId, seq));
    }

    private static String format(Object event) {
        if (event instanceof SessionClosed c) {
            return format(c);
        }
        if (event instanceof Command c) {
            return format(c);
        }
        if (event instanceof SessionOpened o) {
            return format(o);
        }
        return format((Gap) event);
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static String line(Body body) {
        StringWriter w = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            body.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    private static void head(JsonGenerator g, long atMillis, String event, String device, long session, String remote)
            throws IOException {
        g.writeStringField("ts", Instant.ofEpochMilli(atMillis).toString());
        g.writeStringField("event", event);
        if (device != null) {
            g.writeStringField("device", device);
        }
        if (session != 0) {
            g.writeNumberField("session", session);
        }
        if (remote != null) {
            g.writeStringField("remote", remote);
        }
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
            sb.append(format(e)).append('\n');
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
