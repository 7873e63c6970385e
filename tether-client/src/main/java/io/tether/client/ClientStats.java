package io.tether.client;

import io.tether.protocol.Reason;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * A snapshot of one client's counters since it was built, or the sum of several clients'
 * ({@link #plus}). Immutable and thread-safe. All counts are cumulative.
 */
public final class ClientStats {
    private static final Reason[] REASONS = Reason.values();

    /** commandsReceived, commandsDuplicate, commandsProcessed, resultsSent, resultsAcked. */
    static final int COMMAND_COUNTERS = 5;

    /** All counters zero; the identity of {@link #plus}. */
    public static final ClientStats ZERO = new ClientStats(0, 0, 0, 0, 0, 0, 0, 0, 0, new long[REASONS.length],
            new long[COMMAND_COUNTERS]);

    private final long connects;
    private final long connectFailures;
    private final long reconnectAttempts;
    private final long messagesSent;
    private final long messagesResent;
    private final long messagesAcked;
    private final long messagesReceived;
    private final long pingsSent;
    private final long pongsReceived;
    private final long[] disconnects;
    /** In the order of {@link #COMMAND_COUNTERS}. */
    private final long[] commands;

    ClientStats(long connects, long connectFailures, long reconnectAttempts, long messagesSent, long messagesResent,
                long messagesAcked, long messagesReceived, long pingsSent, long pongsReceived, long[] disconnects,
                long[] commands) {
        this.connects = connects;
        this.connectFailures = connectFailures;
        this.reconnectAttempts = reconnectAttempts;
        this.messagesSent = messagesSent;
        this.messagesResent = messagesResent;
        this.messagesAcked = messagesAcked;
        this.messagesReceived = messagesReceived;
        this.pingsSent = pingsSent;
        this.pongsReceived = pongsReceived;
        this.disconnects = disconnects;
        this.commands = commands;
    }

    /** Sessions established (WELCOME received). */
    public long connects() {
        return connects;
    }

    /** Connection attempts that failed before the TCP connection was established (refused, timed out…). */
    public long connectFailures() {
        return connectFailures;
    }

    /** Connection attempts started after a loss or a failed attempt (the first connect() is not one). */
    public long reconnectAttempts() {
        return reconnectAttempts;
    }

    /** DATA frames written, resends included. */
    public long messagesSent() {
        return messagesSent;
    }

    /** DATA frames written again after a reconnect (a subset of {@link #messagesSent()}). */
    public long messagesResent() {
        return messagesResent;
    }

    /** Messages whose send future completed: acknowledged by an ACK or by a WELCOME's last_seq. */
    public long messagesAcked() {
        return messagesAcked;
    }

    /** Downlink messages delivered to the listener (redeliveries not counted). */
    public long messagesReceived() {
        return messagesReceived;
    }

    /** PING frames written. */
    public long pingsSent() {
        return pingsSent;
    }

    /** PONG frames received. */
    public long pongsReceived() {
        return pongsReceived;
    }

    /** COMMAND frames received, duplicates included (0 without {@code onCommand}). */
    public long commandsReceived() {
        return commands[0];
    }

    /**
     * COMMAND frames received for a command already processed or being processed (a resend after a
     * reconnect or a restart): acknowledged, not processed again. A subset of {@link #commandsReceived()}.
     */
    public long commandsDuplicate() {
        return commands[1];
    }

    /** Commands the handler processed (returned or threw) and that were recorded as processed. */
    public long commandsProcessed() {
        return commands[2];
    }

    /** RESULT frames written, resends after a reconnect included. */
    public long resultsSent() {
        return commands[3];
    }

    /** Results the server acknowledged storing (RESULT_ACK). */
    public long resultsAcked() {
        return commands[4];
    }

    /** Connections that ended with this reason (see {@link ClientListener#onDisconnected}). */
    public long disconnects(Reason reason) {
        return disconnects[reason.ordinal()];
    }

    /** Connections that ended, for any reason. */
    public long disconnects() {
        long sum = 0;
        for (long d : disconnects) {
            sum += d;
        }
        return sum;
    }

    /** Non-zero disconnect counts by reason, in {@link Reason} order; unmodifiable. */
    public Map<Reason, Long> disconnectsByReason() {
        EnumMap<Reason, Long> map = new EnumMap<>(Reason.class);
        for (Reason r : REASONS) {
            if (disconnects[r.ordinal()] != 0) {
                map.put(r, disconnects[r.ordinal()]);
            }
        }
        return Collections.unmodifiableMap(map);
    }

    /** The counter-wise sum, for aggregating many clients (a simulator's fleet). */
    public ClientStats plus(ClientStats o) {
        long[] d = new long[REASONS.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = disconnects[i] + o.disconnects[i];
        }
        long[] c = new long[COMMAND_COUNTERS];
        for (int i = 0; i < c.length; i++) {
            c[i] = commands[i] + o.commands[i];
        }
        return new ClientStats(connects + o.connects, connectFailures + o.connectFailures,
                reconnectAttempts + o.reconnectAttempts, messagesSent + o.messagesSent,
                messagesResent + o.messagesResent, messagesAcked + o.messagesAcked,
                messagesReceived + o.messagesReceived, pingsSent + o.pingsSent, pongsReceived + o.pongsReceived, d, c);
    }

    @Override
    public String toString() {
        return "ClientStats[connects=" + connects + ", connectFailures=" + connectFailures
                + ", reconnectAttempts=" + reconnectAttempts + ", disconnects=" + disconnectsByReason()
                + ", messagesSent=" + messagesSent + ", messagesResent=" + messagesResent
                + ", messagesAcked=" + messagesAcked + ", messagesReceived=" + messagesReceived
                + ", pingsSent=" + pingsSent + ", pongsReceived=" + pongsReceived
                + ", commandsReceived=" + commands[0] + ", commandsDuplicate=" + commands[1]
                + ", commandsProcessed=" + commands[2] + ", resultsSent=" + commands[3]
                + ", resultsAcked=" + commands[4] + "]";
    }
}
