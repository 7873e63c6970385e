package io.tether.client;

import java.util.Objects;

/**
 * What a {@link CommandHandler} reports about a command it processed: {@link #succeeded},
 * {@link #failed} (each with bytes for the application that sent the command), or {@link #none()}
 * (acknowledge only, no result). Immutable apart from the payload array, which is not copied and
 * must not be modified afterwards.
 */
public final class CommandResult {
    /** What the handler says about the command. */
    public enum Status {
        /** The command did what was asked; the server records SUCCEEDED. */
        SUCCEEDED,
        /** The command failed; the server records FAILED. */
        FAILED,
        /** No result is sent; the server records the command as delivered only. */
        NONE
    }

    /**
     * Largest result payload, in bytes: the default maximum frame length less the RESULT header
     * (65,525). A server that announces a smaller maximum gets a FAILED result saying the payload
     * was too large instead.
     */
    public static final int MAX_PAYLOAD_LENGTH = ClientCore.MAX_RESULT_PAYLOAD_LENGTH;

    private static final CommandResult NONE = new CommandResult(Status.NONE, new byte[0]);

    private final Status status;
    private final byte[] payload;

    private CommandResult(Status status, byte[] payload) {
        this.status = status;
        this.payload = payload;
    }

    /**
     * The command succeeded; {@code payload} (may be empty) goes to the application that sent it.
     *
     * @throws IllegalArgumentException if longer than {@link #MAX_PAYLOAD_LENGTH}
     */
    public static CommandResult succeeded(byte[] payload) {
        return new CommandResult(Status.SUCCEEDED, check(payload));
    }

    /**
     * The command failed; {@code payload} (may be empty) says why, for the application that sent it.
     *
     * @throws IllegalArgumentException if longer than {@link #MAX_PAYLOAD_LENGTH}
     */
    public static CommandResult failed(byte[] payload) {
        return new CommandResult(Status.FAILED, check(payload));
    }

    /** Acknowledge the command without a result. */
    public static CommandResult none() {
        return NONE;
    }

    private static byte[] check(byte[] payload) {
        Objects.requireNonNull(payload, "payload");
        if (payload.length > MAX_PAYLOAD_LENGTH) {
            throw new IllegalArgumentException("result payload: " + payload.length + " bytes (expected: <= "
                    + MAX_PAYLOAD_LENGTH + ")");
        }
        return payload;
    }

    /** SUCCEEDED, FAILED, or NONE for {@link #none()}. */
    public Status status() {
        return status;
    }

    /** The result's bytes; empty for {@link #none()}. Not a copy. */
    public byte[] payload() {
        return payload;
    }

    @Override
    public String toString() {
        return "CommandResult[" + status + ", payload=<" + payload.length + " bytes>]";
    }
}
