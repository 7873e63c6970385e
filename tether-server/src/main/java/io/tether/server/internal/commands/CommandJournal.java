package io.tether.server.internal.commands;

import io.tether.server.Command;
import io.tether.server.CommandState;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Where the ledger keeps its commands: the embedded RocksDB store (durable) or memory. Writes are
 * group-committed and complete on the journal's own thread; reads are made by the ledger's thread
 * and see every write offered before them, durable or not yet (so the ledger never reads an older
 * state than it wrote).
 */
public interface CommandJournal extends AutoCloseable {

    /**
     * Offers one command record (a new command, or a new state of one). Never blocks.
     *
     * @param created true for a new command: its id and idempotency key are indexed too
     * @param done    called once, on any thread, with null when the record is durable (as far as
     *                this journal promises), or with the error
     */
    void write(Command command, boolean created, Consumer<Throwable> done);

    /**
     * Reads every command at start: {@code each} gets every command, oldest first per device.
     * Called once, before any write.
     */
    void load(Consumer<Command> each) throws IOException;

    /** The command with this id, or null. */
    Command read(String id) throws IOException;

    /** The device's command with this seq, or null. */
    Command read(String deviceId, long seq) throws IOException;

    /** The device's command with this idempotency key, or null. */
    Command byKey(String deviceId, String idempotencyKey) throws IOException;

    /** The device's commands, oldest first, only those in {@code states} (all if empty), at most {@code limit}. */
    List<Command> list(String deviceId, Set<CommandState> states, int limit) throws IOException;

    /** Whether the journal is durable across restarts. */
    boolean durable();

    @Override
    void close();
}
