package io.tether.server;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The command ledger: durable, acknowledged commands to devices by id ({@link TetherServer#commands()}).
 *
 * <p>Per device, commands are delivered in the order they were accepted, each processed at most
 * once by a device that keeps its command state (the SDK's {@code onCommand} with an outbox
 * file), across reconnects, takeovers and restarts of either side. A command accepted here is
 * durable before the returned stage completes: it survives {@code kill -9} of the server.
 *
 * <p>Every method is non-blocking and thread-safe: stages complete on the ledger's own threads,
 * so callers on an event loop never wait on the disk. A refusal completes the stage
 * exceptionally with a {@link CommandException}.
 */
public interface Commands {

    /**
     * Accepts a command. The stage completes with the command, QUEUED (or further along, if the
     * device was quick), once it is durable; with the existing command if {@code idempotencyKey}
     * matched one of the device's (whatever its state); or with a {@link CommandException}
     * (INVALID, QUEUE_FULL, UNAVAILABLE).
     */
    CompletionStage<Submitted> submit(CommandRequest request);

    /** The command with this id, if the ledger has it. */
    CompletionStage<Optional<Command>> get(String id);

    /**
     * The command once it is in a final state ({@link CommandState#isFinal()}), or as it is when
     * {@code wait} has passed, whichever comes first. NOT_FOUND if there is no such command.
     */
    CompletionStage<Command> await(String id, Duration wait);

    /**
     * A device's commands, oldest first.
     *
     * @param states only these states; empty for all
     * @param limit  at most this many (1 to 1,000)
     */
    CompletionStage<List<Command>> list(String deviceId, Set<CommandState> states, int limit);

    /**
     * Cancels a command that was not sent yet (QUEUED). The stage completes with the CANCELED
     * command once that is durable, or with CONFLICT if it was sent or has finished, NOT_FOUND if
     * unknown.
     */
    CompletionStage<Command> cancel(String id);

    /** Commands of the device that are QUEUED or SENT. Cheap (memory only). */
    int open(String deviceId);

    /**
     * @param command  the command
     * @param created  false when an idempotency key matched an existing command
     */
    record Submitted(Command command, boolean created) {
    }
}
