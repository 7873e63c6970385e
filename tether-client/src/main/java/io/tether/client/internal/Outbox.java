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
 * <p>Not thread-safe: confined to the client's event loop. It never completes futures itself; the
 * caller gets the entries through callbacks and completes them once the outbox is consistent.
 */
public final class Outbox {

    /** One message. {@code seq} is 0 until assigned. */
    public static final class Entry {
        private final byte[] payload;
        private final CompletableFuture<Long> future;
        private long seq;
        private boolean written;

        /** An unsequenced entry; {@code future} completes with the seq once acknowledged. */
        public Entry(byte[] payload, CompletableFuture<Long> future) {
            this.payload = payload;
            this.future = future;
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

    private final ArrayDeque<Entry> unsequenced = new ArrayDeque<>();
    private final ArrayDeque<Entry> inFlight = new ArrayDeque<>();
    private final ArrayDeque<Entry> toWrite = new ArrayDeque<>();
    private long nextSeq = 1;

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
        toWrite.addLast(e);
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
     * @return the entry (its {@link Entry#written()} tells whether this is a resend), or null
     */
    public Entry pollToWrite() {
        Entry e = toWrite.pollFirst();
        if (e != null) {
            inFlight.addLast(e);
        }
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
