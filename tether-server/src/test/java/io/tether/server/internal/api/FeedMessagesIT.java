package io.tether.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.MemoryFeed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /v1/messages} of docs/API.md over real loopback HTTP, on a {@link MemoryFeed}: paging
 * through the whole feed, filters, retention, every parameter mistake, keys, and saturation.
 */
class FeedMessagesIT {
    private static final String PROBLEM = "https://tether.dev/problems/";
    /** The fixture's clock is frozen; entries carry times of their own. */
    private static final long AT = 1_764_635_465_123L; // 2025-12-02T00:31:05.123Z

    @TempDir
    Path dir;
    private ApiFixture api;

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
    }

    private ApiFixture start(Feed feed) {
        api = new ApiFixture(dir);
        api.feed = feed;
        return api.start();
    }

    private static byte[] payload(String device, long seq) {
        return (device + "#" + seq).getBytes(StandardCharsets.UTF_8);
    }

    /** Appends {@code n} messages round-robin over {@code devices} devices, with an event after every 10th. */
    private static MemoryFeed feedOf(int n, int devices) {
        MemoryFeed feed = new MemoryFeed(1_000_000);
        for (int i = 0; i < n; i++) {
            String device = "meter-" + (i % devices);
            long seq = i / devices + 1;
            feed.appendMessage(device, 7, seq, AT + i, payload(device, seq));
            if (i % 10 == 9) {
                feed.append(Feed.Kind.EVENT, device, 7, 0, AT + i, "{\"type\":\"open\"}".getBytes(StandardCharsets.UTF_8));
            }
        }
        return feed;
    }

    private static void assertProblem(ApiFixture.Reply r, int status, String type, String detailPart) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.json().get("type").asText()).isEqualTo(PROBLEM + type);
        assertThat(r.json().get("detail").asText()).contains(detailPart);
    }

    @Test
    void pagesOf100_deliverEveryOneOf2000MessagesOnce_inOrder() {
        MemoryFeed feed = feedOf(2_000, 7);
        start(feed);
        List<JsonNode> seen = new ArrayList<>();
        String after = "0";
        int requests = 0;
        while (true) {
            ApiFixture.Reply r = api.get("/v1/messages?after=" + after + "&limit=100");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.contentType()).isEqualTo("application/json");
            requests++;
            r.json().get("messages").forEach(seen::add);
            assertThat(r.json().get("head").asText()).isEqualTo(Long.toString(feed.head()));
            assertThat(r.json().has("skipped")).isFalse();
            if (r.json().get("messages").isEmpty()) {
                assertThat(r.json().get("next").asText()).as("past the trailing event, at the head")
                        .isEqualTo(r.json().get("head").asText());
                break;
            }
            assertThat(r.json().get("messages").size()).isLessThanOrEqualTo(100);
            after = r.json().get("next").asText();
        }

        assertThat(seen).hasSize(2_000);
        assertThat(requests).isBetween(21, 22);
        long previous = 0;
        int[] seqs = new int[7];
        for (JsonNode m : seen) {
            long cursor = Long.parseLong(m.get("cursor").asText());
            assertThat(cursor).as("cursors strictly increase").isGreaterThan(previous);
            previous = cursor;
            assertThat(m.get("kind").asText()).isEqualTo("message");
            String device = m.get("device").asText();
            int d = Integer.parseInt(device.substring("meter-".length()));
            assertThat(m.get("seq").asLong()).as("per-device seq, no gap, no repeat").isEqualTo(++seqs[d]);
            assertThat(m.get("session").asLong()).isEqualTo(7);
            assertThat(Base64.getDecoder().decode(m.get("payload").asText())).isEqualTo(payload(device, seqs[d]));
            assertThat(m.get("receivedAt").asText()).endsWith("Z");
        }
        assertThat(seen.get(0).get("receivedAt").asText()).isEqualTo("2025-12-02T00:31:05.123Z");
    }

    @Test
    void eachPage_endsAtItsLastEntry_andNextIsItsCursor() {
        start(feedOf(30, 3));

        ApiFixture.Reply r = api.get("/v1/messages?limit=5");

        JsonNode ms = r.json().get("messages");
        assertThat(ms).hasSize(5);
        assertThat(r.json().get("next").asText()).isEqualTo(ms.get(4).get("cursor").asText());
        assertThat(ms.get(0).get("cursor").asText()).isEqualTo("1");
    }

    @Test
    void defaultLimit_is100() {
        start(feedOf(500, 1));

        assertThat(api.get("/v1/messages").json().get("messages")).hasSize(100);
    }

    @Test
    void deviceFilter_givesThatDeviceOnly_andNextMovesPastWhatWasScanned() {
        start(feedOf(700, 7));

        ApiFixture.Reply r = api.get("/v1/messages?device=meter-3&limit=50");

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode ms = r.json().get("messages");
        assertThat(ms).hasSize(50);
        for (int i = 0; i < 50; i++) {
            assertThat(ms.get(i).get("device").asText()).isEqualTo("meter-3");
            assertThat(ms.get(i).get("seq").asLong()).isEqualTo(i + 1);
        }
        ApiFixture.Reply rest = api.get("/v1/messages?device=meter-3&limit=1000&after=" + r.json().get("next").asText());
        assertThat(rest.json().get("messages")).hasSize(50);
        assertThat(rest.json().get("next").asText()).as("past the last entry looked at, not just the last of meter-3")
                .isEqualTo(rest.json().get("head").asText());
    }

    @Test
    void deviceFilter_scansABoundedAmountPerRequest_andNeverRescans() {
        MemoryFeed feed = new MemoryFeed(1_000_000);
        int others = FeedEndpoints.MAX_SCAN * 2 + 500;
        for (int i = 0; i < others; i++) {
            feed.appendMessage("busy", 1, i + 1, AT, new byte[] {1});
        }
        feed.appendMessage("rare", 1, 1, AT, new byte[] {2});
        start(feed);

        ApiFixture.Reply first = api.get("/v1/messages?device=rare");
        ApiFixture.Reply second = api.get("/v1/messages?device=rare&after=" + first.json().get("next").asText());
        ApiFixture.Reply third = api.get("/v1/messages?device=rare&after=" + second.json().get("next").asText());

        assertThat(first.json().get("messages")).isEmpty();
        assertThat(first.json().get("next").asText()).isEqualTo(Integer.toString(FeedEndpoints.MAX_SCAN));
        assertThat(second.json().get("messages")).isEmpty();
        assertThat(second.json().get("next").asText()).isEqualTo(Integer.toString(2 * FeedEndpoints.MAX_SCAN));
        assertThat(third.json().get("messages")).singleElement()
                .satisfies(m -> assertThat(m.get("cursor").asText()).isEqualTo(Integer.toString(others + 1)));
    }

    @Test
    void eventsAndCommands_onRequest_carryTheirJsonBodyAsAnObject() {
        MemoryFeed feed = new MemoryFeed(100);
        feed.appendMessage("meter-1", 3, 1, AT, new byte[] {0, (byte) 0xff});
        feed.append(Feed.Kind.EVENT, "meter-1", 3, 0, AT + 1, "{\"type\":\"close\",\n \"reason\":\"HEARTBEAT_TIMEOUT\"}"
                .getBytes(StandardCharsets.UTF_8));
        feed.append(Feed.Kind.COMMAND, "meter-1", 3, 9, AT + 2, "{\"id\":\"01J\",\"state\":\"SUCCEEDED\"}"
                .getBytes(StandardCharsets.UTF_8));
        feed.append(Feed.Kind.EVENT, null, 0, 0, AT + 3, "{\"type\":\"auth-failure\"}".getBytes(StandardCharsets.UTF_8));
        start(feed);

        JsonNode onlyMessages = api.get("/v1/messages").json().get("messages");
        JsonNode all = api.get("/v1/messages?kinds=message,event,command").json().get("messages");
        JsonNode commands = api.get("/v1/messages?kinds=command").json().get("messages");

        assertThat(onlyMessages).singleElement().satisfies(m -> assertThat(m.get("payload").asText()).isEqualTo("AP8="));
        assertThat(all).hasSize(4);
        JsonNode event = all.get(1);
        assertThat(event.get("kind").asText()).isEqualTo("event");
        assertThat(event.get("at").asText()).isEqualTo("2025-12-02T00:31:05.124Z");
        assertThat(event.get("body").get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        assertThat(all.get(3).get("device").isNull()).as("an event of no device").isTrue();
        assertThat(commands).singleElement().satisfies(c -> {
            assertThat(c.get("cursor").asText()).isEqualTo("3");
            assertThat(c.get("seq").asLong()).isEqualTo(9);
            assertThat(c.get("body").get("state").asText()).isEqualTo("SUCCEEDED");
        });
    }

    @Test
    void aCursorOlderThanRetention_continuesFromTheOldestKept_andSaysSo() {
        MemoryFeed feed = new MemoryFeed(100);
        for (int i = 1; i <= 300; i++) {
            feed.appendMessage("meter-1", 1, i, AT, new byte[] {(byte) i});
        }
        start(feed);

        ApiFixture.Reply r = api.get("/v1/messages?after=50&limit=10");
        ApiFixture.Reply fresh = api.get("/v1/messages?after=250&limit=10");

        assertThat(r.json().get("skipped").asBoolean()).isTrue();
        assertThat(r.json().get("oldest").asText()).isEqualTo("201");
        assertThat(r.json().get("messages").get(0).get("cursor").asText()).isEqualTo("201");
        assertThat(fresh.json().has("skipped")).isFalse();
    }

    @Test
    void anEmptyFeed_answersAnEmptyPage() {
        start(new MemoryFeed(10));

        ApiFixture.Reply r = api.get("/v1/messages");

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("messages")).isEmpty();
        assertThat(r.json().get("next").asText()).isEqualTo("0");
        assertThat(r.json().get("head").asText()).isEqualTo("0");
    }

    @Test
    void badParameters_are400Problems_namingTheParameter() {
        start(feedOf(10, 1)); // 10 messages and an event: head 11

        assertProblem(api.get("/v1/messages?after=abc"), 400, "bad-request", "after 'abc' is not a cursor");
        assertProblem(api.get("/v1/messages?after=-1"), 400, "bad-request", "after '-1'");
        assertProblem(api.get("/v1/messages?after=99999999999999999999"), 400, "bad-request", "is not a cursor");
        assertThat(api.get("/v1/messages?after=11").status()).as("at the head: an empty page").isEqualTo(200);
        assertProblem(api.get("/v1/messages?after=12"), 400, "bad-request", "beyond the feed's head 11");
        assertProblem(api.get("/v1/messages?limit=0"), 400, "bad-request", "limit '0' (expected: 1 to 1000)");
        assertProblem(api.get("/v1/messages?limit=1001"), 400, "bad-request", "limit '1001'");
        assertProblem(api.get("/v1/messages?limit=ten"), 400, "bad-request", "limit 'ten'");
        assertProblem(api.get("/v1/messages?kinds=messages"), 400, "bad-request", "kinds 'messages'");
        assertProblem(api.get("/v1/messages?kinds="), 400, "bad-request", "kinds ''");
        assertProblem(api.get("/v1/messages?device=a%20b"), 400, "bad-request", "bad device id 'a b'");
        assertProblem(api.get("/v1/messages?device="), 400, "bad-request", "bad device id ''");
        assertProblem(api.get("/v1/messages?from=1"), 400, "bad-request", "unknown query parameter 'from'");
        assertProblem(api.get("/v1/messages?after=1&after=2"), 400, "bad-request", "'after' given 2 times");
    }

    @Test
    void withoutAValidKey_is401_asForCommands() {
        start(feedOf(10, 1));

        ApiFixture.Reply none = api.send("GET", "/v1/messages", null, null);
        ApiFixture.Reply wrong = api.send("GET", "/v1/messages", null, api.alice + "x");
        ApiFixture.Reply bob = api.send("GET", "/v1/messages", null, api.bob);

        assertProblem(none, 401, "unauthorized", "missing API key");
        assertThat(none.header("www-authenticate")).startsWith("Bearer");
        assertProblem(wrong, 401, "unauthorized", "unknown API key");
        assertThat(bob.status()).isEqualTo(200);
    }

    @Test
    void withTheFeedOff_bothEndpointsAre404_sayingSo() {
        start(null);

        assertProblem(api.get("/v1/messages"), 404, "not-found", "the application feed is off (--no-feed)");
        assertProblem(api.get("/v1/stream"), 404, "not-found", "the application feed is off (--no-feed)");
    }

    @Test
    void saturatedReaders_are503FeedBusy_withRetryAfter_andTheQueuedOnesAreServed() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch reading = new CountDownLatch(1);
        MemoryFeed inner = feedOf(10, 1);
        Feed slow = new DelegatingFeed(inner) {
            @Override
            public List<Entry> read(long after, int max) throws IOException {
                reading.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.read(after, max);
            }
        };
        api = new ApiFixture(dir);
        api.feed = slow;
        api.feedLimits = new ApiServer.FeedLimits(64, 1, 1, Duration.ofSeconds(15));
        api.start();

        CompletableFuture<ApiFixture.Reply> busyReader = api.sendAsync("GET", "/v1/messages", null, api.alice);
        assertThat(reading.await(5, TimeUnit.SECONDS)).isTrue();
        // The reader is held: of the next two, one waits in the queue of 1, the other is refused.
        CompletableFuture<ApiFixture.Reply> second = api.sendAsync("GET", "/v1/messages", null, api.alice);
        CompletableFuture<ApiFixture.Reply> third = api.sendAsync("GET", "/v1/messages", null, api.alice);
        ApiFixture.Reply refused = (ApiFixture.Reply) CompletableFuture.anyOf(second, third).get(5, TimeUnit.SECONDS);
        assertProblem(refused, 503, "feed-busy", "saturated");
        assertThat(refused.header("retry-after")).isEqualTo("1");
        release.countDown();

        assertThat(busyReader.get(5, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(List.of(second.get(5, TimeUnit.SECONDS).status(), third.get(5, TimeUnit.SECONDS).status()))
                .containsExactlyInAnyOrder(200, 503);
        assertThat(api.meters.get("tether.api.feed.busy").counter().count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aFeedThatCannotBeRead_is503StoreUnavailable() {
        start(new DelegatingFeed(new MemoryFeed(10)) {
            @Override
            public List<Entry> read(long after, int max) throws IOException {
                throw new IOException("store closed");
            }
        });

        ApiFixture.Reply r = api.get("/v1/messages");

        assertProblem(r, 503, "store-unavailable", "store closed");
        assertThat(r.header("retry-after")).isEqualTo("5");
    }

    /** A feed that passes every call to another: tests override the calls they bend. */
    static class DelegatingFeed implements Feed {
        final Feed inner;

        DelegatingFeed(Feed inner) {
            this.inner = inner;
        }

        @Override
        public void append(Kind kind, String deviceId, long session, long seq, long atMillis, Body body) {
            inner.append(kind, deviceId, session, seq, atMillis, body);
        }

        @Override
        public long head() {
            return inner.head();
        }

        @Override
        public List<Entry> read(long after, int max) throws IOException {
            return inner.read(after, max);
        }

        @Override
        public AutoCloseable onAppend(LongConsumer listener) {
            return inner.onAppend(listener);
        }

        @Override
        public long forwarded() {
            return inner.forwarded();
        }

        @Override
        public void forwarded(long offset) {
            inner.forwarded(offset);
        }

        @Override
        public long unforwardedBytes() {
            return inner.unforwardedBytes();
        }
    }
}
