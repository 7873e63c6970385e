package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A store whose queue is full stops only the channels that feed it: they stop reading until it
 * drains; the PINGs of other devices on the same event loop are answered meanwhile, and nothing
 * is lost. Real sockets, one worker thread.
 */
class StoreBackPressureIT {
    private static final int MESSAGES = 3_000;

    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    /** A store whose queue is "full" while gated: appends wait in it, isWritable() is false. */
    static final class GatedStore implements MessageStore {
        private record Pending(String deviceId, long seq, byte[] payload, long at, AppendCallback callback) {
        }

        final InMemoryMessageStore inner = new InMemoryMessageStore();
        final AtomicInteger appendsWhileGated = new AtomicInteger();
        private final Queue<Pending> queue = new ArrayDeque<>();
        private final List<Runnable> waiting = new ArrayList<>();
        private boolean gated = true;

        @Override
        public long lastSeq(String deviceId) {
            return inner.lastSeq(deviceId);
        }

        @Override
        public synchronized void append(String deviceId, long seq, byte[] payload, long at, AppendCallback callback) {
            if (gated) {
                appendsWhileGated.incrementAndGet();
                queue.add(new Pending(deviceId, seq, payload, at, callback));
            } else {
                inner.append(deviceId, seq, payload, at, callback);
            }
        }

        @Override
        public synchronized boolean isWritable() {
            return !gated;
        }

        @Override
        public void whenWritable(Runnable task) {
            synchronized (this) {
                if (gated) {
                    waiting.add(task);
                    return;
                }
            }
            task.run();
        }

        /** Drains the queue in order (callbacks from this, a non-event-loop thread), then tells the waiters. */
        void open() {
            List<Runnable> tasks;
            synchronized (this) {
                for (Pending p; (p = queue.poll()) != null; ) {
                    inner.append(p.deviceId(), p.seq(), p.payload(), p.at(), p.callback());
                }
                gated = false;
                tasks = new ArrayList<>(waiting);
                waiting.clear();
            }
            tasks.forEach(Runnable::run);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void fullStore_stopsReadingTheFeedingChannel_othersOnTheSameLoopAreServed_nothingLost_readingResumes() throws Exception {
        GatedStore store = new GatedStore();
        fixture.start(b -> b.store(store).workerThreads(1).heartbeat(Duration.ofSeconds(60)));
        try (RawDevice feeder = new RawDevice(fixture.port()); RawDevice pinger = new RawDevice(fixture.port())) {
            feeder.hello("feeder", 60_000);
            pinger.hello("pinger", 60_000);

            byte[] payload = new byte[300];
            CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
                try {
                    for (long seq = 1; seq <= MESSAGES; seq++) {
                        feeder.send(new Frame.Data(seq, payload));
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });

            // The feeder's channel stops reading: the store sees a read batch or so, not the whole stream.
            // The count must hold still for 500 ms while the device keeps writing.
            await().atMost(5, TimeUnit.SECONDS).until(() -> store.appendsWhileGated.get() > 0);
            int[] last = {-1};
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> {
                int now = store.appendsWhileGated.get();
                boolean still = now == last[0];
                last[0] = now;
                return still;
            });
            int heldAt = store.appendsWhileGated.get();
            assertThat(heldAt).isLessThan(MESSAGES);

            // The one event loop still answers another device.
            long slowestPong = 0;
            for (int i = 0; i < 10; i++) {
                long t0 = System.nanoTime();
                pinger.send(Frame.Ping.INSTANCE);
                assertThat(pinger.read()).isInstanceOf(Frame.Pong.class);
                slowestPong = Math.max(slowestPong, System.nanoTime() - t0);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1_000);
            }

            // The queue drains: reading resumes, every message is stored and acknowledged.
            store.open();
            written.get(10, TimeUnit.SECONDS);
            long acked = 0;
            while (acked < MESSAGES) {
                Frame f = feeder.read();
                assertThat(f).isInstanceOf(Frame.Ack.class);
                acked = Math.max(acked, ((Frame.Ack) f).seq());
            }
            assertThat(store.inner.messages("feeder")).extracting(StoredMessage::seq)
                    .containsExactlyElementsOf(LongStream.rangeClosed(1, MESSAGES).boxed().toList());
            System.out.printf("StoreBackPressureIT: store gated: feeder's appends held at %d of %d; 10 PINGs on the same"
                    + " loop answered, slowest %.2f ms; gate opened: %d of %d acknowledged and stored in order%n",
                    heldAt, MESSAGES, slowestPong / 1e6, acked, MESSAGES);
        }
    }
}
