package io.tether.server;

/**
 * Receives session events. Methods are called on the connection's event loop thread: they must
 * be quick and must not block. Exceptions thrown by a listener are logged and otherwise ignored.
 */
public interface SessionListener {
    /** A device completed its handshake. */
    default void onOpen(SessionOpened event) {
    }

    /** A connection ended; called exactly once per accepted connection, handshake or not. */
    default void onClose(SessionClosed event) {
    }

    /**
     * A device's DATA skipped sequence numbers. The message was stored; the numbers below it that
     * were never received are abandoned by the device (see docs/PROTOCOL.md).
     */
    default void onSequenceGap(String deviceId, long sessionId, long receivedSeq) {
    }

    /**
     * A command entered a new state ({@link TetherServer#commands()}). Called on the command
     * ledger's thread, once per state change, in the order of the changes.
     */
    default void onCommand(Command command) {
    }
}
