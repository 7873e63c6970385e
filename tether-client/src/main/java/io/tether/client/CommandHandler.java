package io.tether.client;

/**
 * Processes the commands the server sends this device ({@link TetherClient.Builder#onCommand}).
 *
 * <p>Threading: called on one thread per client, dedicated to commands (never an event loop
 * thread), one command at a time, in the server's order. It may block, for as long as the command
 * takes; later commands wait meanwhile, and so does their acknowledgement.
 */
@FunctionalInterface
public interface CommandHandler {
    /**
     * Processes one command. When it returns, the client records the command as processed (in the
     * outbox file, if there is one), acknowledges it to the server, and sends the result until the
     * server acknowledges storing it.
     *
     * @param command the command; called at most once per {@link DeviceCommand#seq()} (see
     *                {@link TetherClient.Builder#onCommand} for the exact guarantee)
     * @return the result: {@link CommandResult#succeeded}, {@link CommandResult#failed}, or
     *         {@link CommandResult#none()} to acknowledge without a result (null counts as none)
     * @throws Exception any exception makes the result FAILED, with the exception's message (or its
     *                   class name if it has none) as UTF-8 bytes; the command counts as processed
     *                   and is not retried
     */
    CommandResult handle(DeviceCommand command) throws Exception;
}
