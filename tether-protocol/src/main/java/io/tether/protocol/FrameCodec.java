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
        } else if (frame instanceof Frame.Command c) {
            return 8 + c.payload().length;
        } else if (frame instanceof Frame.CommandAck || frame instanceof Frame.ResultAck) {
            return 8;
        } else if (frame instanceof Frame.Result r) {
            return 8 + 1 + r.payload().length;
        }
        throw new IllegalArgumentException("unknown frame " + frame);
    }

    /**
     * Writes the whole frame, length prefix included, to {@code out}, with the lowest version
     * byte that has the frame: a HELLO's own version, 1 for the other version 1 types, 2 for the
     * command frames. A connection that speaks version 2 uses {@link #encode(Frame, int, ByteBuf)}.
     */
    public static void encode(Frame frame, ByteBuf out) {
        encode(frame, frame instanceof Frame.Hello h ? h.version() : FrameType.since(frame.type()), out);
    }

    /**
     * Writes the whole frame, length prefix included, to {@code out}, with {@code version} as its
     * version byte: every frame of a connection carries the version its HELLO chose.
     *
     * @throws IllegalArgumentException if the version is not spoken, is older than the frame type,
     *                                  or differs from a HELLO's own version
     */
    public static void encode(Frame frame, int version, ByteBuf out) {
        Protocol.checkVersion(version);
        if (FrameType.since(frame.type()) > version || frame instanceof Frame.Hello h && h.version() != version) {
            throw new IllegalArgumentException(FrameType.name(frame.type()) + " cannot be sent in version " + version);
        }
        int body = bodyLength(frame);
        out.ensureWritable(Protocol.LENGTH_FIELD_SIZE + Protocol.HEADER_SIZE + body);
        out.writeInt(Protocol.HEADER_SIZE + body);
        out.writeByte(version);
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
        } else if (frame instanceof Frame.Command c) {
            out.writeLong(c.seq());
            out.writeBytes(c.payload());
        } else if (frame instanceof Frame.CommandAck a) {
            out.writeLong(a.seq());
        } else if (frame instanceof Frame.Result r) {
            out.writeLong(r.seq());
            out.writeByte(r.status());
            out.writeBytes(r.payload());
        } else if (frame instanceof Frame.ResultAck a) {
            out.writeLong(a.seq());
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
        int version = checkVersion(in.readUnsignedByte());
        int type = in.readUnsignedByte();
        return decodeBody(version, type, in.readSlice((int) length - Protocol.HEADER_SIZE));
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

    static int checkVersion(int version) {
        if (version < Protocol.VERSION || version > Protocol.MAX_VERSION) {
            throw new ProtocolException(Reason.UNSUPPORTED_VERSION,
                    "frame version " + version + " (expected: " + Protocol.VERSION + " to " + Protocol.MAX_VERSION + ")");
        }
        return version;
    }

    /**
     * Decodes a frame body. {@code body} holds exactly the body bytes; every byte must be used.
     *
     * @throws ProtocolException PROTOCOL_ERROR for an unknown type, a field out of range, a short
     *                           body or trailing bytes
     */
    public static Frame decodeBody(int type, ByteBuf body) {
        return decodeBody(Protocol.VERSION, type, body);
    }

    /**
     * Decodes a frame body that arrived with {@code version} as its version byte: a type that the
     * version does not have (a COMMAND in version 1) is an unknown type.
     *
     * @throws ProtocolException PROTOCOL_ERROR for an unknown type, a field out of range, a short
     *                           body or trailing bytes
     */
    public static Frame decodeBody(int version, int type, ByteBuf body) {
        int since = FrameType.since(type);
        if (since == 0 || since > version) {
            throw new ProtocolException(Reason.PROTOCOL_ERROR, "unknown frame type " + FrameType.name(type)
                    + (since == 0 ? "" : " in version " + version));
        }
        try {
            Frame frame = decodeFields(version, type, body);
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

    private static Frame decodeFields(int version, int type, ByteBuf in) {
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
                return new Frame.Hello(version, (int) heartbeat, resume, id, cred);
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
            case FrameType.COMMAND: {
                long seq = in.readLong();
                byte[] payload = new byte[in.readableBytes()];
                in.readBytes(payload);
                return new Frame.Command(seq, payload);
            }
            case FrameType.COMMAND_ACK:
                return new Frame.CommandAck(in.readLong());
            case FrameType.RESULT: {
                long seq = in.readLong();
                int status = in.readUnsignedByte();
                byte[] payload = new byte[in.readableBytes()];
                in.readBytes(payload);
                return new Frame.Result(seq, status, payload);
            }
            case FrameType.RESULT_ACK:
                return new Frame.ResultAck(in.readLong());
            default:
                throw new ProtocolException(Reason.PROTOCOL_ERROR, "unknown frame type " + FrameType.name(type));
        }
    }
}
