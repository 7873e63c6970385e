package io.tether.server;

/** A command request the ledger refused or could not find; {@link #kind()} says which. */
public final class CommandException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why. The HTTP API maps each kind to one status. */
    public enum Kind {
        /** The request is malformed (payload too large, TTL above the maximum, bad id): 400, 413 for size. */
        INVALID,
        /** No command with that id: 404. */
        NOT_FOUND,
        /** The device already has the maximum number of open commands: 409. */
        QUEUE_FULL,
        /** The command is no longer in a state that allows this (cancel after it was sent): 409. */
        CONFLICT,
        /** The store cannot write now (disk full); it recovers by itself: 503. */
        UNAVAILABLE
    }

    private final Kind kind;

    public CommandException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public CommandException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
