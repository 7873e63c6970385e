package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.DeviceStats;
import io.tether.server.MessageCursor;
import io.tether.server.StoreReader;
import io.tether.server.StoredMessage;

import static io.tether.server.internal.delivery.StoreTesting.append;
import static io.tether.server.internal.delivery.StoreTesting.appendAndWait;
import static io.tether.server.internal.delivery.StoreTesting.payloadOf;
import static io.tether.server.internal.delivery.StoreTesting.readAll;
import static io.tether.server.internal.delivery.StoreTesting.seqs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tether.server.internal.delivery.StoreTesting.Outcome;
import io.tether.server.internal.delivery.StoreTesting.WriterGate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDBException;

class RocksDbMessageStoreTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        Collections.reverse(toClose);
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private RocksDbMessageStore open() throws IOException {
        return open(RocksDbMessageStore.Options.defaults());
    }

    private RocksDbMessageStore open(RocksDbMessageStore.Options options) throws IOException {
        RocksDbMessageStore s = RocksDbMessageStore.open(dir, options);
        toClose.add(s);
        return s;
    }

    // ---- append / ack semantics ------------------------------------------------------------

    @Test
    void nextSeq_isStored_andLastSeqAdvances() throws Exception {
        RocksDbMessageStore store = open();

        assertThat(store.lastSeq("meter-1")).isZero();
        assertThat(appendAndWait(store, "meter-1", 1)).isEqualTo(AppendResult.STORED);
        assertThat(appendAndWait(store, "meter-1", 2)).isEqualTo(AppendResult.STORED);

        assertThat(store.lastSeq("meter-1")).isEqualTo(2);
        List<StoredMessage> stored = readAll(store, "meter-1", 0);
        assertThat(seqs(stored)).containsExactly(1L, 2L);
        assertThat(stored.get(1).payload()).isEqualTo(payloadOf("meter-1", 2));
        assertThat(stored.get(1).receivedAtMillis()).isEqualTo(1_002L);
    }

    @Test
    void seqAtOrBelowLast_isDuplicate_andKeepsTheFirstPayload() throws Exception {
        RocksDbMessageStore store = open();
        appendAndWait(store, "d", 1);
        appendAndWait(store, "d", 2);

        Outcome again = append(store, "d", 2, "resent".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
        Outcome older = append(store, "d", 1, "older".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);

        assertThat(again.result()).isEqualTo(AppendResult.DUPLICATE);
        assertThat(older.result()).isEqualTo(AppendResult.DUPLICATE);
        List<StoredMessage> stored = readAll(store, "d", 0);
        assertThat(seqs(stored)).containsExactly(1L, 2L);
        assertThat(stored.get(1).payload()).isEqualTo(payloadOf("d", 2));
    }

    @Test
    void seqBeyondNext_isStoredAfterGap_andLaterSeqsBelowItAreDuplicates() throws Exception {
        RocksDbMessageStore store = open();
        appendAndWait(store, "d", 1);

        assertThat(appendAndWait(store, "d", 5)).isEqualTo(AppendResult.STORED_AFTER_GAP);
        assertThat(appendAndWait(store, "d", 3)).isEqualTo(AppendResult.DUPLICATE);
        assertThat(appendAndWait(store, "d", 6)).isEqualTo(AppendResult.STORED);

        assertThat(store.lastSeq("d")).isEqualTo(6);
        assertThat(seqs(readAll(store, "d", 0))).containsExactly(1L, 5L, 6L);
        assertThat(store.stats("d")).contains(new DeviceStats("d", 3, 1, 6));
    }

    @Test
    void duplicatesInsideOneBatch_areCaught() throws Exception {
        RocksDbMessageStore store = open();
        List<CompletableFuture<Outcome>> outcomes = new ArrayList<>();
        long commitsBefore;
        WriterGate gate = new WriterGate(store);
        try {
            commitsBefore = store.commits();
            outcomes.add(append(store, "d", 1, payloadOf("d", 1)));
            outcomes.add(append(store, "d", 1, "dup".getBytes(StandardCharsets.US_ASCII)));
            outcomes.add(append(store, "d", 2, payloadOf("d", 2)));
            outcomes.add(append(store, "d", 4, payloadOf("d", 4)));
            outcomes.add(append(store, "d", 3, payloadOf("d", 3)));
            outcomes.add(append(store, "d", 4, payloadOf("d", 4)));
        } finally {
            gate.release();
        }

        List<AppendResult> results = new ArrayList<>();
        for (CompletableFuture<Outcome> f : outcomes) {
            results.add(f.get(10, TimeUnit.SECONDS).result());
        }
        assertThat(results).containsExactly(AppendResult.STORED, AppendResult.DUPLICATE, AppendResult.STORED,
                AppendResult.STORED_AFTER_GAP, AppendResult.DUPLICATE, AppendResult.DUPLICATE);
        assertThat(store.commits() - commitsBefore).as("the six appends went in one batch").isEqualTo(1);
        List<StoredMessage> stored = readAll(store, "d", 0);
        assertThat(seqs(stored)).containsExactly(1L, 2L, 4L);
        assertThat(stored.get(0).payload()).isEqualTo(payloadOf("d", 1));
    }

    @Test
    void lastSeq_reflectsOnlyDurableData() throws Exception {
        RocksDbMessageStore store = open();
        appendAndWait(store, "d", 1);
        CompletableFuture<Outcome> second;
        AtomicLong lastSeqSeenInCallback = new AtomicLong(-1);
        WriterGate gate = new WriterGate(store);
        try {
            second = new CompletableFuture<>();
            CompletableFuture<Outcome> f = second;
            store.append("d", 2, payloadOf("d", 2), 0, (r, e) -> {
                lastSeqSeenInCallback.set(store.lastSeq("d"));
                f.complete(new Outcome(r, e));
            });
            // Queued but not yet written: WELCOME must not promise it.
            assertThat(store.lastSeq("d")).isEqualTo(1);
        } finally {
            gate.release();
        }

        assertThat(second.get(10, TimeUnit.SECONDS).result()).isEqualTo(AppendResult.STORED);
        assertThat(lastSeqSeenInCallback.get()).as("durable before the callback fires").isEqualTo(2);
        assertThat(store.lastSeq("d")).isEqualTo(2);
    }

    @Test
    void callbacksOfOneDevice_completeInAppendOrder() throws Exception {
        RocksDbMessageStore store = open(RocksDbMessageStore.Options.builder().maxBatch(7).build());
        List<Long> completed = new CopyOnWriteArrayList<>();
        CountDownLatch all = new CountDownLatch(2_000);
        for (long seq = 1; seq <= 2_000; seq++) {
            long s = seq;
            store.append("d", seq, payloadOf("d", seq), 0, (r, e) -> {
                completed.add(s);
                all.countDown();
            });
        }

        assertThat(all.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(completed).isSorted().hasSize(2_000);
    }

    @Test
    void reopen_keepsMessagesAndLastSeq() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            for (long seq = 1; seq <= 50; seq++) {
                appendAndWait(store, "a", seq);
            }
            appendAndWait(store, "b", 7);
        }

        RocksDbMessageStore reopened = open();
        assertThat(reopened.lastSeq("a")).isEqualTo(50);
        assertThat(reopened.lastSeq("b")).isEqualTo(7);
        assertThat(appendAndWait(reopened, "a", 50)).isEqualTo(AppendResult.DUPLICATE);
        assertThat(appendAndWait(reopened, "a", 51)).isEqualTo(AppendResult.STORED);
        List<StoredMessage> a = readAll(reopened, "a", 0);
        assertThat(seqs(a)).hasSize(51).isSorted().startsWith(1L).endsWith(51L);
        assertThat(a.get(41).payload()).isEqualTo(payloadOf("a", 42));
    }

    @Test
    void invalidArguments_failTheCallback_andStoreNothing() throws Exception {
        RocksDbMessageStore store = open();

        assertThat(append(store, "a b", 1, new byte[0]).get(10, TimeUnit.SECONDS).error())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x20");
        assertThat(append(store, "caf\u00e9", 1, new byte[0]).get(10, TimeUnit.SECONDS).error())
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(append(store, "d", 0, new byte[0]).get(10, TimeUnit.SECONDS).error())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seq: 0");
        assertThat(append(store, "d", 1, null).get(10, TimeUnit.SECONDS).error())
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(store.stats()).isEmpty();
    }

    // ---- write failure ---------------------------------------------------------------------

    @Test
    void failedWrite_reportsTheErrorToEveryAppendOfTheBatch_andTheResendIsStored() throws Exception {
        AtomicBoolean failNext = new AtomicBoolean();
        RocksDbMessageStore store = RocksDbMessageStore.open(dir, RocksDbMessageStore.Options.defaults(), () -> {
            if (failNext.getAndSet(false)) {
                throw new RocksDBException("injected: No space left on device");
            }
        });
        toClose.add(store);
        appendAndWait(store, "d", 1);

        List<CompletableFuture<Outcome>> outcomes = new ArrayList<>();
        WriterGate gate = new WriterGate(store);
        try {
            failNext.set(true);
            outcomes.add(append(store, "d", 2, payloadOf("d", 2)));
            outcomes.add(append(store, "d", 3, payloadOf("d", 3)));
            outcomes.add(append(store, "d", 1, payloadOf("d", 1)));
        } finally {
            gate.release();
        }

        for (CompletableFuture<Outcome> f : outcomes) {
            Outcome o = f.get(10, TimeUnit.SECONDS);
            assertThat(o.result()).isNull();
            assertThat(o.error()).isInstanceOf(IOException.class).hasMessageContaining("No space left on device");
        }
        assertThat(store.lastSeq("d")).isEqualTo(1);
        // The failed write put the store in the failed state; the probe reopens it by itself.
        assertThat(store.health().resource()).isEqualTo("disk");
        org.awaitility.Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> store.health().isHealthy());
        assertThat(store.health().failures()).isEqualTo(1);
        // The device resends after reconnecting: the resends are new, not duplicates.
        assertThat(appendAndWait(store, "d", 2)).isEqualTo(AppendResult.STORED);
        assertThat(appendAndWait(store, "d", 3)).isEqualTo(AppendResult.STORED);
        assertThat(seqs(readAll(store, "d", 0))).containsExactly(1L, 2L, 3L);
    }

    @Test
    void afterAFailedWrite_aLaterSeqIsNotStoredAsAGapOverTheLostOnes() throws Exception {
        AtomicBoolean failNext = new AtomicBoolean();
        RocksDbMessageStore store = RocksDbMessageStore.open(dir, RocksDbMessageStore.Options.defaults(), () -> {
            if (failNext.getAndSet(false)) {
                throw new RocksDBException("injected: Input/output error");
            }
        });
        toClose.add(store);
        appendAndWait(store, "d", 1);
        failNext.set(true);
        assertThat(append(store, "d", 2, payloadOf("d", 2)).get(10, TimeUnit.SECONDS).error()).isNotNull();
        // Refused at once while the store is failed, and told why.
        assertThat(append(store, "d", 3, payloadOf("d", 3)).get(10, TimeUnit.SECONDS).error())
                .isInstanceOf(io.tether.server.StoreUnavailableException.class);
        org.awaitility.Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> store.health().isHealthy());

        // Once recovered: seq 3 was already on its way when 2 failed. Stored as a gap, it would make lastSeq 3 and
        // the device would drop 2 from its outbox on reconnect: 2 would be lost.
        Outcome three = append(store, "d", 3, payloadOf("d", 3)).get(10, TimeUnit.SECONDS);

        assertThat(three.result()).isNull();
        assertThat(three.error()).isInstanceOf(IOException.class).hasMessageContaining("resent");
        assertThat(store.lastSeq("d")).isEqualTo(1);
        // Another device is unaffected, and the resend from lastSeq + 1 lifts the fence.
        assertThat(appendAndWait(store, "other", 1)).isEqualTo(AppendResult.STORED);
        assertThat(appendAndWait(store, "d", 2)).isEqualTo(AppendResult.STORED);
        assertThat(appendAndWait(store, "d", 3)).isEqualTo(AppendResult.STORED);
        assertThat(appendAndWait(store, "d", 9)).isEqualTo(AppendResult.STORED_AFTER_GAP);
        assertThat(seqs(readAll(store, "d", 0))).containsExactly(1L, 2L, 3L, 9L);
    }

    // ---- close -----------------------------------------------------------------------------

    @Test
    void close_commitsQueuedAppends_andFiresTheirCallbacks() throws Exception {
        RocksDbMessageStore store = RocksDbMessageStore.open(dir);
        List<CompletableFuture<Outcome>> queued = new ArrayList<>();
        Thread closer;
        WriterGate gate = new WriterGate(store);
        try {
            for (long seq = 1; seq <= 1_000; seq++) {
                queued.add(append(store, "d", seq, payloadOf("d", seq)));
            }
            closer = new Thread(store::close, "closer");
            closer.start();
            // Once close() has begun, a new append fails at once (its callback runs inside
            // append); the queued ones are still waiting behind the gate.
            org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() ->
                    append(store, "probe", 1, new byte[0]).isDone());
            assertThat(queued.get(0)).isNotDone();
        } finally {
            gate.release();
        }
        closer.join(30_000);

        assertThat(closer.isAlive()).isFalse();
        for (CompletableFuture<Outcome> f : queued) {
            assertThat(f.getNow(null)).isNotNull();
            assertThat(f.getNow(null).result()).isEqualTo(AppendResult.STORED);
        }
        try (StoreReader reader = StoreReader.openReadOnly(dir)) {
            assertThat(reader.stats("d")).contains(new DeviceStats("d", 1_000, 1, 1_000));
        }
    }

    @Test
    void appendAfterClose_failsWithIllegalStateException() throws Exception {
        RocksDbMessageStore store = RocksDbMessageStore.open(dir);
        store.close();

        Outcome o = append(store, "d", 1, new byte[0]).get(10, TimeUnit.SECONDS);

        assertThat(o.result()).isNull();
        assertThat(o.error()).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void close_isIdempotent_andReleasesTheDirectory() throws Exception {
        RocksDbMessageStore store = RocksDbMessageStore.open(dir);
        appendAndWait(store, "d", 1);
        store.close();
        store.close();

        // The RocksDB lock is released: the directory can be opened again for writing.
        try (RocksDbMessageStore again = RocksDbMessageStore.open(dir)) {
            assertThat(again.lastSeq("d")).isEqualTo(1);
        }
    }

    @Test
    void secondWriterOnTheSameDirectory_isRefused() throws Exception {
        open();

        assertThatThrownBy(() -> RocksDbMessageStore.open(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("lock");
    }

    @Test
    void closingTheStore_closesOpenCursors() throws Exception {
        RocksDbMessageStore store = RocksDbMessageStore.open(dir);
        appendAndWait(store, "d", 1);
        appendAndWait(store, "d", 2);
        MessageCursor cursor = store.read(null, 0);
        assertThat(cursor.next().seq()).isEqualTo(1);

        store.close();

        assertThatThrownBy(cursor::hasNext).isInstanceOf(IllegalStateException.class);
        cursor.close();
    }

    // ---- subscribe -------------------------------------------------------------------------

    @Test
    void subscriber_seesEachDurableMessageOnce_inStoreOrder() throws Exception {
        RocksDbMessageStore store = open();
        List<String> seen = new CopyOnWriteArrayList<>();
        List<Long> lastSeqWhenSeen = new CopyOnWriteArrayList<>();
        RocksDbMessageStore.Subscription sub = store.subscribe(m -> {
            seen.add(m.deviceId() + "/" + m.seq() + "/" + new String(m.payload(), StandardCharsets.US_ASCII));
            lastSeqWhenSeen.add(store.lastSeq(m.deviceId()) - m.seq());
        });

        appendAndWait(store, "a", 1);
        appendAndWait(store, "a", 1);
        appendAndWait(store, "b", 3);
        appendAndWait(store, "a", 2);
        appendAndWait(store, "b", 2);
        sub.close();
        appendAndWait(store, "a", 3);

        assertThat(seen).containsExactly(
                "a/1/" + new String(payloadOf("a", 1), StandardCharsets.US_ASCII),
                "b/3/" + new String(payloadOf("b", 3), StandardCharsets.US_ASCII),
                "a/2/" + new String(payloadOf("a", 2), StandardCharsets.US_ASCII));
        assertThat(lastSeqWhenSeen).as("durable (lastSeq >= seq) when delivered").allMatch(d -> d >= 0);
    }

    // ---- reading ---------------------------------------------------------------------------

    @Test
    void read_isInDeviceThenSeqOrder_evenWhenOneIdPrefixesAnother() throws Exception {
        RocksDbMessageStore store = open();
        for (String device : List.of("ab", "a-1", "a", "b")) {
            for (long seq = 1; seq <= 3; seq++) {
                appendAndWait(store, device, seq);
            }
        }
        appendAndWait(store, "a", 300); // 300 = 0x12C: a multi-byte seq sorts after 3

        List<String> all = readAll(store, null, 0).stream().map(m -> m.deviceId() + "/" + m.seq()).toList();

        assertThat(all).containsExactly(
                "a/1", "a/2", "a/3", "a/300",
                "a-1/1", "a-1/2", "a-1/3",
                "ab/1", "ab/2", "ab/3",
                "b/1", "b/2", "b/3");
    }

    @Test
    void read_withDeviceAndFromSeq_returnsOnlyThatTail() throws Exception {
        RocksDbMessageStore store = open();
        for (String device : List.of("a", "ab")) {
            for (long seq = 1; seq <= 5; seq++) {
                appendAndWait(store, device, seq);
            }
        }

        assertThat(seqs(readAll(store, "a", 4))).containsExactly(4L, 5L);
        assertThat(readAll(store, "a", 0)).extracting(StoredMessage::deviceId).containsOnly("a");
        assertThat(readAll(store, "nobody", 0)).isEmpty();
        assertThat(readAll(store, null, 5)).extracting(m -> m.deviceId() + "/" + m.seq())
                .containsExactly("a/5", "ab/5");
    }

    @Test
    void stats_countsEveryDevice() throws Exception {
        RocksDbMessageStore store = open();
        for (long seq = 1; seq <= 4; seq++) {
            appendAndWait(store, "a", seq);
        }
        appendAndWait(store, "b", 10);
        appendAndWait(store, "b", 12);

        assertThat(store.stats()).containsExactly(new DeviceStats("a", 4, 1, 4), new DeviceStats("b", 2, 10, 12));
        assertThat(store.stats("nobody")).isEmpty();
    }

    @Test
    void readOnlyReader_seesWhatTheLiveStoreHasWritten() throws Exception {
        RocksDbMessageStore store = open();
        for (long seq = 1; seq <= 20; seq++) {
            appendAndWait(store, "live", seq);
        }

        try (StoreReader reader = StoreReader.openReadOnly(dir)) {
            assertThat(seqs(readAll(reader, "live", 0))).hasSize(20).endsWith(20L);
            assertThat(reader.stats()).containsExactly(new DeviceStats("live", 20, 1, 20));
        }
        // The writer is unaffected by the reader.
        assertThat(appendAndWait(store, "live", 21)).isEqualTo(AppendResult.STORED);
    }

    // ---- opening ---------------------------------------------------------------------------

    @Test
    void open_refusesANonEmptyDirectoryThatIsNotAStore() throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "mine");

        assertThatThrownBy(() -> RocksDbMessageStore.open(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a Tether store");
        assertThat(Files.list(dir)).extracting(p -> p.getFileName().toString()).containsExactly("notes.txt");
    }

    @Test
    void open_refusesSomeoneElsesRocksDb() throws Exception {
        try (org.rocksdb.Options o = new org.rocksdb.Options().setCreateIfMissing(true);
                org.rocksdb.RocksDB other = org.rocksdb.RocksDB.open(o, dir.toString())) {
            other.put("k".getBytes(StandardCharsets.US_ASCII), "v".getBytes(StandardCharsets.US_ASCII));
        }

        assertThatThrownBy(() -> RocksDbMessageStore.open(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a Tether store");
        assertThatThrownBy(() -> StoreReader.openReadOnly(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a Tether store");
    }

    @Test
    void readOnly_refusesAMissingDirectoryAndANonStore() throws Exception {
        assertThatThrownBy(() -> StoreReader.openReadOnly(dir.resolve("missing")))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
        assertThatThrownBy(() -> StoreReader.openReadOnly(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a Tether store");
    }

    @Test
    void options_rejectNonsense() {
        assertThatThrownBy(() -> RocksDbMessageStore.Options.builder().maxBatch(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxBatch: 0 (expected: >= 1)");
        assertThatThrownBy(() -> RocksDbMessageStore.Options.builder().queueCapacity(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RocksDbMessageStore.Options.builder().maxBatchBytes(-1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(RocksDbMessageStore.Options.defaults().sync()).isTrue();
        assertThat(RocksDbMessageStore.Options.defaults().maxBatch()).isEqualTo(4096);
    }
}
