package io.tether.client;

import io.tether.protocol.Reason;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Live counters of one client. Written only on the client's event loop (a single writer, so a
 * volatile increment is safe), read from any thread by {@link #snapshot()}.
 */
final class Counters {
    volatile long connects;
    volatile long connectFailures;
    volatile long reconnectAttempts;
    volatile long messagesSent;
    volatile long messagesResent;
    volatile long messagesAcked;
    volatile long messagesReceived;
    volatile long pingsSent;
    volatile long pongsReceived;
    volatile long commandsReceived;
    volatile long commandsDuplicate;
    volatile long commandsProcessed;
    volatile long resultsSent;
    volatile long resultsAcked;
    private final AtomicLongArray disconnects = new AtomicLongArray(Reason.values().length);

    void disconnected(Reason reason) {
        disconnects.incrementAndGet(reason.ordinal());
    }

    void pingSent() {
        pingsSent++;
    }

    ClientStats snapshot() {
        long[] d = new long[disconnects.length()];
        for (int i = 0; i < d.length; i++) {
            d[i] = disconnects.get(i);
        }
        return new ClientStats(connects, connectFailures, reconnectAttempts, messagesSent, messagesResent,
                messagesAcked, messagesReceived, pingsSent, pongsReceived, d,
                new long[] {commandsReceived, commandsDuplicate, commandsProcessed, resultsSent, resultsAcked});
    }
}
