package io.tether.server.internal.feed;

import java.io.IOException;
import java.util.List;

/**
 * The application feed: one totally ordered, durable log of what backends consume — device
 * messages, session events and command state changes — each entry under a stable offset (1, 2,
 * 3, …: never reused, the same after a restart). The Kafka forwarder and the HTTP cursor and
 * stream ({@code GET /v1/messages}, {@code GET /v1/stream}) read it.
 *
 * <p>The message store writes it: a message's entry in the same atomic batch as the message, so
 * an acknowledged message is in the feed; events and command changes through {@link #append},
 * with the store's next batch. Retention deletes old entries that are {@linkplain #forwarded()
 * forwarded}; entries not yet forwarded are never deleted.
 *
 * <p>Thread-safe. {@link #read} may touch the disk: never call it on an event loop.
 */
public interface Feed {

    /** What an entry holds. The code is stored: never renumber. */
    enum Kind {
        /** A device's uplink message: {@link Entry#seq()} its seq, {@link Entry#body()} its payload. */
        MESSAGE(1),
        /** A session event (open, close, gap): {@link Entry#body()} is one UTF-8 JSON object. */
        EVENT(2),
        /** A command's state change, with its result when it has one: UTF-8 JSON. */
        COMMAND(3);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** @throws IllegalArgumentException for an unknown code */
        public static Kind of(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            throw new IllegalArgumentException("feed entry kind " + code + " (expected: 1 to 3)");
        }
    }

    /**
     * One feed entry.
     *
     * @param offset   1 and up, strictly increasing in feed order
     * @param deviceId the device it concerns; null for an event without one (a failed handshake)
     * @param session  the session id it belongs to (the message's connection, the event's
     *                 session); 0 when none
     * @param seq      the message's seq; for COMMAND the command's seq; 0 otherwise
     * @param atMillis when it happened: a message's receive time, an event's time, epoch ms
     * @param body     the payload (MESSAGE) or UTF-8 JSON (EVENT, COMMAND); never null
     */
    record Entry(long offset, Kind kind, String deviceId, long session, long seq, long atMillis, byte[] body) {
    }

    /**
     * Appends an event or a command change (not a MESSAGE: messages enter with the store's
     * append). Never blocks. Durable with the store's next batch; lost, and counted, only if
     * the store is failed (disk full) or closing.
     *
     * <p>{@code body} is called once, later and on another thread (the store's writer), to make
     * the entry's bytes: the caller (an event loop closing a connection) only queues. It must
     * format from immutable data; if it throws, the entry is dropped and counted as lost.
     */
    void append(Kind kind, String deviceId, long session, long seq, long atMillis, Body body);

    /** {@link #append(Kind, String, long, long, long, Body)} of bytes already made. */
    default void append(Kind kind, String deviceId, long session, long seq, long atMillis, byte[] body) {
        append(kind, deviceId, session, seq, atMillis, () -> body);
    }

    /**
     * A session's open ({@code open}) or close event, as {@link #append} of an EVENT; the feed
     * also remembers which sessions are open, so that a restart after a crash (kill -9, power
     * loss) appends a close event for each session it left open: every open has its close.
     */
    default void appendSession(boolean open, String deviceId, long session, long atMillis, Body body) {
        append(Kind.EVENT, deviceId, session, 0, atMillis, body);
    }

    /** An entry's bytes, made when the feed writes it (see {@link #append}). */
    @FunctionalInterface
    interface Body {
        byte[] bytes();
    }

    /** The highest offset that is durable, 0 if the feed is empty. */
    long head();

    /**
     * Up to {@code max} entries with offsets above {@code after}, in offset order; empty when
     * there are none yet. Entries removed by retention are skipped, so the first offset may be
     * above {@code after + 1}. May read the disk.
     *
     * @throws IOException if the store cannot be read (failed or closed)
     */
    List<Entry> read(long after, int max) throws IOException;

    /**
     * Runs {@code listener} after each batch that moved {@link #head()}, with the new head, on
     * the store's writer thread: it must be quick and must not block (wake a thread).
     *
     * @return closing it unsubscribes
     */
    AutoCloseable onAppend(java.util.function.LongConsumer listener);

    /** The forwarder's durable position: every entry up to it is in the sink; 0 before any. */
    long forwarded();

    /**
     * Records that every entry up to {@code offset} is in the sink (Kafka): completes the
     * appends held for {@code --ack-after kafka} up to it, lets retention delete up to it and
     * lowers {@link #unforwardedBytes()}. Lower values than the current one are ignored.
     */
    void forwarded(long offset);

    /** Payload bytes of entries above {@link #forwarded()}: what a sink outage has piled up. */
    long unforwardedBytes();
}
