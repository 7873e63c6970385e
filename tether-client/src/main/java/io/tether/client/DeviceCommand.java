package io.tether.client;

/**
 * A command the server sent to this device, as given to a {@link CommandHandler}.
 *
 * <p>{@link #seq()} is the server's number for the command: per device, kept across sessions and
 * restarts of either side, only growing, with gaps where commands were canceled or expired. The
 * client hands each number to the handler at most once per run (and, with
 * {@link TetherClient.Builder#outboxFile outboxFile}, at most once across restarts, see
 * {@link TetherClient.Builder#onCommand}). Immutable apart from the payload array, which the
 * handler owns.
 */
public final class DeviceCommand {
    private final long seq;
    private final byte[] payload;

    /**
     * A command; the client builds these, applications only to test their handlers.
     *
     * @param seq     the command's number, {@code >= 1}
     * @param payload its bytes; not copied
     * @throws IllegalArgumentException if {@code seq < 1}
     * @throws NullPointerException     if the payload is null
     */
    public DeviceCommand(long seq, byte[] payload) {
        if (seq < 1) {
            throw new IllegalArgumentException("seq: " + seq + " (expected: >= 1)");
        }
        this.seq = seq;
        this.payload = java.util.Objects.requireNonNull(payload, "payload");
    }

    /** The server's number for this command on this device, {@code >= 1}. */
    public long seq() {
        return seq;
    }

    /** The command's bytes, as the application that queued it sent them; owned by the handler. */
    public byte[] payload() {
        return payload;
    }

    @Override
    public String toString() {
        return "DeviceCommand[seq=" + seq + ", payload=<" + payload.length + " bytes>]";
    }
}
