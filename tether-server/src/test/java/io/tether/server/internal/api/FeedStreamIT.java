package io.tether.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.MemoryFeed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /v1/stream} of docs/API.md: Server-Sent Events over real loopback HTTP, read by a
 * streaming {@link java.net.http.HttpClient}, on a {@link MemoryFeed} that is appended to while
 * clients read: every entry once and in order, reconnection, heartbeats, back-pressure, the
 * stream limit, and no listener left behind by a client that leaves.
 */
class FeedStreamIT {
    private static final long AT = 1_764_635_465_123L;
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private ApiFixture api;
    private final List<AutoCloseable> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
        if (api != null) {
            api.close();
        }
    }

    private ApiFixture start(Feed feed, ApiServer.FeedLimits limits) {
        api = new ApiFixture(dir);
        api.feed = feed;
        api.feedLimits = limits;
        return api.start();
    }

    private ApiFixture start(Feed feed) {
        return start(feed, ApiServer.FeedLimits.DEFAULT);
    }

    private SseClient open(String query, String lastEventId) {
        SseClient c = new SseClient(api.http, api.uri("/v1/stream" + query), api.alice, lastEventId);
        clients.add(c);
        return c;
    }

    private static void append(MemoryFeed feed, int i) {
        feed.appendMessage("meter-" + (i % 5), 1, i / 5 + 1, AT, ("m" + i).getBytes(StandardCharsets.UTF_8));
    }

    /** Takes {@code n} entry events (skipping id-only ones), failing if one does not come within {@link #WAIT}. */
    private static List<SseClient.Event> take(SseClient c, int n) throws InterruptedException {
        List<SseClient.Event> got = new ArrayList<>(n);
        while (got.size() < n) {
            SseClient.Event e = c.next(WAIT);
            assertThat(e).as("event " + (got.size() + 1) + " of " + n + " within " + WAIT).isNotNull();
            if (e.data() != null) {
                got.add(e);
            }
        }
        return got;
    }

    private static JsonNode json(SseClient.Event e) {
        try {
            return ApiFixture.JSON.readTree(e.data());
        } catch (IOException x) {
            throw new AssertionError("data is not JSON: " + e.data(), x);
        }
    }

    @Test
    void catchUpThenLive_deliversEveryEntryOnce_inOrder_whileAppendsRunConcurrently() throws Exception {
        MemoryFeed feed = new MemoryFeed(1_000_000);
        int before = 2_000, during = 3_000;
        for (int i = 0; i < before; i++) {
            append(feed, i);
        }
        java.util.Set<String> readOn = java.util.concurrent.ConcurrentHashMap.newKeySet();
        start(new FeedMessagesIT.DelegatingFeed(feed) {
            @Override
            public List<Entry> read(long after, int max) throws IOException {
                readOn.add(Thread.currentThread().getName().replaceAll("[0-9]+$", ""));
                return super.read(after, max);
            }
        });
        SseClient c = open("", null);
        assertThat(c.status).as(c.problem).isEqualTo(200);
        assertThat(c.contentType).isEqualTo("text/event-stream");
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            for (int i = before; i < before + during; i++) {
                append(feed, i);
                if (i % 100 == 0) {
                    // Bursts and pauses: the stream moves between catching up and following.
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        });

        List<SseClient.Event> got = take(c, before + during);
        writer.get(10, TimeUnit.SECONDS);

        for (int i = 0; i < got.size(); i++) {
            SseClient.Event e = got.get(i);
            assertThat(e.id()).as("every entry once, in order").isEqualTo(Integer.toString(i + 1));
            assertThat(e.event()).isEqualTo("message");
            JsonNode m = json(e);
            assertThat(m.get("cursor").asText()).isEqualTo(e.id());
            assertThat(m.get("device").asText()).isEqualTo("meter-" + (i % 5));
            assertThat(m.get("seq").asLong()).isEqualTo(i / 5 + 1);
        }
        assertThat(c.next(Duration.ofMillis(300))).as("nothing more").isNull();
        assertThat(readOn).as("threads that read the feed: neither an event loop nor the appending thread")
                .containsExactly("tether-api-feed-");
    }

    @Test
    void reconnectWithLastEventId_continuesWithoutGapOrRepeat_andWinsOverAfter() throws Exception {
        MemoryFeed feed = new MemoryFeed(1_000_000);
        for (int i = 0; i < 1_000; i++) {
            append(feed, i);
        }
        start(feed);
        List<String> ids = new ArrayList<>();
        SseClient first = open("?after=0", null);
        take(first, 300).forEach(e -> ids.add(e.id()));
        first.close();
        for (int i = 1_000; i < 1_500; i++) {
            append(feed, i);
        }

        // As an EventSource reconnects: the same URL, with the last id it saw in the header.
        SseClient second = open("?after=0", ids.get(ids.size() - 1));
        take(second, 1_200).forEach(e -> ids.add(e.id()));

        assertThat(ids).hasSize(1_500);
        for (int i = 0; i < ids.size(); i++) {
            assertThat(ids.get(i)).isEqualTo(Integer.toString(i + 1));
        }
        assertThat(second.next(Duration.ofMillis(300))).isNull();
    }

    @Test
    void aClientThatDisconnects_leavesNoListenerBehind() throws Exception {
        MemoryFeed inner = new MemoryFeed(1_000_000);
        CountingFeed feed = new CountingFeed(inner);
        start(feed);
        List<SseClient> streams = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            streams.add(open("", null));
        }
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 3_000; i++) {
                append(inner, i);
            }
        });
        for (SseClient s : streams) {
            take(s, 100);
        }
        assertThat(feed.listeners.get()).isEqualTo(3);
        assertThat(api.server.openStreams()).isEqualTo(3);
        assertThat(api.meters.get("tether.api.feed.streams").gauge().value()).isEqualTo(3);

        // Mid-stream, while entries are still being appended.
        streams.get(0).close();
        streams.get(1).close();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(feed.listeners.get()).isEqualTo(1);
            assertThat(api.server.openStreams()).isEqualTo(1);
        });
        writer.get(10, TimeUnit.SECONDS);
        take(streams.get(2), 2_900);
        streams.get(2).close();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(feed.listeners.get()).isZero();
            assertThat(api.meters.get("tether.api.feed.streams").gauge().value()).isZero();
        });
    }

    @Test
    void serverClose_releasesItsStreams() {
        CountingFeed feed = new CountingFeed(new MemoryFeed(10));
        start(feed);
        SseClient c = open("", null);
        await().atMost(WAIT).until(() -> feed.listeners.get() == 1);

        api.server.close();

        assertThat(feed.listeners.get()).isZero();
        await().atMost(WAIT).until(c::ended);
    }

    @Test
    void aFeedThatFailsMidStream_endsTheStream_andReleasesIt() throws Exception {
        MemoryFeed inner = new MemoryFeed(100);
        append(inner, 0);
        java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();
        CountingFeed feed = new CountingFeed(new FeedMessagesIT.DelegatingFeed(inner) {
            @Override
            public List<Entry> read(long after, int max) throws IOException {
                if (failing.get()) {
                    throw new IOException("store failed");
                }
                return super.read(after, max);
            }
        });
        start(feed);
        SseClient c = open("", null);
        take(c, 1);

        failing.set(true);
        append(inner, 1);

        await().atMost(WAIT).until(c::ended);
        assertThat(feed.listeners.get()).isZero();
        assertThat(c.lastEventId()).as("where an EventSource resumes once the store is back").isEqualTo("1");
    }

    @Test
    void anIdleStream_sendsHeartbeatComments() throws Exception {
        start(new MemoryFeed(10), new ApiServer.FeedLimits(64, 2, 256, Duration.ofMillis(100)));
        SseClient c = open("", null);

        await().atMost(WAIT).until(() -> c.comments.get() >= 4); // the opening comment and 3 pings
        assertThat(c.next(Duration.ZERO)).isNull();
    }

    @Test
    void entriesAFilterPassesOver_moveTheLastEventId_withTheHeartbeat() throws Exception {
        MemoryFeed feed = new MemoryFeed(100);
        for (int i = 0; i < 5; i++) {
            feed.appendMessage("other", 1, i + 1, AT, new byte[] {1});
        }
        start(feed, new ApiServer.FeedLimits(64, 2, 256, Duration.ofMillis(100)));
        SseClient c = open("?device=mine", null);

        SseClient.Event e = c.next(WAIT);

        assertThat(e).isNotNull();
        assertThat(e.data()).as("an id without data: not dispatched by an EventSource").isNull();
        assertThat(e.id()).isEqualTo("5");
        assertThat(c.lastEventId()).isEqualTo("5");
    }

    @Test
    void filters_kindsAndDevice() throws Exception {
        MemoryFeed feed = new MemoryFeed(100);
        feed.appendMessage("a", 1, 1, AT, new byte[] {1});
        feed.append(Feed.Kind.EVENT, "a", 1, 0, AT, "{\"type\":\"open\"}".getBytes(StandardCharsets.UTF_8));
        feed.appendMessage("b", 1, 1, AT, new byte[] {2});
        feed.append(Feed.Kind.COMMAND, "a", 1, 4, AT, "{\"state\":\"SENT\"}".getBytes(StandardCharsets.UTF_8));
        start(feed);

        List<SseClient.Event> got = take(open("?kinds=event,command&device=a", null), 2);

        assertThat(got).extracting(SseClient.Event::id).containsExactly("2", "4");
        assertThat(got).extracting(SseClient.Event::event).containsExactly("event", "command");
        assertThat(json(got.get(0)).get("body").get("type").asText()).isEqualTo("open");
    }

    @Test
    void aCursorOlderThanRetention_saysSo_andContinuesFromTheOldestKept() throws Exception {
        MemoryFeed feed = new MemoryFeed(100);
        for (int i = 0; i < 300; i++) {
            append(feed, i);
        }
        start(feed);
        SseClient c = open("?after=50", null);

        SseClient.Event skipped = c.next(WAIT);
        List<SseClient.Event> rest = take(c, 100);

        assertThat(skipped.event()).isEqualTo("skipped");
        assertThat(skipped.id()).isNull();
        assertThat(json(skipped).get("oldest").asText()).isEqualTo("201");
        assertThat(rest.get(0).id()).isEqualTo("201");
        assertThat(rest.get(99).id()).isEqualTo("300");
    }

    @Test
    void aClientThatDoesNotRead_stopsTheReading_andResumesWhenItReads() throws Exception {
        MemoryFeed inner = new MemoryFeed(1_000_000);
        byte[] kb = new byte[1024];
        int total = 20_000; // about 28 MB of events
        for (int i = 0; i < total; i++) {
            inner.appendMessage("meter-1", 1, i + 1, AT, kb);
        }
        AtomicLong entriesRead = new AtomicLong();
        Feed feed = new FeedMessagesIT.DelegatingFeed(inner) {
            @Override
            public List<Entry> read(long after, int max) throws IOException {
                List<Entry> r = super.read(after, max);
                entriesRead.addAndGet(r.size());
                return r;
            }
        };
        start(feed);
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(16 * 1024);
            s.connect(api.server.address());
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /v1/stream HTTP/1.0\r\nAuthorization: Bearer " + api.alice + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();

            // Reads stop once the socket's buffers and the channel's are full; give them time to fill.
            long settled = -1;
            for (int i = 0; i < 20 && settled != entriesRead.get(); i++) {
                settled = entriesRead.get();
                Thread.sleep(200);
            }
            assertThat(entriesRead.get()).as("entries read while the client reads nothing").isLessThan(total / 2);

            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while (!(line = in.readLine()).isEmpty()) {
                // response head: HTTP/1.0 answers without chunked encoding
                assertThat(line).doesNotContainIgnoringCase("chunked");
            }
            long expected = 1;
            while (expected <= total && (line = in.readLine()) != null) {
                if (line.startsWith("id: ")) {
                    assertThat(line).isEqualTo("id: " + expected);
                    expected++;
                }
            }
            assertThat(expected - 1).as("every entry once, in order, after the client read again").isEqualTo(total);
        }
    }

    @Test
    void beyondTheStreamLimit_is503FeedBusy_andAClosedStreamFreesItsPlace() {
        start(new MemoryFeed(10), new ApiServer.FeedLimits(2, 2, 256, Duration.ofSeconds(15)));
        SseClient a = open("", null);
        open("", null);

        SseClient refused = open("", null);
        assertThat(refused.status).isEqualTo(503);
        assertThat(refused.problem).contains("https://tether.dev/problems/feed-busy").contains("at most 2");

        a.close();
        await().atMost(WAIT).until(() -> api.server.openStreams() == 1);
        assertThat(open("", null).status).isEqualTo(200);
    }

    @Test
    void badCursorOrNoKey_areProblems_beforeAnyStream() {
        MemoryFeed feed = new MemoryFeed(10);
        append(feed, 0);
        start(feed);

        SseClient badAfter = open("?after=x", null);
        SseClient badLastId = open("?after=0", "nope");
        SseClient beyond = open("", "2");
        SseClient unknown = open("?limit=5", null);
        SseClient noKey = new SseClient(api.http, api.uri("/v1/stream"), null, null);

        assertThat(badAfter.status).isEqualTo(400);
        assertThat(badAfter.problem).contains("after 'x' is not a cursor");
        assertThat(badLastId.status).isEqualTo(400);
        assertThat(badLastId.problem).contains("Last-Event-ID 'nope'");
        assertThat(beyond.problem).contains("beyond the feed's head 1");
        assertThat(unknown.problem).contains("unknown query parameter 'limit'");
        assertThat(noKey.status).isEqualTo(401);
        assertThat(api.server.openStreams()).isZero();
    }

    /** Counts the append listeners subscribed now. */
    static final class CountingFeed extends FeedMessagesIT.DelegatingFeed {
        final AtomicInteger listeners = new AtomicInteger();

        CountingFeed(Feed inner) {
            super(inner);
        }

        @Override
        public AutoCloseable onAppend(LongConsumer listener) {
            AutoCloseable sub = super.onAppend(listener);
            listeners.incrementAndGet();
            AtomicInteger once = new AtomicInteger();
            return () -> {
                if (once.getAndIncrement() == 0) {
                    listeners.decrementAndGet();
                }
                sub.close();
            };
        }
    }
}
