package io.tether.server.internal.api;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Server-Sent Events client as the WHATWG spec reads a stream (fields, comments, blank line
 * dispatch, the last event id), over {@link HttpClient} streaming the body. A thread of its own
 * reads; tests take events with a timeout.
 */
final class SseClient implements AutoCloseable {
    /** A dispatched event; {@code data} null for one without data (it only moved the last event id). */
    record Event(String id, String event, String data) {
    }

    private static final Event END = new Event(null, null, null);

    final int status;
    final String contentType;
    /** The body, when the status is not 200. */
    final String problem;
    private final InputStream body;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    final AtomicInteger comments = new AtomicInteger();
    private volatile String lastEventId = "";
    private final Thread reader;

    SseClient(HttpClient http, URI uri, String key, String lastEventId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (lastEventId != null) {
            b.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<InputStream> res;
        try {
            res = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        this.status = res.statusCode();
        this.contentType = res.headers().firstValue("content-type").orElse("");
        this.body = res.body();
        if (status != 200) {
            try (InputStream in = body) {
                this.problem = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            this.reader = null;
            return;
        }
        this.problem = null;
        this.reader = new Thread(this::read, "sse-client");
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            String id = null, event = null;
            StringBuilder data = null;
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) {
                    if (id != null) {
                        lastEventId = id;
                    }
                    if (data != null || id != null) {
                        events.add(new Event(id, event == null ? "message" : event, data == null ? null : data.toString()));
                    }
                    id = null;
                    event = null;
                    data = null;
                } else if (line.startsWith(":")) {
                    comments.incrementAndGet();
                } else {
                    int colon = line.indexOf(':');
                    String field = colon < 0 ? line : line.substring(0, colon);
                    String value = colon < 0 ? "" : line.substring(colon + 1).replaceFirst("^ ", "");
                    switch (field) {
                        case "id" -> id = value;
                        case "event" -> event = value;
                        case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                        default -> {
                        }
                    }
                }
            }
        } catch (IOException e) {
            // closed by the test, or by the server
        } finally {
            events.add(END);
        }
    }

    /** The next event, or null if none came within {@code timeout}. */
    Event next(Duration timeout) throws InterruptedException {
        Event e = events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (e == END) {
            events.add(END);
            return null;
        }
        return e;
    }

    /** Whether the server ended the stream (after the events before the end were taken). */
    boolean ended() {
        return events.peek() == END;
    }

    /** The id a reconnecting EventSource would send as Last-Event-ID. */
    String lastEventId() {
        return lastEventId;
    }

    @Override
    public void close() {
        try {
            body.close();
        } catch (IOException e) {
            // gone already
        }
    }
}
