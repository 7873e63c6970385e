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

    /** Device to server, first frame of every connection. */
    record Hello(int heartbeatMillis, long resumeSession, String deviceId, byte[] credential) implements Frame {
        public Hello {
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

        @Override
        public int type() {
            return FrameType.HELLO;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Hello h && h.heartbeatMillis == heartbeatMillis && h.resumeSession == resumeSession
                    && h.deviceId.equals(deviceId) && Arrays.equals(h.credential, credential);
        }

        @Override
        public int hashCode() {
            return Objects.hash(heartbeatMillis, resumeSession, deviceId, Arrays.hashCode(credential));
        }

        @Override
        public String toString() {
            // The credential is a secret: never print it.
            return "Hello[heartbeatMillis=" + heartbeatMillis + ", resumeSession=" + resumeSession
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
}
