package io.tether.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class FrameCodecTest {

    static List<Frame> everyFrameType() {
        return List.of(
                new Frame.Hello(30_000, 42, "meter-0042", "s3cr3t".getBytes(StandardCharsets.US_ASCII)),
                new Frame.Welcome(43, 30_000, 45_000, 17, 65_536, Frame.Welcome.FLAG_QUIET),
                Frame.Ping.INSTANCE,
                Frame.Pong.INSTANCE,
                new Frame.Data(1, "x".getBytes(StandardCharsets.US_ASCII)),
                new Frame.Ack(1),
                new Frame.Bye(Reason.TAKEN_OVER, 1_000, "taken over"));
    }

    @ParameterizedTest
    @MethodSource("everyFrameType")
    void everyFrameType_roundTrips(Frame frame) {
        assertThat(roundTrip(frame)).isEqualTo(frame);
    }

    @ParameterizedTest
    @MethodSource("everyFrameType")
    void encodedLength_isTheNumberOfBytesWritten(Frame frame) {
        assertThat(encode(frame)).hasSize(FrameCodec.encodedLength(frame));
    }

    @Test
    void helloWithLongestIdAndCredential_roundTripsAndFitsTheSmallestAllowedMaximum() {
        Frame hello = new Frame.Hello(Integer.MAX_VALUE, -1L, "d".repeat(128), filled(1024));

        assertThat(roundTrip(hello)).isEqualTo(hello);
        assertThat(FrameCodec.encodedLength(hello))
                .isEqualTo(Protocol.LENGTH_FIELD_SIZE + Protocol.MIN_MAX_FRAME_LENGTH);
    }

    @Test
    void helloWithEveryPrintableAsciiCharacterInTheId_roundTrips() {
        StringBuilder id = new StringBuilder();
        for (char c = 0x21; c <= 0x7E; c++) {
            id.append(c);
        }
        Frame hello = new Frame.Hello(0, 0, id.toString(), new byte[0]);

        assertThat(roundTrip(hello)).isEqualTo(hello);
    }

    @Test
    void welcomeWithLargestFieldValues_roundTrips() {
        Frame welcome = new Frame.Welcome(-1L, Integer.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE,
                Integer.MAX_VALUE, 0xFF);

        assertThat(roundTrip(welcome)).isEqualTo(welcome);
    }

    @Test
    void dataFillingTheDefaultMaximumFrame_roundTrips() {
        int payload = Protocol.DEFAULT_MAX_FRAME_LENGTH - Protocol.HEADER_SIZE - 8;
        Frame data = new Frame.Data(Long.MAX_VALUE, filled(payload));

        assertThat(roundTrip(data)).isEqualTo(data);
        assertThat(FrameCodec.encodedLength(data))
                .isEqualTo(Protocol.LENGTH_FIELD_SIZE + Protocol.DEFAULT_MAX_FRAME_LENGTH);
    }

    @Test
    void dataOneByteOverTheDefaultMaximumFrame_isRefusedAsTooLarge() {
        Frame data = new Frame.Data(1, new byte[Protocol.DEFAULT_MAX_FRAME_LENGTH - Protocol.HEADER_SIZE - 8 + 1]);

        assertThat(decodeFailure(encode(data)).reason()).isEqualTo(Reason.FRAME_TOO_LARGE);
    }

    @Test
    void byeWithLongestAsciiText_roundTrips() {
        Frame bye = new Frame.Bye(Reason.SERVER_SHUTDOWN, Integer.MAX_VALUE, "t".repeat(255));

        assertThat(roundTrip(bye)).isEqualTo(bye);
    }

    @Test
    void byeWithLongestMultiByteText_roundTrips() {
        // 85 euro signs of 3 UTF-8 bytes each: 255 bytes, 85 chars.
        Frame bye = new Frame.Bye(Reason.NORMAL, 0, "\u20AC".repeat(85));

        assertThat(roundTrip(bye)).isEqualTo(bye);
    }

    @ParameterizedTest
    @EnumSource(Reason.class)
    void byeWithEveryAssignedReason_roundTrips(Reason reason) {
        Frame bye = new Frame.Bye(reason);

        assertThat(roundTrip(bye)).isEqualTo(bye);
    }

    @Test
    void byeTextOfInvalidUtf8_isRefusedEvenWhenReplacementCharactersWouldOverflowTheLimit() {
        // 100 bytes 0xFF: a lenient decoder would make 300 bytes of U+FFFD out of them.
        ByteBuf frame = Unpooled.buffer();
        frame.writeInt(2 + 6 + 100).writeByte(Protocol.VERSION).writeByte(FrameType.BYE);
        frame.writeByte(Reason.NORMAL.code()).writeInt(0).writeByte(100);
        for (int i = 0; i < 100; i++) {
            frame.writeByte(0xFF);
        }

        ProtocolException e = decodeFailure(toBytes(frame));

        assertThat(e.reason()).isEqualTo(Reason.PROTOCOL_ERROR);
        assertThat(e.getMessage()).contains("UTF-8");
    }

    @Test
    void decodeOfAFrameFollowedByExtraBytes_isAProtocolError() {
        byte[] ping = encode(Frame.Ping.INSTANCE);
        byte[] withExtra = Arrays.copyOf(ping, ping.length + 1);

        assertThat(decodeFailure(withExtra).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    @Test
    void decodeOfFewerBytesThanTheLengthFieldSays_isAProtocolError() {
        byte[] data = encode(new Frame.Data(1, new byte[10]));

        assertThat(decodeFailure(Arrays.copyOf(data, data.length - 1)).reason()).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "has space", "tab\there", "caf\u00e9", "nul\u0000", "del\u007f"})
    void helloWithInvalidDeviceId_isRejectedAtConstruction(String id) {
        assertThatThrownBy(() -> new Frame.Hello(0, 0, id, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("deviceId");
    }

    @Test
    void helloWithDeviceIdOf129Characters_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Hello(0, 0, "d".repeat(129), new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("deviceId");
    }

    @Test
    void helloWithCredentialOf1025Bytes_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Hello(0, 0, "d", new byte[1025]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("credential");
    }

    @Test
    void helloWithNegativeHeartbeat_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Hello(-1, 0, "d", new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void helloToString_doesNotRevealTheCredential() {
        Frame hello = new Frame.Hello(0, 0, "d", "topsecret".getBytes(StandardCharsets.US_ASCII));

        assertThat(hello.toString()).doesNotContain("topsecret").contains("9 bytes");
    }

    @Test
    void byeWithTextOf256Utf8Bytes_isRejectedAtConstructionThoughItHasOnly128Chars() {
        assertThatThrownBy(() -> new Frame.Bye(Reason.NORMAL, 0, "\u00e9".repeat(128)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void dataWithSeqZero_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Data(0, new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void ackWithNegativeSeq_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Ack(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void welcomeWithMaxFrameBelowTheProtocolMinimum_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Welcome(1, 0, 0, 0, Protocol.MIN_MAX_FRAME_LENGTH - 1, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void welcomeWithFlagsAboveOneByte_isRejectedAtConstruction() {
        assertThatThrownBy(() -> new Frame.Welcome(1, 0, 0, 0, Protocol.DEFAULT_MAX_FRAME_LENGTH, 0x100))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Frame roundTrip(Frame frame) {
        ByteBuf buf = Unpooled.wrappedBuffer(encode(frame));
        try {
            return FrameCodec.decode(buf);
        } finally {
            buf.release();
        }
    }

    private static ProtocolException decodeFailure(byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> FrameCodec.decode(buf));
            assertThat(e).as("decoding must fail").isNotNull();
            return e;
        } finally {
            buf.release();
        }
    }

    private static byte[] encode(Frame frame) {
        ByteBuf buf = Unpooled.buffer();
        FrameCodec.encode(frame, buf);
        return toBytes(buf);
    }

    private static byte[] toBytes(ByteBuf buf) {
        try {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            return bytes;
        } finally {
            buf.release();
        }
    }

    private static byte[] filled(int size) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) (i * 31 + 7);
        }
        return bytes;
    }
}
