package io.tether.server;

/**
 * A {@link SessionListener} that records events somewhere and must be closed after the server
 * (so the events of the shutdown itself are kept). Made by {@link EventLogs}.
 */
public interface EventLog extends SessionListener, AutoCloseable {
    /** Flushes what is queued and stops; closes the output if the log owns it. Idempotent. */
    @Override
    void close();
}
