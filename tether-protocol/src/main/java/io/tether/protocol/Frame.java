package io.tether.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One protocol frame. Instances are immutable value objects; {@link FrameCodec} turns them into
 * bytes and back. Field limits are checked at construction so that an invalid frame can never be
 * encoded.
 */
public sealed interface Frame {

    /** The frame's type byte ({@link FrameType}). */
    int type();

    /**
     * Device to server, first frame of every connection. {@code version} is the protocol version
     * the device speaks on this connection (the version byte of every frame of the connection):
     * {@link Protocol#VERSION} (1), or {@link Protocol#VERSION_COMMANDS} (2) for a device that
     * takes commands.
     */
    record Hello(int version, int heartbeatMillis, long resumeSession, String deviceId, byte[] credential)
            implements Frame {
        public Hello {
            Protocol.checkVersion(version);
            if (heartbeatMillis < 0) {
                throw new IllegalArgumentException("heartbeatMillis: " + heartbeatMillis + " (expected: >= 0)");
            }
            Protocol.checkDeviceId(deviceId);
            Objects.requireNonNull(credential, "credential");
            if (credential.length > Protocol.MAX_CREDENTIAL_LENGTH) {
                throw new IllegalArgumentException("credential length: " + credential.length
                        + " (expected: <= " + Protocol.MAX_CREDENTIAL_LENGTH + ")");
            }
        }

        /** A version 1 HELLO: a device that does not take commands. */
        public Hello(int heartbeatMillis, long resumeSession, String deviceId, byte[] credential) {
            this(Protocol.VERSION, heartbeatMillis, resumeSession, deviceId, credential);
        }

        /** Whether the device takes commands (version 2 or later). */
        public boolean commands() {
            return version >= Protocol.VERSION_COMMANDS;
        }

        @Override
        public int type() {
            return FrameType.HELLO;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Hello h && h.version == version && h.heartbeatMillis == heartbeatMillis && h.resumeSession == resumeSession
                    && h.deviceId.equals(deviceId) && Arrays.equals(h.credential, credential);
        }

        @Override
        public int hashCode() {
            return Objects.hash(version, heartbeatMillis, resumeSession, deviceId, Arrays.hashCode(credential));
        }

        @Override
        public String toString() {
            // The credential is a secret: never print it.
            return "Hello[version=" + version + ", heartbeatMillis=" + heartbeatMillis + ", resumeSession=" + resumeSession
                    + ", deviceId=" + deviceId + ", credential=<" + credential.length + " bytes>]";
        }
    }

    /** Server to device, answer to a valid HELLO. */
    record Welcome(long sessionId, int heartbeatMillis, int timeoutMillis, long lastSeq, int maxFrameLength,
                   int flags) implements Frame {
        /** The server does not answer PING with PONG. */
        public static final int FLAG_QUIET = 0x01;
        /** HELLO's resume session matched the device's previous session. */
        public static final int FLAG_RESUMED = 0x02;

        public Welcome {
            if (heartbeatMillis < 0 || timeoutMillis < 0 || lastSeq < 0 || maxFrameLength < Protocol.MIN_MAX_FRAME_LENGTH
                    || (flags & ~0xFF) != 0) {
                throw new IllegalArgumentException("invalid WELCOME field");
            }
        }

        public boolean quiet() {
            return (flags & FLAG_QUIET) != 0;
        }

        public boolean resumed() {
            return (flags & FLAG_RESUMED) != 0;
        }

        @Override
        public int type() {
            return FrameType.WELCOME;
        }
    }

    /** Heartbeat, device to server. */
    record Ping() implements Frame {
        public static final Ping INSTANCE = new Ping();

        @Override
        public int type() {
            return FrameType.PING;
        }
    }

    /** Answer to PING, server to device (not sent in quiet mode). */
    record Pong() implements Frame {
        public static final Pong INSTANCE = new Pong();

        @Override
        public int type() {
            return FrameType.PONG;
        }
    }

    /** A message, either direction; {@code seq} counts from 1 per device and direction. */
    record Data(long seq, byte[] payload) implements Frame {
        public Data {
            if (seq < 1) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: >= 1)");
            }
            Objects.requireNonNull(payload, "payload");
        }

        @Override
        public int type() {
            return FrameType.DATA;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && d.seq == seq && Arrays.equals(d.payload, payload);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(seq) * 31 + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "Data[seq=" + seq + ", payload=<" + payload.length + " bytes>]";
        }
    }

    /** Cumulative acknowledgement: every DATA with seq &lt;= {@code seq} is stored. */
    record Ack(long seq) implements Frame {
        public Ack {
            if (seq < 0) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: >= 0)");
            }
        }

        @Override
        public int type() {
            return FrameType.ACK;
        }
    }

    /** Goodbye, either direction: why, and when to come back (0 = no hint). */
    record Bye(Reason reason, int reconnectAfterMillis, String text) implements Frame {
        public Bye {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(text, "text");
            if (reconnectAfterMillis < 0) {
                throw new IllegalArgumentException("reconnectAfterMillis: " + reconnectAfterMillis + " (expected: >= 0)");
            }
            if (text.getBytes(StandardCharsets.UTF_8).length > Protocol.MAX_BYE_TEXT_LENGTH) {
                throw new IllegalArgumentException("BYE text longer than " + Protocol.MAX_BYE_TEXT_LENGTH + " bytes");
            }
        }

        public Bye(Reason reason) {
            this(reason, 0, "");
        }

        @Override
        public int type() {
            return FrameType.BYE;
        }
    }

    /**
     * A command, server to device (version 2). {@code seq} counts per device across sessions and
     * restarts of either side; it only grows (canceled or expired commands leave gaps).
     */
    record Command(long seq, byte[] payload) implements Frame {
        public Command {
            if (seq < 1) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: >= 1)");
            }
            Objects.requireNonNull(payload, "payload");
        }

        @Override
        public int type() {
            return FrameType.COMMAND;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Command c && c.seq == seq && Arrays.equals(c.payload, payload);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(seq) * 31 + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "Command[seq=" + seq + ", payload=<" + payload.length + " bytes>]";
        }
    }

    /**
     * Device to server (version 2), cumulative: every COMMAND with seq &lt;= {@code seq} that the
     * device received has been processed and will not be processed again.
     */
    record CommandAck(long seq) implements Frame {
        public CommandAck {
            if (seq < 0) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: >= 0)");
            }
        }

        @Override
        public int type() {
            return FrameType.COMMAND_ACK;
        }
    }

    /**
     * The device's answer to one command (version 2), device to server: {@code status}
     * {@link #SUCCEEDED} or {@link #FAILED}, and bytes for the application. Resent until a
     * RESULT_ACK with the same seq arrives.
     */
    record Result(long seq, int status, byte[] payload) implements Frame {
        public static final int SUCCEEDED = 0;
        public static final int FAILED = 1;

        public Result {
            if (seq < 1) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: >= 1)");
            }
            if (status != SUCCEEDED && status != FAILED) {
                throw new IllegalArgumentException("status: " + status + " (expected: 0 SUCCEEDED or 1 FAILED)");
            }
            Objects.requireNonNull(payload, "payload");
        }

        public boolean succeeded() {
            return status == SUCCEEDED;
        }

        @Override
        public int type() {
            return FrameType.RESULT;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Result r && r.seq == seq && r.status == status && Arrays.equals(r.payload, payload);
        }

        @Override
        public int hashCode() {
            return (Long.hashCode(seq) * 31 + status) * 31 + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "Result[seq=" + seq + ", status=" + (status == SUCCEEDED ? "SUCCEEDED" : "FAILED")
                    + ", payload=<" + payload.length + " bytes>]";
        }
    }

    /** Server to device (version 2): the RESULT of command {@code seq} is stored; stop resending it. */
    record ResultAck(long seq) implements Frame {
        public ResultAck {
            if (seq < 1) {
                throw new IllegalArgumentException("seq: " + seq + " (expected: >= 1)");
            }
        }

        @Override
        public int type() {
            return FrameType.RESULT_ACK;
        }
    }
}
