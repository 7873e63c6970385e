package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.MessageCursor;
import io.tether.server.MessageStore;
import io.tether.server.StoreReader;
import io.tether.server.StoredMessage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Helpers shared by the store tests. */
final class StoreTesting {
    private StoreTesting() {
    }

    /** The payload the tests (and the child process) write for (device, seq): its content depends on both. */
    static byte[] payloadOf(String device, long seq) {
        StringBuilder sb = new StringBuilder(device).append('#').append(seq).append(':');
        // Lengths vary with seq so records straddle WAL block boundaries at different offsets.
        for (int i = 0; i < seq % 37; i++) {
            sb.append((char) ('a' + (i % 26)));
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** The outcome of one append. */
    record Outcome(AppendResult result, Throwable error) {
    }

    static CompletableFuture<Outcome> append(MessageStore store, String device, long seq, byte[] payload) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        store.append(device, seq, payload, 1_000L + seq, (r, e) -> f.complete(new Outcome(r, e)));
        return f;
    }

    /** Appends and waits for the callback (at most 10 s). */
    static AppendResult appendAndWait(MessageStore store, String device, long seq) throws Exception {
        Outcome o = append(store, device, seq, payloadOf(device, seq)).get(10, TimeUnit.SECONDS);
        assertThat(o.error()).as("append %s/%d", device, seq).isNull();
        return o.result();
    }

    static List<StoredMessage> readAll(StoreReader reader, String deviceOrNull, long fromSeq) {
        List<StoredMessage> all = new ArrayList<>();
        try (MessageCursor c = reader.read(deviceOrNull, fromSeq)) {
            c.forEachRemaining(all::add);
        }
        return all;
    }

    static List<Long> seqs(List<StoredMessage> messages) {
        return messages.stream().map(StoredMessage::seq).toList();
    }

    /**
     * Holds the store's writer thread inside an append callback until {@link #release()}, so
     * appends made meanwhile queue up and go into the next batch together.
     */
    static final class WriterGate {
        private final CountDownLatch entered = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);

        WriterGate(MessageStore store) throws InterruptedException {
            store.append("gate", 1, new byte[0], 0, (r, e) -> {
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(entered.await(10, TimeUnit.SECONDS)).as("writer reached the gate").isTrue();
        }

        void release() {
            release.countDown();
        }
    }
}
