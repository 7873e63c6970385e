package io.tether.protocol;

/** Constants and limits of the wire protocol, versions 1 and 2. See docs/PROTOCOL.md. */
public final class Protocol {
    /** Version 1: sessions, heartbeats, uplink DATA/ACK, per-session downlink DATA, BYE. */
    public static final int VERSION = 1;
    /** Version 2: version 1 plus durable commands (COMMAND, COMMAND_ACK, RESULT, RESULT_ACK). */
    public static final int VERSION_COMMANDS = 2;
    /** The highest version this implementation speaks; it speaks every version from 1 to this. */
    public static final int MAX_VERSION = VERSION_COMMANDS;
    /** Bytes of the length prefix. */
    public static final int LENGTH_FIELD_SIZE = 4;
    /** Bytes after the length prefix that every frame has: version and type. */
    public static final int HEADER_SIZE = 2;
    /** Default largest value of the length field (version + type + body). */
    public static final int DEFAULT_MAX_FRAME_LENGTH = 65_536;
    /** No server may advertise a smaller maximum: a HELLO with the largest id and credential must fit. */
    public static final int MIN_MAX_FRAME_LENGTH = 2 + 4 + 8 + 1 + 128 + 2 + 1024;
    /** Largest value of a HELLO's length field: the longest device id and credential (1,169). */
    public static final int MAX_HELLO_LENGTH = MIN_MAX_FRAME_LENGTH;
    public static final int MAX_DEVICE_ID_LENGTH = 128;
    public static final int MAX_CREDENTIAL_LENGTH = 1024;
    public static final int MAX_BYE_TEXT_LENGTH = 255;

    private Protocol() {
    }

    /**
     * @throws IllegalArgumentException if this implementation does not speak {@code version}
     */
    public static void checkVersion(int version) {
        if (version < VERSION || version > MAX_VERSION) {
            throw new IllegalArgumentException("version: " + version + " (expected: " + VERSION + " to " + MAX_VERSION + ")");
        }
    }

    /**
     * Checks a device id: 1 to 128 bytes of printable ASCII (0x21 to 0x7E), so it is safe in logs,
     * file names and JSON without escaping surprises.
     *
     * @throws IllegalArgumentException if the id is null or does not meet the rule
     */
    public static void checkDeviceId(String id) {
        if (id == null || id.isEmpty() || id.length() > MAX_DEVICE_ID_LENGTH) {
            throw new IllegalArgumentException("deviceId: " + (id == null ? "null" : "length " + (id == null ? 0 : id.length()))
                    + " (expected: 1 to " + MAX_DEVICE_ID_LENGTH + " printable ASCII characters)");
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException("deviceId: character 0x" + Integer.toHexString(c)
                        + " at " + i + " (expected: printable ASCII 0x21 to 0x7E)");
            }
        }
    }
}
