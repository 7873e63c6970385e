package io.tether.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * Encodes and decodes frames. Stateless; all methods are thread-safe.
 *
 * <p>Wire layout (big-endian): {@code length:u32 | version:u8 | type:u8 | body}, where
 * {@code length} counts the version byte, the type byte and the body.
 */
public final class FrameCodec {

    private FrameCodec() {
    }

    /** Bytes the frame occupies on the wire, length prefix included. */
    public static int encodedLength(Frame frame) {
        return Protocol.LENGTH_FIELD_SIZE + Protocol.HEADER_SIZE + bodyLength(frame);
    }

    private static int bodyLength(Frame frame) {
        if (frame instanceof Frame.Data d) {
            return 8 + d.payload().length;
        } else if (frame instanceof Frame.Ack) {
            return 8;
        } else if (frame instanceof Frame.Ping || frame instanceof Frame.Pong) {
            return 0;
        } else if (frame instanceof Frame.Hello h) {
            return 4 + 8 + 1 + h.deviceId().length() + 2 + h.credential().length;
        } else if (frame instanceof Frame.Welcome) {
            return 8 + 4 + 4 + 8 + 4 + 1;
        } else if (frame instanceof Frame.Bye b) {
            return 1 + 4 + 1 + b.text().getBytes(StandardCharsets.UTF_8).length;
        }
        throw new IllegalArgumentException("unknown frame " + frame);
    }

    /** Writes the whole frame, length prefix included, to {@code out}. */
    public static void encode(Frame frame, ByteBuf out) {
        int body = bodyLength(frame);
        out.ensureWritable(Protocol.LENGTH_FIELD_SIZE + Protocol.HEADER_SIZE + body);
        out.writeInt(Protocol.HEADER_SIZE + body);
        out.writeByte(Protocol.VERSION);
        out.writeByte(frame.type());
        if (frame instanceof Frame.Data d) {
            out.writeLong(d.seq());
            out.writeBytes(d.payload());
        } else if (frame instanceof Frame.Ack a) {
            out.writeLong(a.seq());
        } else if (frame instanceof Frame.Hello h) {
            out.writeInt(h.heartbeatMillis());
            out.writeLong(h.resumeSession());
            out.writeByte(h.deviceId().length());
            out.writeCharSequence(h.deviceId(), StandardCharsets.US_ASCII);
            out.writeShort(h.credential().length);
            out.writeBytes(h.credential());
        } else if (frame instanceof Frame.Welcome w) {
            out.writeLong(w.sessionId());
            out.writeInt(w.heartbeatMillis());
            out.writeInt(w.timeoutMillis());
            out.writeLong(w.lastSeq());
            out.writeInt(w.maxFrameLength());
            out.writeByte(w.flags());
        } else if (frame instanceof Frame.Bye b) {
            byte[] text = b.text().getBytes(StandardCharsets.UTF_8);
            out.writeByte(b.reason().code());
            out.writeInt(b.reconnectAfterMillis());
            out.writeByte(text.length);
            out.writeBytes(text);
        }
    }

    /**
     * Decodes one whole frame, length prefix included, from {@code in}, using the default maximum
     * frame length. Meant for tests and tools; the server uses {@link FrameDecoder}.
     *
     * @throws ProtocolException if the bytes are not exactly one valid frame
     */
    public static Frame decode(ByteBuf in) {
        if (in.readableBytes() < Protocol.LENGTH_FIELD_SIZE + Protocol.HEADER_SIZE) {
            throw new ProtocolException(Reason.PROTOCOL_ERROR, "truncated frame: " + in.readableBytes() + " bytes");
        }
        long length = checkLength(in.readUnsignedInt(), Protocol.DEFAULT_MAX_FRAME_LENGTH);
        if (in.readableBytes() != length) {
            throw new ProtocolException(Reason.PROTOCOL_ERROR,
                    "length field says " + length + " bytes, " + in.readableBytes() + " present");
        }
        checkVersion(in.readUnsignedByte());
        int type = in.readUnsignedByte();
        return decodeBody(type, in.readSlice((int) length - Protocol.HEADER_SIZE));
    }

    /**
     * Checks a frame's length field against the maximum.
     *
     * @return the length, if valid
     * @throws ProtocolException FRAME_TOO_LARGE above the maximum, PROTOCOL_ERROR below the header size
     */
    static long checkLength(long length, int maxFrameLength) {
        if (length > maxFrameLength) {
            throw new ProtocolException(Reason.FRAME_TOO_LARGE,
                    "frame length " + length + " exceeds the maximum " + maxFrameLength);
        }
        if (length < Protocol.HEADER_SIZE) {
            throw new ProtocolException(Reason.PROTOCOL_ERROR,
                    "frame length " + length + " is smaller than the " + Protocol.HEADER_SIZE + "-byte header");
        }
        return length;
    }

    static void checkVersion(int version) {
        if (version != Protocol.VERSION) {
            throw new ProtocolException(Reason.UNSUPPORTED_VERSION,
                    "frame version " + version + " (expected: " + Protocol.VERSION + ")");
        }
    }

    /**
     * Decodes a frame body. {@code body} holds exactly the body bytes; every byte must be used.
     *
     * @throws ProtocolException PROTOCOL_ERROR for an unknown type, a field out of range, a short
     *                           body or trailing bytes
     */
    public static Frame decodeBody(int type, ByteBuf body) {
        try {
            Frame frame = decodeFields(type, body);
            if (body.isReadable()) {
                throw new ProtocolException(Reason.PROTOCOL_ERROR,
                        body.readableBytes() + " trailing bytes after " + FrameType.name(type));
            }
            return frame;
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException(Reason.PROTOCOL_ERROR, FrameType.name(type) + " body too short");
        } catch (IllegalArgumentException e) {
            throw new ProtocolException(Reason.PROTOCOL_ERROR, FrameType.name(type) + ": " + e.getMessage());
        }
    }

    /**
     * Decodes BYE text, refusing malformed UTF-8. A lenient decoder would turn each bad byte into
     * U+FFFD (three bytes), so a valid 255-byte text could be rejected as "longer than 255 bytes"
     * while a shorter one was silently altered; refusing it makes the rule the same for every length.
     */
    private static String strictUtf8(byte[] raw) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("BYE text is not valid UTF-8");
        }
    }

    private static Frame decodeFields(int type, ByteBuf in) {
        switch (type) {
            case FrameType.DATA: {
                long seq = in.readLong();
                byte[] payload = new byte[in.readableBytes()];
                in.readBytes(payload);
                return new Frame.Data(seq, payload);
            }
            case FrameType.ACK:
                return new Frame.Ack(in.readLong());
            case FrameType.PING:
                return Frame.Ping.INSTANCE;
            case FrameType.PONG:
                return Frame.Pong.INSTANCE;
            case FrameType.HELLO: {
                long heartbeat = in.readUnsignedInt();
                if (heartbeat > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("heartbeat_ms " + heartbeat + " (expected: <= 2^31-1)");
                }
                long resume = in.readLong();
                int idLength = in.readUnsignedByte();
                String id = in.readCharSequence(idLength, StandardCharsets.US_ASCII).toString();
                int credLength = in.readUnsignedShort();
                if (credLength > Protocol.MAX_CREDENTIAL_LENGTH) {
                    throw new IllegalArgumentException("cred_len " + credLength
                            + " (expected: <= " + Protocol.MAX_CREDENTIAL_LENGTH + ")");
                }
                byte[] cred = new byte[credLength];
                in.readBytes(cred);
                return new Frame.Hello((int) heartbeat, resume, id, cred);
            }
            case FrameType.WELCOME: {
                long session = in.readLong();
                long heartbeat = in.readUnsignedInt();
                long timeout = in.readUnsignedInt();
                long lastSeq = in.readLong();
                long maxFrame = in.readUnsignedInt();
                int flags = in.readUnsignedByte();
                if (heartbeat > Integer.MAX_VALUE || timeout > Integer.MAX_VALUE || maxFrame > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("field above 2^31-1");
                }
                return new Frame.Welcome(session, (int) heartbeat, (int) timeout, lastSeq, (int) maxFrame, flags);
            }
            case FrameType.BYE: {
                int code = in.readUnsignedByte();
                Reason reason = Reason.ofCode(code);
                if (reason == null) {
                    throw new IllegalArgumentException("unknown reason code 0x" + Integer.toHexString(code));
                }
                long after = in.readUnsignedInt();
                if (after > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("reconnect_after_ms " + after + " (expected: <= 2^31-1)");
                }
                int textLength = in.readUnsignedByte();
                byte[] raw = new byte[textLength];
                in.readBytes(raw);
                return new Frame.Bye(reason, (int) after, strictUtf8(raw));
            }
            default:
                throw new ProtocolException(Reason.PROTOCOL_ERROR, "unknown frame type " + FrameType.name(type));
        }
    }
}
