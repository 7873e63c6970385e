package io.tether.server.internal.delivery;

import static io.tether.server.internal.delivery.StoreTesting.append;
import static io.tether.server.internal.delivery.StoreTesting.appendAndWait;
import static io.tether.server.internal.delivery.StoreTesting.payloadOf;
import static io.tether.server.internal.delivery.StoreTesting.readAll;
import static io.tether.server.internal.delivery.StoreTesting.seqs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tether.server.AppendResult;
import io.tether.server.internal.delivery.StoreTesting.Outcome;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's back-pressure (water marks instead of a blocking append) and its off-thread reads. */
class StoreBackPressureTest {
    private static final int CAPACITY = 10; // high-water mark 10, low-water mark 5

    @TempDir
    Path dir;

    /** Each permit lets one batch (one message, maxBatch 1) be written: a disk the test clocks. */
    private final Semaphore writes = new Semaphore(0);
    private RocksDbMessageStore store;

    @AfterEach
    void close() {
        writes.release(1_000_000);
        if (store != null) {
            store.close();
        }
    }

    private RocksDbMessageStore openClocked() throws Exception {
        RocksDbMessageStore.Options options = RocksDbMessageStore.Options.builder()
                .sync(false).queueCapacity(CAPACITY).maxBatch(1).build();
        store = RocksDbMessageStore.open(dir, options, () -> writes.acquireUninterruptibly());
        return store;
    }

    private List<CompletableFuture<Outcome>> appendRange(long from, long to) {
        List<CompletableFuture<Outcome>> all = new ArrayList<>();
        for (long seq = from; seq <= to; seq++) {
            all.add(append(store, "d1", seq, payloadOf("d1", seq)));
        }
        return all;
    }

    @Test
    void writability_turnsOffAtTheHighWaterMark_backAtTheLowOne_andEachWaiterRunsOnce() throws Exception {
        openClocked();
        List<CompletableFuture<Outcome>> appended = appendRange(1, CAPACITY - 1);
        assertThat(store.isWritable()).as("%d pending", CAPACITY - 1).isTrue();
        appended.addAll(appendRange(CAPACITY, CAPACITY));
        assertThat(store.isWritable()).as("%d pending: the high-water mark", CAPACITY).isFalse();

        AtomicInteger resumed = new AtomicInteger();
        store.whenWritable(resumed::incrementAndGet);
        store.whenWritable(resumed::incrementAndGet);
        writes.release(4);
        await().atMost(Duration.ofSeconds(10)).until(() -> store.pending() == 6);
        assertThat(store.isWritable()).as("6 pending: above the low-water mark").isFalse();
        assertThat(resumed).hasValue(0);

        writes.release(1);
        await().atMost(Duration.ofSeconds(10)).until(store::isWritable);
        assertThat(store.pending()).isLessThanOrEqualTo(CAPACITY / 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> resumed.get() == 2);

        writes.release(1_000);
        CompletableFuture.allOf(appended.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        assertThat(resumed).as("each waiter runs exactly once").hasValue(2);
        AtomicInteger now = new AtomicInteger();
        store.whenWritable(now::incrementAndGet);
        assertThat(now).as("writable: the task runs at once").hasValue(1);
    }

    @Test
    void appendsFarBeyondTheHighWaterMark_neverBlock_andNothingIsLost() throws Exception {
        openClocked();
        long start = System.nanoTime();
        List<CompletableFuture<Outcome>> appended = appendRange(1, 2_000);
        // The old store blocked the caller (an event loop) here until the disk caught up; the disk
        // is stopped, so a blocking append would never return. Slack for a loaded 2-core host.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(store.isWritable()).isFalse();
        assertThat(appended).noneMatch(CompletableFuture::isDone);

        writes.release(1_000_000);
        CompletableFuture.allOf(appended.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        assertThat(appended).allSatisfy(f -> assertThat(f.join()).isEqualTo(new Outcome(AppendResult.STORED, null)));
        assertThat(store.lastSeq("d1")).isEqualTo(2_000);
        assertThat(seqs(readAll(store, "d1", 1))).containsExactlyElementsOf(LongStream.rangeClosed(1, 2_000).boxed().toList());
        assertThat(store.isWritable()).isTrue();
    }

    @Test
    void lastSeqAsync_readsRocksDbOffTheCallersThread_andCachedDevicesCompleteAtOnce() throws Exception {
        try (RocksDbMessageStore first = RocksDbMessageStore.open(dir)) {
            for (long seq = 1; seq <= 3; seq++) {
                appendAndWait(first, "d1", seq);
            }
        }
        CountDownLatch readMayGo = new CountDownLatch(1);
        AtomicReference<Thread> reader = new AtomicReference<>();
        // Reopened: nothing cached, so d1 needs a point read, which waits for the test.
        store = RocksDbMessageStore.open(dir, RocksDbMessageStore.Options.defaults(), () -> { }, () -> {
            reader.set(Thread.currentThread());
            try {
                readMayGo.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        CompletionStage<Long> stage = store.lastSeqAsync("d1");
        assertThat(stage.toCompletableFuture()).as("returned before the read finished").isNotDone();
        readMayGo.countDown();
        assertThat(stage.toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo(3L);
        assertThat(reader.get()).isNotSameAs(Thread.currentThread());
        assertThat(reader.get().getName()).isEqualTo("tether-store-reader");

        reader.set(null);
        assertThat(store.lastSeqAsync("d1").toCompletableFuture()).as("cached now").isCompletedWithValue(3L);
        assertThat(reader.get()).as("no read for a cached device").isNull();
        assertThat(store.lastSeqAsync("never-seen").toCompletableFuture().get(10, TimeUnit.SECONDS)).isZero();
    }

    @Test
    void lastSeqAsync_afterClose_failsInsteadOfHanging() throws Exception {
        store = RocksDbMessageStore.open(dir);
        store.close();
        CompletableFuture<Long> f = store.lastSeqAsync("d1").toCompletableFuture();
        await().atMost(Duration.ofSeconds(10)).until(f::isDone);
        assertThat(f).isCompletedExceptionally();
    }
}
