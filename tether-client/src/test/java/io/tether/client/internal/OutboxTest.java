package io.tether.client.internal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class OutboxTest {
    private final Outbox outbox = new Outbox();
    private final List<Long> stored = new ArrayList<>();
    private final List<Outbox.Entry> rejected = new ArrayList<>();

    private static Outbox.Entry entry(int size) {
        return new Outbox.Entry(new byte[size], new CompletableFuture<>());
    }

    private void welcome(long lastSeq) {
        outbox.onWelcome(lastSeq, 1_000, e -> stored.add(e.seq()), rejected::add);
    }

    private List<Long> writeAll() {
        List<Long> seqs = new ArrayList<>();
        Outbox.Entry e;
        while ((e = outbox.pollToWrite()) != null) {
            Outbox.markWritten(e);
            seqs.add(e.seq());
        }
        return seqs;
    }

    @Test
    void unsequenced_areNumberedAfterServersLastSeq_inSendOrder() {
        Outbox.Entry a = entry(1);
        Outbox.Entry b = entry(2);
        outbox.addUnsequenced(a);
        outbox.addUnsequenced(b);
        assertThat(a.seq()).isZero();
        welcome(7);
        assertThat(stored).isEmpty();
        assertThat(writeAll()).containsExactly(8L, 9L);
        assertThat(a.seq()).isEqualTo(8);
        assertThat(b.seq()).isEqualTo(9);
    }

    @Test
    void welcome_completesWhatTheServerStored_andResendsTheRestInOrder() {
        welcome(0);
        for (int i = 0; i < 5; i++) {
            outbox.addSequenced(entry(1));
        }
        assertThat(writeAll()).containsExactly(1L, 2L, 3L, 4L, 5L);
        outbox.ackUpTo(2, e -> stored.add(e.seq()));
        outbox.rewind(); // connection lost
        welcome(3);      // the ACK of 3 was lost
        assertThat(stored).containsExactly(1L, 2L, 3L);
        assertThat(writeAll()).containsExactly(4L, 5L);
        assertThat(outbox.nextSeq()).isEqualTo(6);
    }

    @Test
    void deviceThatLostItsState_neverReusesNumbersTheServerHolds() {
        welcome(41);
        outbox.addSequenced(entry(1));
        assertThat(writeAll()).containsExactly(42L);
    }

    @Test
    void numbersDoNotMoveBack_whenTheServerIsBehindAndNothingIsPending() {
        welcome(0);
        outbox.addSequenced(entry(1));
        writeAll();
        outbox.ackUpTo(1, e -> { });
        welcome(0);
        outbox.addSequenced(entry(1));
        assertThat(writeAll()).containsExactly(2L);
    }

    @Test
    void resentAfterReconnect_precedesNewlyNumbered() {
        outbox.addUnsequenced(entry(1));
        welcome(0);
        assertThat(writeAll()).containsExactly(1L);
        outbox.addSequenced(entry(1));            // 2, never written
        outbox.rewind();                          // lost before writing 2
        outbox.addUnsequenced(entry(1));          // sent while disconnected
        welcome(0);
        assertThat(writeAll()).containsExactly(1L, 2L, 3L);
    }

    @Test
    void ack_isCumulative_andIgnoresRegressions() {
        welcome(0);
        for (int i = 0; i < 4; i++) {
            outbox.addSequenced(entry(1));
        }
        writeAll();
        assertThat(outbox.ackUpTo(3, e -> stored.add(e.seq()))).isEqualTo(3);
        assertThat(outbox.ackUpTo(1, e -> stored.add(e.seq()))).isZero();
        assertThat(stored).containsExactly(1L, 2L, 3L);
        assertThat(outbox.size()).isEqualTo(1);
    }

    @Test
    void tooLargeForTheServer_isRejectedBeforeNumbering_soNoGapOpens() {
        outbox.addUnsequenced(entry(10));
        Outbox.Entry big = entry(2_000);
        outbox.addUnsequenced(big);
        outbox.addUnsequenced(entry(10));
        welcome(0);
        assertThat(rejected).containsExactly(big);
        assertThat(big.seq()).isZero();
        assertThat(writeAll()).containsExactly(1L, 2L);
    }

    @Test
    void drainAll_returnsEveryEntryOnce() {
        welcome(0);
        outbox.addSequenced(entry(1));
        outbox.addSequenced(entry(1));
        outbox.pollToWrite();
        outbox.addUnsequenced(entry(1));
        List<Long> drained = new ArrayList<>();
        outbox.drainAll(e -> drained.add(e.seq()));
        assertThat(drained).containsExactly(1L, 2L, 0L);
        assertThat(outbox.size()).isZero();
    }
}
