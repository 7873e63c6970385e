package io.tether.client.internal;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Messages the server has not acknowledged yet, and the uplink sequence numbers.
 *
 * <p>Three queues, each in order: <em>unsequenced</em> (sent while no session was established:
 * they get their numbers only once the server has said which number it stored last),
 * <em>in flight</em> (numbered and written on the current connection) and <em>to write</em>
 * (numbered, not yet written on the current connection: backpressure, or a reconnect). Every
 * in-flight number is smaller than every to-write number, and numbers are consecutive.
 *
 * <p>Durability. A {@link Journal} (the outbox file, or none) is told when an entry gets its number,
 * when numbers are acknowledged and when an entry is rejected; an entry leaves {@link #pollToWrite()}
 * only once the journal has made its number durable, so a restart never renumbers a message the
 * server may already hold.
 *
 * <p>Not thread-safe: confined to the client's event loop (the journal calls are non-blocking). It
 * never completes futures itself; the caller gets the entries through callbacks and completes them
 * once the outbox is consistent.
 */
public final class Outbox {

    /**
     * Where the outbox records what must survive a restart. Every method is called on the event loop
     * and must not block.
     */
    public interface Journal {
        /** No journal: the outbox lives in memory only. */
        Journal NONE = new Journal() {
            @Override
            public long numbered(Entry e) {
                return 0;
            }

            @Override
            public long durable() {
                return Long.MAX_VALUE;
            }

            @Override
            public void acked(long seq) {
            }

            @Override
            public void rejected(Entry e) {
            }
        };

        /**
         * {@code e} has just got its sequence number.
         *
         * @return a ticket: {@code e} may be written on the wire once {@link #durable()} reaches it
         */
        long numbered(Entry e);

        /** The highest ticket whose record is durable. */
        long durable();

        /** Every number {@code <= seq} is stored by the server. */
        void acked(long seq);

        /** {@code e} is refused before numbering (too large for the server) and must not come back. */
        void rejected(Entry e);
    }

    /** One message. {@code seq} is 0 until assigned. */
    public static final class Entry {
        private final byte[] payload;
        private final CompletableFuture<Long> future;
        private long seq;
        private boolean written;
        /** The journal's id for this message; 0 without a journal. */
        long journalId;
        /** The journal ticket that must be durable before this entry goes on the wire. */
        private long gate;

        /** An unsequenced entry; {@code future} completes with the seq once acknowledged. */
        public Entry(byte[] payload, CompletableFuture<Long> future) {
            this.payload = payload;
            this.future = future;
        }

        /** A message reloaded from the journal; {@code seq} 0 if it had no number yet. */
        static Entry restored(byte[] payload, long seq, long journalId) {
            Entry e = new Entry(payload, new CompletableFuture<>());
            e.seq = seq;
            e.journalId = journalId;
            return e;
        }

        /** The message, as given to send(). */
        public byte[] payload() {
            return payload;
        }

        /** Completed by the caller of the outbox, never by the outbox. */
        public CompletableFuture<Long> future() {
            return future;
        }

        /** The sequence number, or 0 while unsequenced. */
        public long seq() {
            return seq;
        }

        /** Whether this entry was written before, on this or an earlier connection. */
        public boolean written() {
            return written;
        }
    }

    private final Journal journal;
    private final ArrayDeque<Entry> unsequenced = new ArrayDeque<>();
    private final ArrayDeque<Entry> inFlight = new ArrayDeque<>();
    private final ArrayDeque<Entry> toWrite = new ArrayDeque<>();
    private long nextSeq = 1;

    /** An outbox in memory only. */
    public Outbox() {
        this(Journal.NONE);
    }

    /** An outbox that reports numbering, acknowledgements and rejections to {@code journal}. */
    public Outbox(Journal journal) {
        this.journal = journal;
    }

    /** Every entry held: unsequenced, in flight and to write. */
    public int size() {
        return unsequenced.size() + inFlight.size() + toWrite.size();
    }

    /** Entries that have a sequence number. */
    public int sequencedCount() {
        return inFlight.size() + toWrite.size();
    }

    /** The number the next sequenced message gets. */
    public long nextSeq() {
        return nextSeq;
    }

    /** Queues a message sent while no session is established; it is numbered on the next WELCOME. */
    public void addUnsequenced(Entry e) {
        unsequenced.addLast(e);
    }

    /** Numbers a message sent while a session is established and queues it for writing. */
    public void addSequenced(Entry e) {
        e.seq = nextSeq++;
        e.gate = journal.numbered(e);
        toWrite.addLast(e);
    }

    /**
     * Puts back a message reloaded from the journal, in order: numbered ones first (ascending seq,
     * counted as written, since they may have reached the server), then unnumbered ones.
     */
    public void restore(Entry e) {
        if (e.seq == 0) {
            unsequenced.addLast(e);
        } else {
            e.written = true;
            toWrite.addLast(e);
            nextSeq = Math.max(nextSeq, e.seq + 1);
        }
    }

    /** After {@link #restore}: the next number is at least {@code seq} (the journal's watermark + 1). */
    public void restoreNextSeq(long seq) {
        nextSeq = Math.max(nextSeq, seq);
    }

    /** A message refused before numbering (too large for the server): the journal forgets it too. */
    public void reject(Entry e) {
        journal.rejected(e);
    }

    /**
     * Applies a WELCOME whose {@code last_seq} is {@code lastSeq}, in the order that keeps every
     * message stored exactly once:
     * <ol>
     *   <li>Every numbered entry {@code <= lastSeq} was stored (its ACK was lost): {@code stored}.</li>
     *   <li>If no numbered entry remains, the next number is at least {@code lastSeq + 1}, so a device
     *       that lost its state never reuses a number the server already holds (its message would be
     *       taken for a duplicate and dropped).</li>
     *   <li>Unsequenced entries are numbered in the order they were sent; one longer than
     *       {@code maxPayload} goes to {@code tooLarge} instead (the server would refuse the frame and
     *       the message would come back on every reconnect).</li>
     *   <li>Everything numbered is queued for (re)writing in sequence order.</li>
     * </ol>
     */
    public void onWelcome(long lastSeq, int maxPayload, Consumer<Entry> stored, Consumer<Entry> tooLarge) {
        rewind();
        ackUpTo(lastSeq, stored);
        if (toWrite.isEmpty()) {
            nextSeq = Math.max(nextSeq, lastSeq + 1);
        }
        Entry e;
        while ((e = unsequenced.pollFirst()) != null) {
            if (e.payload.length > maxPayload) {
                journal.rejected(e);
                tooLarge.accept(e);
            } else {
                addSequenced(e);
            }
        }
    }

    /**
     * Removes every numbered entry {@code <= seq} (a cumulative ACK) and hands it to {@code acked}.
     *
     * @return how many were removed
     */
    public int ackUpTo(long seq, Consumer<Entry> acked) {
        journal.acked(seq);
        int n = 0;
        n += ackUpTo(inFlight, seq, acked);
        n += ackUpTo(toWrite, seq, acked);
        return n;
    }

    private static int ackUpTo(ArrayDeque<Entry> queue, long seq, Consumer<Entry> acked) {
        int n = 0;
        Entry e;
        while ((e = queue.peekFirst()) != null && e.seq <= seq) {
            queue.pollFirst();
            acked.accept(e);
            n++;
        }
        return n;
    }

    /** Whether numbered entries wait to be written on the current connection. */
    public boolean hasToWrite() {
        return !toWrite.isEmpty();
    }

    /**
     * Takes the next entry to write and counts it as in flight.
     *
     * @return the entry (its {@link Entry#written()} tells whether this is a resend), or null if
     *         there is none, or the next one's number is not yet durable in the journal (entries go
     *         out strictly in seq order, so later ones wait too)
     */
    public Entry pollToWrite() {
        Entry e = toWrite.peekFirst();
        if (e == null || e.gate > journal.durable()) {
            return null;
        }
        toWrite.pollFirst();
        inFlight.addLast(e);
        return e;
    }

    /** Marks an entry returned by {@link #pollToWrite()} as written. */
    public static void markWritten(Entry e) {
        e.written = true;
    }

    /** The connection is gone: whatever was in flight must be written again on the next one. */
    public void rewind() {
        Entry e;
        while ((e = inFlight.pollLast()) != null) {
            toWrite.addFirst(e);
        }
    }

    /** Removes every entry, numbered ones first in sequence order, then unsequenced ones. */
    public void drainAll(Consumer<Entry> each) {
        rewind();
        Entry e;
        while ((e = toWrite.pollFirst()) != null) {
            each.accept(e);
        }
        while ((e = unsequenced.pollFirst()) != null) {
            each.accept(e);
        }
    }
}
