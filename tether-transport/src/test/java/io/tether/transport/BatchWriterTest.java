package io.tether.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BatchWriterTest {
    private final List<BatchWriter<?>> writers = new ArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void closeWriters() {
        release.countDown();
        writers.forEach(BatchWriter::close);
    }

    private <T> BatchWriter<T> started(BatchWriter.Builder<T> b) {
        BatchWriter<T> w = b.start();
        writers.add(w);
        return w;
    }

    /** A sink that blocks on its first batch until {@link #release}, then records batches. */
    private BatchWriter.Sink<Integer> gatedSink(List<List<Integer>> batches, CountDownLatch entered) {
        return batch -> {
            entered.countDown();
            release.await();
            batches.add(List.copyOf(batch));
        };
    }

    @Test
    void itemsQueuedWhileTheSinkIsBusy_goOutAsOneBatch_inOfferOrder() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        CountDownLatch entered = new CountDownLatch(1);
        BatchWriter<Integer> w = started(BatchWriter.builder("test-writer", gatedSink(batches, entered)));
        w.offer(0);
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        for (int i = 1; i <= 100; i++) {
            assertThat(w.offer(i)).isTrue();
        }
        release.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> w.pending() == 0);
        assertThat(batches).hasSize(2);
        assertThat(batches.get(1)).hasSize(100).isSorted();
    }

    @Test
    void maxBatchWeight_splitsBatches_butABatchTakesAtLeastOneItem() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        CountDownLatch entered = new CountDownLatch(1);
        BatchWriter<Integer> w = started(BatchWriter.builder("test-writer", gatedSink(batches, entered))
                .maxBatchWeight(10, i -> i));
        w.offer(1);
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        w.offer(50); // heavier than the limit alone
        w.offer(4);
        w.offer(4);
        w.offer(4);
        release.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> w.pending() == 0);
        assertThat(batches).containsExactly(List.of(1), List.of(50), List.of(4, 4, 4));
    }

    @Test
    void writability_turnsOffAtTheHighWaterMark_andBackOnlyAtTheLowOne() throws Exception {
        AtomicBoolean stall = new AtomicBoolean(true);
        CountDownLatch entered = new CountDownLatch(1);
        List<Integer> written = new CopyOnWriteArrayList<>();
        // One item per batch, each held until the test lets it pass, so pending steps down by one.
        AtomicInteger allowance = new AtomicInteger();
        BatchWriter<Integer> w = started(BatchWriter.<Integer>builder("test-writer", batch -> {
            entered.countDown();
            while (stall.get() && allowance.get() == 0) {
                LockSupport.parkNanos(100_000);
            }
            allowance.decrementAndGet();
            written.addAll(batch);
        }).maxBatch(1).waterMarks(3, 8));
        for (int i = 0; i < 7; i++) {
            w.offer(i);
        }
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(w.isWritable()).as("7 pending, high-water mark 8").isTrue();
        w.offer(7);
        assertThat(w.isWritable()).as("8 pending").isFalse();
        AtomicInteger ran = new AtomicInteger();
        w.whenWritable(ran::incrementAndGet);
        w.whenWritable(ran::incrementAndGet);
        allowance.set(4); // 8 -> 4 pending: below high, still above low
        await().atMost(Duration.ofSeconds(5)).until(() -> w.pending() == 4);
        assertThat(w.isWritable()).isFalse();
        assertThat(ran).hasValue(0);
        allowance.addAndGet(1); // 3 pending: the low-water mark
        await().atMost(Duration.ofSeconds(5)).until(w::isWritable);
        assertThat(ran).hasValue(2);
        stall.set(false);
        await().atMost(Duration.ofSeconds(5)).until(() -> w.pending() == 0);
        assertThat(ran).as("each task runs once").hasValue(2);
        assertThat(written).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        AtomicInteger now = new AtomicInteger();
        w.whenWritable(now::incrementAndGet);
        assertThat(now).as("writable: runs at once").hasValue(1);
    }

    @Test
    void aStalledSink_neverBlocksOffer_andOffersBeyondCapacityAreRefused() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        BatchWriter<Integer> w = started(BatchWriter.builder("test-writer", gatedSink(new ArrayList<>(), entered))
                .capacity(10));
        w.offer(-1);
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        long start = System.nanoTime();
        int accepted = 0;
        for (int i = 0; i < 10_000; i++) {
            if (w.offer(i)) {
                accepted++;
            }
        }
        // 10,000 offers against a sink that never returns; generous slack for a loaded 2-core host.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(accepted).as("capacity 10, one held by the sink").isEqualTo(9);
    }

    @Test
    void aFailingSink_doesNotKillTheWriter_retriesPerPolicy_andReportsRecovery() throws Exception {
        AtomicInteger failuresLeft = new AtomicInteger(3);
        List<Integer> written = new CopyOnWriteArrayList<>();
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        AtomicInteger recoveries = new AtomicInteger();
        BatchWriter<Integer> w = started(BatchWriter.<Integer>builder("test-writer", batch -> {
            if (failuresLeft.getAndDecrement() > 0) {
                throw new IOException("No space left on device");
            }
            written.addAll(batch);
        }).onFailure(new BatchWriter.FailurePolicy<>() {
            @Override
            public BatchWriter.Decision onFailure(List<Integer> batch, Throwable error, int attempt) {
                attempts.add(attempt);
                return BatchWriter.Decision.retry(Duration.ofMillis(1));
            }

            @Override
            public void onRecovered() {
                recoveries.incrementAndGet();
            }
        }));
        w.offer(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> written.contains(1));
        assertThat(attempts).containsExactly(1, 2, 3);
        assertThat(recoveries).hasValue(1);
        assertThat(w.isFailing()).isFalse();
        w.offer(2);
        await().atMost(Duration.ofSeconds(5)).until(() -> written.contains(2));
        assertThat(recoveries).as("said once per recovery").hasValue(1);
    }

    @Test
    void aDroppingPolicy_losesOnlyTheFailedBatch() {
        List<Integer> written = new CopyOnWriteArrayList<>();
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        BatchWriter<Integer> w = started(BatchWriter.<Integer>builder("test-writer", batch -> {
            if (batch.contains(13)) {
                throw new IllegalStateException("unlucky");
            }
            written.addAll(batch);
        }).maxBatch(1).onFailure((batch, error, attempt) -> {
            dropped.addAll(batch);
            return BatchWriter.Decision.drop();
        }));
        for (int i = 10; i < 16; i++) {
            w.offer(i);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> w.pending() == 0);
        assertThat(written).containsExactly(10, 11, 12, 14, 15);
        assertThat(dropped).containsExactly(13);
    }

    @Test
    void close_writesEverythingAccepted_exactlyOnce_evenWithOffersRacingIt() throws Exception {
        List<Integer> written = Collections.synchronizedList(new ArrayList<>());
        BatchWriter<Integer> w = BatchWriter.<Integer>builder("test-writer", written::addAll).maxBatch(7).start();
        int producers = 4;
        List<List<Integer>> accepted = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        for (int p = 0; p < producers; p++) {
            List<Integer> mine = new ArrayList<>();
            accepted.add(mine);
            int base = p * 200_000;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 200_000; i++) {
                    if (w.offer(base + i)) {
                        mine.add(base + i);
                    } else {
                        return; // closed: every later offer is refused too
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        go.countDown();
        // Close while the producers are busy offering.
        await().atMost(Duration.ofSeconds(5)).until(() -> written.size() > 10_000);
        w.close();
        for (Thread t : threads) {
            t.join();
        }
        List<Integer> expected = new ArrayList<>();
        accepted.forEach(expected::addAll);
        List<Integer> got = new ArrayList<>(written);
        Collections.sort(got);
        Collections.sort(expected);
        assertThat(got).hasSameSizeAs(expected).isEqualTo(expected); // sorted: each exactly once
        assertThat(w.offer(-1)).isFalse();
        assertThat(w.pending()).isZero();
    }

    @Test
    void close_onTheWriterThread_isRefused() throws Exception {
        List<Throwable> thrown = new CopyOnWriteArrayList<>();
        List<BatchWriter<Integer>> self = new CopyOnWriteArrayList<>();
        BatchWriter<Integer> w = started(BatchWriter.<Integer>builder("test-writer", batch -> {
            try {
                self.get(0).close();
            } catch (IllegalStateException e) {
                thrown.add(e);
            }
        }));
        self.add(w);
        w.offer(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> !thrown.isEmpty());
        assertThat(thrown.get(0)).hasMessageContaining("writer thread");
    }

    @Test
    void builder_refusesWaterMarksThatCannotWork() {
        assertThatThrownBy(() -> BatchWriter.builder("w", b -> { }).waterMarks(5, 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("low 5, high 5");
        assertThatThrownBy(() -> BatchWriter.builder("w", b -> { }).capacity(4).waterMarks(1, 5).start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("above capacity 4");
    }
}
