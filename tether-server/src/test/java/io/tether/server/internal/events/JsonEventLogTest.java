package io.tether.server.internal.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class JsonEventLogTest {

    /** A sink whose writes block until released: a stdout pipe that nobody reads. */
    private static final class StalledSink extends OutputStream {
        final CountDownLatch release = new CountDownLatch(1);
        final ByteArrayOutputStream written = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (this) {
                written.write(b, off, len);
            }
        }

        synchronized String text() {
            return written.toString(StandardCharsets.UTF_8);
        }
    }

    /** A sink that throws while {@link #full} is set: a full disk. */
    private static final class FullDisk extends OutputStream {
        final AtomicBoolean full = new AtomicBoolean();
        final ByteArrayOutputStream written = new ByteArrayOutputStream();

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (full.get()) {
                throw new IOException("No space left on device");
            }
            written.write(b, off, len);
        }

        synchronized String text() {
            return written.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void aStalledSink_neverBlocksTheCaller_andDropsAreCounted() {
        StalledSink sink = new StalledSink();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        JsonEventLog events = new JsonEventLog(sink, false, meters, 100, Duration.ofMillis(10));
        try {
            long start = System.nanoTime();
            for (int i = 1; i <= 10_000; i++) {
                events.onSequenceGap("d1", 1, i); // as an event loop would
            }
            // 10,000 calls against a sink that never returns; the old queue blocked at 65,536.
            // Generous slack for a shared 2-core host: a blocking caller would never return.
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            // At most 100 held: one batch in the sink plus what queued behind it.
            assertThat(events.dropped()).isGreaterThanOrEqualTo(10_000 - 100);
            assertThat(meters.get(JsonEventLog.DROPPED_METER).counter().count()).isEqualTo(events.dropped());

            sink.release.countDown();
            // The queue may still be full for a moment after the release: offer until one gets in.
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                events.onSequenceGap("d1", 1, 20_000);
                return sink.text().contains("\"seq\":20000");
            });
        } finally {
            sink.release.countDown();
            events.close();
        }
    }

    @Test
    void aFailingSink_dropsAndCounts_keepsTheWriter_andResumesWhenItWorksAgain() {
        FullDisk disk = new FullDisk();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        JsonEventLog events = new JsonEventLog(disk, false, meters, 1000, Duration.ofMillis(20));
        try {
            events.onSequenceGap("d1", 1, 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> disk.text().contains("\"seq\":1}"));

            disk.full.set(true);
            for (int i = 2; i <= 50; i++) {
                events.onSequenceGap("d1", 1, i);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> events.dropped() == 49);

            disk.full.set(false);
            events.onSequenceGap("d1", 1, 51);
            await().atMost(Duration.ofSeconds(5)).until(() -> disk.text().contains("\"seq\":51}"));
            assertThat(disk.text()).doesNotContain("\"seq\":2}");
            assertThat(meters.get(JsonEventLog.DROPPED_METER).counter().count()).isEqualTo(49.0);
        } finally {
            events.close();
        }
    }

    @Test
    void close_writesWhatIsQueued() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonEventLog events = new JsonEventLog(out, true, new SimpleMeterRegistry());
        for (int i = 1; i <= 1000; i++) {
            events.onSequenceGap("d1", 1, i);
        }
        events.close();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text.lines()).hasSize(1000);
        assertThat(text.lines().toList().get(999)).endsWith("\"seq\":1000}");
        assertThat(events.dropped()).isZero();
    }
}
