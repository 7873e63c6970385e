package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.DeviceStats;
import io.tether.server.StoreHealth;
import io.tether.server.StoreUnavailableException;
import io.tether.server.internal.delivery.StoreTesting.Outcome;
import io.tether.server.internal.feed.Feed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tether.server.internal.delivery.StoreTesting.appendAndWait;
import static io.tether.server.internal.delivery.StoreTesting.payloadOf;
import static io.tether.server.internal.delivery.StoreTesting.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class RocksDbFeedTest {
    @TempDir
    Path dir;

    private static RocksDbMessageStore.Options.Builder options() {
        return RocksDbMessageStore.Options.builder().sync(false);
    }

    private static List<Feed.Entry> readAllFeed(Feed feed) throws Exception {
        List<Feed.Entry> all = new ArrayList<>();
        long after = 0;
        for (List<Feed.Entry> page; !(page = feed.read(after, 7)).isEmpty(); after = page.get(page.size() - 1).offset()) {
            all.addAll(page);
        }
        return all;
    }

    private static Feed.Body json(String s) {
        return () -> s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void anEventWhoseBodyCannotBeMade_isDroppedAndCounted_andItsBatchIsWritten() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().build())) {
            Feed feed = store.feed();
            Thread caller = Thread.currentThread();
            Thread[] madeOn = new Thread[1];
            feed.appendSession(true, "d-1", 1, 10, () -> {
                madeOn[0] = Thread.currentThread();
                return "{\"event\":\"open\"}".getBytes(StandardCharsets.UTF_8);
            });
            feed.append(Feed.Kind.EVENT, "d-1", 1, 0, 11, () -> {
                throw new IllegalStateException("a formatting bug");
            });
            assertThat(appendAndWait(store, "d-1", 1)).isEqualTo(AppendResult.STORED);
            feed.appendSession(false, "d-1", 1, 12, json("{\"event\":\"close\"}"));
            await().atMost(Duration.ofSeconds(5)).until(() -> feed.head() == 3);
            assertThat(store.feedEventsLost()).isEqualTo(1);
            assertThat(madeOn[0]).as("made by the store's writer, not the caller").isNotNull().isNotSameAs(caller);
            assertThat(readAllFeed(feed)).extracting(e -> e.kind() + " " + new String(e.body(), StandardCharsets.UTF_8))
                    .containsExactly("EVENT {\"event\":\"open\"}", "MESSAGE " + new String(payloadOf("d-1", 1), StandardCharsets.UTF_8),
                            "EVENT {\"event\":\"close\"}");
        }
    }

    @Test
    void messagesAndEvents_haveStableOffsets_inOrder_acrossARestart() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().build())) {
            Feed feed = store.feed();
            feed.appendSession(true, "d-1", 41, 900, json("{\"event\":\"open\"}"));
            for (int seq = 1; seq <= 20; seq++) {
                assertThat(appendAndWait(store, "d-1", seq)).isEqualTo(AppendResult.STORED);
            }
            assertThat(appendAndWait(store, "d-1", 20)).isEqualTo(AppendResult.DUPLICATE);
            feed.appendSession(false, "d-1", 41, 2000, json("{\"event\":\"close\"}"));
            await().atMost(Duration.ofSeconds(5)).until(() -> feed.head() == 22);
        }
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().build())) {
            Feed feed = store.feed();
            assertThat(feed.head()).isEqualTo(22);
            List<Feed.Entry> all = readAllFeed(feed);
            assertThat(all).extracting(Feed.Entry::offset).containsExactlyElementsOf(
                    java.util.stream.LongStream.rangeClosed(1, 22).boxed().toList());
            assertThat(all.get(0).kind()).isEqualTo(Feed.Kind.EVENT);
            assertThat(all.get(0).session()).isEqualTo(41);
            assertThat(new String(all.get(0).body(), StandardCharsets.UTF_8)).isEqualTo("{\"event\":\"open\"}");
            for (int seq = 1; seq <= 20; seq++) {
                Feed.Entry m = all.get(seq);
                assertThat(m.kind()).isEqualTo(Feed.Kind.MESSAGE);
                assertThat(m.deviceId()).isEqualTo("d-1");
                assertThat(m.seq()).isEqualTo(seq);
                assertThat(m.atMillis()).isEqualTo(1_000L + seq);
                assertThat(m.body()).isEqualTo(payloadOf("d-1", seq));
            }
            assertThat(all.get(21).kind()).isEqualTo(Feed.Kind.EVENT);
            // The closed session is not closed again by the restart: nothing was added.
            assertThat(appendAndWait(store, "d-2", 1)).isEqualTo(AppendResult.STORED);
            assertThat(feed.head()).isEqualTo(23);
        }
    }

    @Test
    void aSessionLeftOpenByACrash_getsItsCloseEvent_atTheNextStart() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().build())) {
            store.feed().appendSession(true, "crashy", 7, System.currentTimeMillis() - 5_000, json("{\"event\":\"open\"}"));
            store.feed().appendSession(true, "fine", 8, 100, json("{\"event\":\"open\"}"));
            store.feed().appendSession(false, "fine", 8, 200, json("{\"event\":\"close\"}"));
            await().atMost(Duration.ofSeconds(5)).until(() -> store.feed().head() == 3);
        } // no close event for session 7: what kill -9 leaves
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().build())) {
            await().atMost(Duration.ofSeconds(5)).until(() -> store.feed().head() == 4);
            Feed.Entry close = store.feed().read(3, 10).get(0);
            String body = new String(close.body(), StandardCharsets.UTF_8);
            assertThat(close.deviceId()).isEqualTo("crashy");
            assertThat(close.session()).isEqualTo(7);
            assertThat(body).contains("\"event\":\"close\"", "\"reason\":\"SERVER_SHUTDOWN\"", "\"unclean\":true");
        }
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().build())) {
            Thread.sleep(200);
            assertThat(store.feed().head()).as("closed once, not at every start").isEqualTo(4);
        }
    }

    @Test
    void ackAfterForward_holdsTheCallback_untilTheForwarderPassesItsOffset() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir,
                options().forwarding(true).ackAfterForward(true).build())) {
            List<CompletableFuture<Outcome>> acks = new ArrayList<>();
            for (int seq = 1; seq <= 10; seq++) {
                acks.add(StoreTesting.append(store, "k", seq, payloadOf("k", seq)));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> store.feed().head() == 10);
            Thread.sleep(100);
            assertThat(acks).noneMatch(CompletableFuture::isDone);
            store.feed().forwarded(4);
            assertThat(acks.subList(0, 4)).allMatch(CompletableFuture::isDone);
            assertThat(acks.subList(4, 10)).noneMatch(CompletableFuture::isDone);
            assertThat(acks.get(3).get().result()).isEqualTo(AppendResult.STORED);
            // A duplicate of a message Kafka does not have yet waits too.
            CompletableFuture<Outcome> dup = StoreTesting.append(store, "k", 10, payloadOf("k", 10));
            Thread.sleep(100);
            assertThat(dup).isNotDone();
            store.feed().forwarded(10);
            assertThat(dup.get(5, TimeUnit.SECONDS).result()).isEqualTo(AppendResult.DUPLICATE);
            assertThat(acks).allMatch(CompletableFuture::isDone);
        }
    }

    @Test
    void maxUnforwardedBytes_refusesMessages_keepsEvents_andRecoversWhenForwarded() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir,
                options().forwarding(true).maxUnforwardedBytes(1_000).build())) {
            int seq = 0;
            Outcome last;
            do {
                seq++;
                last = StoreTesting.append(store, "b", seq, payloadOf("b", seq)).get(5, TimeUnit.SECONDS);
            } while (last.error() == null && seq < 1_000);
            assertThat(last.error()).isInstanceOf(StoreUnavailableException.class);
            seq--; // the refused one: the device keeps it
            assertThat(store.lastSeq("b")).isEqualTo(seq);
            assertThat(store.health().state()).isEqualTo(StoreHealth.State.FAILED);
            assertThat(store.health().resource()).isEqualTo("backlog");
            assertThat(store.feed().unforwardedBytes()).isGreaterThanOrEqualTo(1_000);
            long head = store.feed().head();
            store.feed().appendSession(true, "b", 3, 1, json("{\"event\":\"open\"}"));
            await().atMost(Duration.ofSeconds(5)).until(() -> store.feed().head() == head + 1);

            store.feed().forwarded(store.feed().head());
            assertThat(store.feed().unforwardedBytes()).isZero();
            await().atMost(Duration.ofSeconds(5)).until(() -> store.health().isHealthy());
            assertThat(appendAndWait(store, "b", seq + 1)).isEqualTo(AppendResult.STORED);
            assertThat(store.lastSeq("b")).isEqualTo(seq + 1);
        }
    }

    @Test
    void retention_deletesOldForwardedEntries_andTheirMessages_neverUnforwardedOnes_andKeepsTheStatsTrue() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir,
                options().forwarding(true).retention(Duration.ofMillis(1)).build())) {
            for (int seq = 1; seq <= 10; seq++) {
                // receivedAt 1_000 + seq: long past the 1 ms retention
                appendAndWait(store, "r", seq);
            }
            store.feed().forwarded(6);
            await().atMost(Duration.ofSeconds(10)).until(() -> readAllFeed(store.feed()).size() == 4);
            Thread.sleep(RocksDbMessageStore.RETENTION_INTERVAL_MILLIS + 500);
            List<Feed.Entry> left = readAllFeed(store.feed());
            assertThat(left).extracting(Feed.Entry::seq).containsExactly(7L, 8L, 9L, 10L);
            assertThat(StoreTesting.seqs(readAll(store, "r", 0))).containsExactly(7L, 8L, 9L, 10L);
            assertThat(store.lastSeq("r")).as("the device's seq survives its messages").isEqualTo(10);
            assertThat(store.stats("r")).get().as("stats after retention")
                    .returns(4L, DeviceStats::messages).returns(7L, DeviceStats::firstSeq).returns(10L, DeviceStats::lastSeq);

            // A device whose messages all go keeps its last seq; its next message is its first again.
            for (int seq = 1; seq <= 3; seq++) {
                appendAndWait(store, "gone", seq);
            }
            store.feed().forwarded(store.feed().head());
            await().atMost(Duration.ofSeconds(10)).until(() -> store.stats("gone").isEmpty()); // no messages: not listed
            assertThat(store.lastSeq("gone")).isEqualTo(3);
            assertThat(appendAndWait(store, "gone", 4)).isEqualTo(AppendResult.STORED);
            assertThat(store.stats("gone")).get()
                    .returns(1L, DeviceStats::messages).returns(4L, DeviceStats::firstSeq).returns(4L, DeviceStats::lastSeq);
        }
        // Written with the deletes: the same after a restart ("r" lost 7..10 too: they were forwarded
        // with the head, and come before "gone" in the feed).
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().forwarding(true).build())) {
            assertThat(store.stats("r")).isEmpty();
            assertThat(store.lastSeq("r")).isEqualTo(10);
            assertThat(store.stats()).extracting(DeviceStats::deviceId).containsExactly("gone");
            assertThat(store.stats("gone")).get().returns(1L, DeviceStats::messages).returns(4L, DeviceStats::firstSeq);
        }
    }

    @Test
    void feedOff_writesNoFeed() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir, options().feed(false).build())) {
            assertThat(store.feed()).isNull();
            assertThat(appendAndWait(store, "x", 1)).isEqualTo(AppendResult.STORED);
        }
    }
}
