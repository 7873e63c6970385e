package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.DeviceStats;
import io.tether.server.StoreReader;
import io.tether.server.StoredMessage;

import static io.tether.server.internal.delivery.StoreTesting.payloadOf;
import static io.tether.server.internal.delivery.StoreTesting.readAll;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many concurrent appends share fsyncs, and the store holds exactly what was acknowledged. */
class GroupCommitTest {
    private static final int THREADS = 4;
    private static final int DEVICES_PER_THREAD = 25;
    private static final int SEQS_PER_DEVICE = 1_000;
    private static final int TOTAL = THREADS * DEVICES_PER_THREAD * SEQS_PER_DEVICE;

    @TempDir
    Path dir;

    @Test
    void hundredThousandAppendsFromSeveralThreads_shareFewSyncedBatches() throws Exception {
        Map<String, List<Long>> completionOrder = new ConcurrentHashMap<>();
        AtomicInteger stored = new AtomicInteger();
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(TOTAL);
        long commits;
        long nanos;
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            assertThat(store.options().sync()).isTrue();
            List<Thread> producers = new ArrayList<>();
            long start = System.nanoTime();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                producers.add(new Thread(() -> {
                    for (long seq = 1; seq <= SEQS_PER_DEVICE; seq++) {
                        for (int d = 0; d < DEVICES_PER_THREAD; d++) {
                            String device = "dev-" + thread + "-" + d;
                            long s = seq;
                            store.append(device, s, payloadOf(device, s), s, (r, e) -> {
                                if (e != null) {
                                    firstError.compareAndSet(null, e);
                                } else if (r == AppendResult.STORED) {
                                    stored.incrementAndGet();
                                }
                                completionOrder.computeIfAbsent(device, x -> new CopyOnWriteArrayList<>()).add(s);
                                done.countDown();
                            });
                        }
                    }
                }, "producer-" + t));
            }
            producers.forEach(Thread::start);
            assertThat(done.await(120, TimeUnit.SECONDS)).as("all callbacks fired").isTrue();
            nanos = System.nanoTime() - start;
            commits = store.commits();
        }
        System.out.printf("group commit: %d appends in %d synced batches (%.0f per batch), %d ms%n",
                TOTAL, commits, (double) TOTAL / commits, TimeUnit.NANOSECONDS.toMillis(nanos));

        assertThat(firstError.get()).isNull();
        assertThat(stored.get()).isEqualTo(TOTAL);
        // One fsync per append would be 100,000 batches; group commit must share them widely.
        assertThat(commits).isLessThan(TOTAL / 10);
        completionOrder.forEach((device, order) -> assertThat(order).as(device).isSorted().hasSize(SEQS_PER_DEVICE));

        try (StoreReader reader = StoreReader.openReadOnly(dir)) {
            List<StoredMessage> all = readAll(reader, null, 0);
            assertThat(all).hasSize(TOTAL);
            Map<String, Long> expectedNext = new ConcurrentHashMap<>();
            for (StoredMessage m : all) {
                long expected = expectedNext.getOrDefault(m.deviceId(), 1L);
                assertThat(m.seq()).as(m.deviceId()).isEqualTo(expected);
                assertThat(m.payload()).isEqualTo(payloadOf(m.deviceId(), m.seq()));
                expectedNext.put(m.deviceId(), expected + 1);
            }
            assertThat(reader.stats()).hasSize(THREADS * DEVICES_PER_THREAD)
                    .allSatisfy(s -> assertThat(s).isEqualTo(new DeviceStats(s.deviceId(), SEQS_PER_DEVICE, 1, SEQS_PER_DEVICE)));
        }
    }
}
