package io.tether.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Keeps docs/PROTOCOL.md and the codec in step: every test vector in the document is decoded and
 * encoded by the real code, so a change to either side that breaks the other fails the build.
 */
class ProtocolDocVectorsTest {

    /** Surefire runs with the module directory as working directory; the document is at the repository root. */
    private static final Path DOC = Paths.get("..", "docs", "PROTOCOL.md");

    /** The frame each valid vector must decode to, keyed by the vector's NAME in the document. */
    private static final Map<String, Frame> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("HELLO_WITH_CREDENTIAL",
                new Frame.Hello(30_000, 42, "meter-0042", "s3cr3t".getBytes(StandardCharsets.US_ASCII)));
        EXPECTED.put("HELLO_NO_CREDENTIAL", new Frame.Hello(0, 0, "t1", new byte[0]));
        EXPECTED.put("WELCOME_QUIET_RESUMED", new Frame.Welcome(43, 30_000, 45_000, 17, 65_536,
                Frame.Welcome.FLAG_QUIET | Frame.Welcome.FLAG_RESUMED));
        EXPECTED.put("WELCOME_HEARTBEATS_OFF", new Frame.Welcome(0x8000000000000001L, 0, 0, 0, 65_536, 0));
        EXPECTED.put("PING", Frame.Ping.INSTANCE);
        EXPECTED.put("PONG", Frame.Pong.INSTANCE);
        EXPECTED.put("DATA_WITH_PAYLOAD", new Frame.Data(18, "hello".getBytes(StandardCharsets.US_ASCII)));
        EXPECTED.put("DATA_BINARY_PAYLOAD",
                new Frame.Data(0x0102030405060708L, new byte[] {0x00, (byte) 0xFF, 0x7F, (byte) 0x80}));
        EXPECTED.put("DATA_EMPTY_PAYLOAD", new Frame.Data(1, new byte[0]));
        EXPECTED.put("ACK", new Frame.Ack(18));
        EXPECTED.put("ACK_NOTHING_STORED", new Frame.Ack(0));
        EXPECTED.put("BYE_WITH_TEXT_AND_HINT", new Frame.Bye(Reason.HEARTBEAT_TIMEOUT, 5_000, "no frame for 45000 ms"));
        EXPECTED.put("BYE_UTF8_TEXT", new Frame.Bye(Reason.SERVER_SHUTDOWN, 30_000, "maintenance \u2014 back soon"));
        EXPECTED.put("BYE_NORMAL_NO_TEXT", new Frame.Bye(Reason.NORMAL));
        EXPECTED.put("BYE_UNSUPPORTED_VERSION", new Frame.Bye(Reason.UNSUPPORTED_VERSION));
        // Version 2: each vector is encoded with its own version byte (Vector.version()).
        EXPECTED.put("HELLO_V2", new Frame.Hello(Protocol.VERSION_COMMANDS, 30_000, 0, "t1", new byte[0]));
        EXPECTED.put("WELCOME_V2", new Frame.Welcome(44, 30_000, 45_000, 0, 65_536, 0));
        EXPECTED.put("PING_V2", Frame.Ping.INSTANCE);
        EXPECTED.put("COMMAND_WITH_PAYLOAD", new Frame.Command(5, "unlock".getBytes(StandardCharsets.US_ASCII)));
        EXPECTED.put("COMMAND_EMPTY_PAYLOAD_MAX_SEQ", new Frame.Command(Long.MAX_VALUE, new byte[0]));
        EXPECTED.put("COMMAND_ACK", new Frame.CommandAck(5));
        EXPECTED.put("COMMAND_ACK_NOTHING_PROCESSED", new Frame.CommandAck(0));
        EXPECTED.put("RESULT_SUCCEEDED",
                new Frame.Result(5, Frame.Result.SUCCEEDED, "ok".getBytes(StandardCharsets.US_ASCII)));
        EXPECTED.put("RESULT_FAILED_EMPTY_PAYLOAD", new Frame.Result(6, Frame.Result.FAILED, new byte[0]));
        EXPECTED.put("RESULT_ACK", new Frame.ResultAck(5));
    }

    /** Malformed inputs the protocol brief requires the document to show. */
    private static final List<String> REQUIRED_INVALID = List.of(
            "LENGTH_TOO_LARGE", "LENGTH_ONE", "VERSION_3", "UNKNOWN_TYPE_7F", "HELLO_EMPTY_ID",
            "HELLO_CONTROL_CHAR_IN_ID", "ACK_TRAILING_BYTE", "DATA_TRUNCATED_BODY", "BYE_UNKNOWN_REASON",
            "HELLO_V2_THEN_PING_V1", "COMMAND_ACK_IN_VERSION_1", "RESULT_STATUS_2", "COMMAND_SEQ_ZERO",
            "RESULT_ACK_SEQ_ZERO", "RESULT_TRUNCATED");

    private record Vector(String name, byte[] bytes, String rest) {
        /** The version byte (offset 4) of the vector's first frame: the version of its connection. */
        int version() {
            return bytes[Protocol.LENGTH_FIELD_SIZE] & 0xFF;
        }
    }

    @Test
    void docVectors_matchTheFramesThisTestKnows() throws IOException {
        List<String> names = vectors("vectors").stream().map(Vector::name).toList();

        assertThat(names).doesNotHaveDuplicates();
        assertThat(names).containsExactlyInAnyOrderElementsOf(EXPECTED.keySet());
    }

    @Test
    void docVectors_coverEveryFrameType() throws IOException {
        List<Integer> types = vectors("vectors").stream().map(v -> v.bytes()[5] & 0xFF).distinct().toList();

        assertThat(types).containsExactlyInAnyOrder(FrameType.HELLO, FrameType.WELCOME, FrameType.PING,
                FrameType.PONG, FrameType.DATA, FrameType.ACK, FrameType.BYE, FrameType.COMMAND,
                FrameType.COMMAND_ACK, FrameType.RESULT, FrameType.RESULT_ACK);
    }

    @Test
    void docVectors_showEveryVersion() throws IOException {
        List<Integer> versions = vectors("vectors").stream().map(Vector::version).distinct().toList();

        assertThat(versions).containsExactlyInAnyOrder(Protocol.VERSION, Protocol.VERSION_COMMANDS);
    }

    @TestFactory
    Stream<DynamicTest> docVector_decodesToItsFrame() throws IOException {
        return vectors("vectors").stream().filter(v -> EXPECTED.containsKey(v.name()))
                .map(v -> DynamicTest.dynamicTest(v.name(), () -> {
                    ByteBuf in = Unpooled.wrappedBuffer(v.bytes());
                    try {
                        assertThat(FrameCodec.decode(in)).isEqualTo(EXPECTED.get(v.name()));
                    } finally {
                        in.release();
                    }
                }));
    }

    @TestFactory
    Stream<DynamicTest> docVector_isExactlyWhatTheEncoderWrites() throws IOException {
        return vectors("vectors").stream().filter(v -> EXPECTED.containsKey(v.name()))
                .map(v -> DynamicTest.dynamicTest(v.name(), () -> {
                    Frame frame = EXPECTED.get(v.name());
                    ByteBuf out = Unpooled.buffer();
                    try {
                        FrameCodec.encode(frame, v.version(), out);
                        assertThat(ByteBufUtil.hexDump(out)).isEqualTo(ByteBufUtil.hexDump(v.bytes()));
                        assertThat(FrameCodec.encodedLength(frame)).isEqualTo(v.bytes().length);
                    } finally {
                        out.release();
                    }
                }));
    }

    @TestFactory
    Stream<DynamicTest> docVector_decodesTheSameThroughTheStreamDecoder() throws IOException {
        return vectors("vectors").stream().filter(v -> EXPECTED.containsKey(v.name()))
                .map(v -> DynamicTest.dynamicTest(v.name(), () -> {
                    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH));
                    try {
                        ch.writeInbound(Unpooled.wrappedBuffer(v.bytes()));
                        assertThat((Object) ch.readInbound()).isEqualTo(EXPECTED.get(v.name()));
                        assertThat((Object) ch.readInbound()).isNull();
                    } finally {
                        ch.finishAndReleaseAll();
                    }
                }));
    }

    @Test
    void docInvalidVectors_includeEveryRequiredCase() throws IOException {
        List<String> names = vectors("invalid-vectors").stream().map(Vector::name).toList();

        assertThat(names).doesNotHaveDuplicates();
        assertThat(names).containsAll(REQUIRED_INVALID);
    }

    @TestFactory
    Stream<DynamicTest> docInvalidVector_isRefusedWithItsDocumentedReason() throws IOException {
        return vectors("invalid-vectors").stream().map(v -> DynamicTest.dynamicTest(v.name(), () -> {
            Reason expected = Reason.valueOf(v.rest().split("\\|", 2)[0].trim());
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH));
            ByteBuf in = Unpooled.wrappedBuffer(v.bytes());
            ByteBuf valid = Unpooled.buffer();
            try {
                Throwable thrown = catchThrowable(() -> ch.writeInbound(in));

                assertThat(thrown).isInstanceOf(DecoderException.class)
                        .cause().isInstanceOf(ProtocolException.class);
                assertThat(((ProtocolException) thrown.getCause()).reason()).isEqualTo(expected);
                // Frames before the invalid one are decoded; re-encoded, they are exactly the bytes
                // before it, so the invalid frame itself never came out (most vectors: none).
                for (Object frame; (frame = ch.readInbound()) != null; ) {
                    FrameCodec.encode((Frame) frame, v.version(), valid);
                }
                assertThat(valid.readableBytes()).isLessThan(v.bytes().length);
                assertThat(ByteBufUtil.hexDump(v.bytes(), 0, valid.readableBytes())).isEqualTo(ByteBufUtil.hexDump(valid));
                assertThat(in.refCnt()).isZero();
            } finally {
                valid.release();
                ch.finishAndReleaseAll();
            }
        }));
    }

    /** Parses the fenced block with the given info string: lines {@code NAME | hex | rest}. */
    private static List<Vector> vectors(String infoString) throws IOException {
        List<String> lines = Files.readAllLines(DOC, StandardCharsets.UTF_8);
        int start = lines.indexOf("```" + infoString);
        assertThat(start).as("a ```%s block in %s", infoString, DOC.toAbsolutePath()).isNotNegative();
        List<Vector> vectors = new ArrayList<>();
        for (int i = start + 1; ; i++) {
            assertThat(i).as("end of the ```%s block", infoString).isLessThan(lines.size());
            String line = lines.get(i).trim();
            if (line.equals("```")) {
                break;
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\|", 3);
            assertThat(parts).as("vector line %d: %s", i + 1, line).hasSize(3);
            String hex = parts[1].replaceAll("\\s+", "");
            assertThat(hex).as("hex of %s", parts[0].trim()).matches("([0-9a-fA-F]{2})+");
            vectors.add(new Vector(parts[0].trim(), ByteBufUtil.decodeHexDump(hex), parts[2].trim()));
        }
        assertThat(vectors).as("vectors in the ```%s block", infoString).isNotEmpty();
        return vectors;
    }
}
