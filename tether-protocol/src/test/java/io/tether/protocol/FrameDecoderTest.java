package io.tether.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

class FrameDecoderTest {

    private static final Frame HELLO = new Frame.Hello(30_000, 42, "meter-0042",
            "s3cr3t".getBytes(StandardCharsets.US_ASCII));
    private static final Frame WELCOME = new Frame.Welcome(43, 30_000, 45_000, 17, 65_536, Frame.Welcome.FLAG_QUIET);
    private static final Frame DATA = new Frame.Data(18, "hello".getBytes(StandardCharsets.US_ASCII));
    private static final Frame BYE = new Frame.Bye(Reason.SERVER_SHUTDOWN, 5_000, "bye");

    /** Every buffer a test feeds in, so each test can check the decoder released them all. */
    private final List<ByteBuf> fed = new ArrayList<>();
    private EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH));

    @AfterEach
    void releaseAndCheckForLeaks() {
        channel.finishAndReleaseAll();
        assertThat(fed).as("input buffers still referenced").allSatisfy(b -> assertThat(b.refCnt()).isZero());
    }

    @Test
    void frameSplitAtEveryByteBoundary_decodesToTheSameFrame() {
        for (Frame frame : List.of(HELLO, WELCOME, DATA, BYE, Frame.Ping.INSTANCE)) {
            byte[] bytes = encode(frame);
            for (int split = 1; split < bytes.length; split++) {
                useDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH);

                write(bytes, 0, split);
                assertThat((Object) channel.readInbound()).as("%s after %d bytes", frame, split).isNull();
                write(bytes, split, bytes.length - split);
                assertThat((Object) channel.readInbound()).as("%s split at %d", frame, split).isEqualTo(frame);
            }
        }
    }

    @Test
    void frameDribbledByteByByte_isEmittedOnlyWhenItsLastByteArrives() {
        byte[] bytes = encode(HELLO);

        for (int i = 0; i < bytes.length - 1; i++) {
            write(bytes, i, 1);
            assertThat((Object) channel.readInbound()).as("after byte %d", i).isNull();
        }
        write(bytes, bytes.length - 1, 1);

        assertThat((Object) channel.readInbound()).isEqualTo(HELLO);
    }

    @Test
    void twoFramesInOneBuffer_decodeAsTwoFramesInOrder() {
        byte[] first = encode(DATA);
        byte[] second = encode(Frame.Ping.INSTANCE);
        byte[] both = new byte[first.length + second.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(second, 0, both, first.length, second.length);

        write(both, 0, both.length);

        assertThat((Object) channel.readInbound()).isEqualTo(DATA);
        assertThat((Object) channel.readInbound()).isEqualTo(Frame.Ping.INSTANCE);
        assertThat((Object) channel.readInbound()).isNull();
    }

    @Test
    void frameFollowedByPartOfTheNext_emitsTheFirstAndWaitsForTheRest() {
        byte[] first = encode(DATA);
        byte[] second = encode(BYE);
        byte[] stream = new byte[first.length + second.length];
        System.arraycopy(first, 0, stream, 0, first.length);
        System.arraycopy(second, 0, stream, first.length, second.length);

        write(stream, 0, first.length + 3);
        assertThat((Object) channel.readInbound()).isEqualTo(DATA);
        assertThat((Object) channel.readInbound()).isNull();
        write(stream, first.length + 3, second.length - 3);

        assertThat((Object) channel.readInbound()).isEqualTo(BYE);
    }

    @Test
    void lengthPrefix0x7FFFFFFF_failsWithFrameTooLargeAsSoonAsItsFourBytesArrive() {
        byte[] prefix = {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};

        write(prefix, 0, 3);
        assertThat((Object) channel.readInbound()).isNull();

        assertThat(reasonOf(() -> write(prefix, 3, 1))).isEqualTo(Reason.FRAME_TOO_LARGE);
    }

    @Test
    void lengthOneAboveTheConfiguredMaximum_failsWithFrameTooLarge() {
        useDecoder(2_000);

        assertThat(reasonOf(() -> write(new byte[] {0, 0, 0x07, (byte) 0xD1}, 0, 4))).isEqualTo(Reason.FRAME_TOO_LARGE);
    }

    @Test
    void frameExactlyAtTheConfiguredMaximum_isAccepted() {
        useDecoder(2_000);
        Frame.Data data = new Frame.Data(1, new byte[2_000 - Protocol.HEADER_SIZE - 8]);

        write(encode(data), 0, FrameCodec.encodedLength(data));

        assertThat((Object) channel.readInbound()).isEqualTo(data);
    }

    @Test
    void firstFrameHello_announcingMoreThanTheLargestHello_failsFromTheLengthFieldAlone() {
        channel.finishAndReleaseAll();
        channel = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH).firstFrameHello());
        int tooLong = Protocol.MAX_HELLO_LENGTH + 1;

        assertThat(reasonOf(() -> write(new byte[] {0, 0, (byte) (tooLong >> 8), (byte) tooLong}, 0, 4)))
                .isEqualTo(Reason.FRAME_TOO_LARGE);
    }

    @Test
    void firstFrameHello_otherType_failsAsSoonAsTheTypeByteArrives() {
        channel.finishAndReleaseAll();
        channel = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH).firstFrameHello());
        byte[] data = encode(new Frame.Data(1, new byte[1_000]));

        write(data, 0, 5);
        assertThat(reasonOf(() -> write(data, 5, 1))).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    @Test
    void firstFrameHello_largestHelloThenLargeData_areBothAccepted() {
        channel.finishAndReleaseAll();
        channel = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH).firstFrameHello());
        Frame.Hello hello = new Frame.Hello(0, 0, "d".repeat(Protocol.MAX_DEVICE_ID_LENGTH),
                new byte[Protocol.MAX_CREDENTIAL_LENGTH]);
        Frame.Data big = new Frame.Data(1, new byte[Protocol.DEFAULT_MAX_FRAME_LENGTH - Protocol.HEADER_SIZE - 8]);
        assertThat(FrameCodec.encodedLength(hello)).isEqualTo(Protocol.LENGTH_FIELD_SIZE + Protocol.MAX_HELLO_LENGTH);

        write(encode(hello), 0, FrameCodec.encodedLength(hello));
        write(encode(big), 0, FrameCodec.encodedLength(big));

        assertThat((Object) channel.readInbound()).isEqualTo(hello);
        assertThat((Object) channel.readInbound()).isEqualTo(big);
    }

    @Test
    void lengthBelowTheHeaderSize_failsWithProtocolErrorBeforeAnyBody() {
        assertThat(reasonOf(() -> write(new byte[] {0, 0, 0, 1}, 0, 4))).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    @Test
    void wrongVersion_failsAsSoonAsTheVersionByteArrives() {
        // Announces a 4,000-byte frame: the decoder must refuse it without waiting for the body.
        byte[] start = {0, 0, 0x0F, (byte) 0xA0, 3};

        write(start, 0, 4);
        assertThat((Object) channel.readInbound()).isNull();

        assertThat(reasonOf(() -> write(start, 4, 1))).isEqualTo(Reason.UNSUPPORTED_VERSION);
    }

    @Test
    void inputAfterAFailure_isDiscardedWithoutFramesOrErrors() {
        reasonOf(() -> write(new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF}, 0, 4));
        byte[] ping = encode(Frame.Ping.INSTANCE);

        write(ping, 0, ping.length);
        write(ping, 0, ping.length);

        assertThat((Object) channel.readInbound()).isNull();
    }

    @Test
    void validFramesBeforeABadOne_areStillDelivered() {
        byte[] data = encode(DATA);
        byte[] bad = {0, 0, 0, 2, 1, 0x7F};
        byte[] stream = new byte[data.length + bad.length];
        System.arraycopy(data, 0, stream, 0, data.length);
        System.arraycopy(bad, 0, stream, data.length, bad.length);

        Reason reason = reasonOf(() -> write(stream, 0, stream.length));

        assertThat(reason).isEqualTo(Reason.PROTOCOL_ERROR);
        assertThat((Object) channel.readInbound()).isEqualTo(DATA);
        assertThat((Object) channel.readInbound()).isNull();
    }

    @Test
    void partialFrameAtClose_producesNothingAndIsReleased() {
        byte[] bytes = encode(DATA);

        write(bytes, 0, bytes.length - 1);

        assertThat(channel.finishAndReleaseAll()).isFalse();
    }

    @Test
    void decodedFrame_holdsNoReferenceToTheInputBuffer() {
        ByteBuf in = ByteBufAllocator.DEFAULT.directBuffer();
        FrameCodec.encode(DATA, in);
        fed.add(in);

        channel.writeInbound(in);
        Frame.Data decoded = channel.readInbound();

        assertThat(in.refCnt()).isZero();
        assertThat(decoded).isEqualTo(DATA);
    }

    @Test
    void maximumBelowTheProtocolMinimum_isRejected() {
        assertThatThrownBy(() -> new FrameDecoder(Protocol.MIN_MAX_FRAME_LENGTH - 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.valueOf(Protocol.MIN_MAX_FRAME_LENGTH));
    }

    @Test
    void version2Connection_decodesCommandFramesAndKeepsItsVersion() {
        Frame hello = new Frame.Hello(Protocol.VERSION_COMMANDS, 0, 0, "t1", new byte[0]);
        byte[] helloBytes = encode(hello);
        assertThat(helloBytes[4]).isEqualTo((byte) 2);
        write(helloBytes, 0, helloBytes.length);
        assertThat((Object) channel.readInbound()).isEqualTo(hello);
        assertThat(((FrameDecoder) channel.pipeline().first()).version()).isEqualTo(2);

        for (Frame f : List.of(new Frame.CommandAck(7), new Frame.Result(7, Frame.Result.FAILED, new byte[] {1, 2}),
                Frame.Ping.INSTANCE)) {
            byte[] bytes = encode2(f);
            write(bytes, 0, bytes.length);
            assertThat((Object) channel.readInbound()).isEqualTo(f);
        }
        // A version 1 frame on the version 2 connection.
        byte[] ping1 = encode(Frame.Ping.INSTANCE);
        assertThat(reasonOf(() -> write(ping1, 0, ping1.length))).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    @Test
    void commandFrameInVersion1_isAnUnknownType() {
        // A COMMAND_ACK with a version 1 byte: the type does not exist in version 1.
        byte[] bytes = {0, 0, 0, 10, 1, 0x09, 0, 0, 0, 0, 0, 0, 0, 1};
        assertThat(reasonOf(() -> write(bytes, 0, bytes.length))).isEqualTo(Reason.PROTOCOL_ERROR);
    }

    private static byte[] encode2(Frame frame) {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(frame, Protocol.VERSION_COMMANDS, buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private void useDecoder(int maxFrameLength) {
        channel.finishAndReleaseAll();
        channel = new EmbeddedChannel(new FrameDecoder(maxFrameLength));
    }

    private static byte[] encode(Frame frame) {
        ByteBuf buf = Unpooled.buffer();
        try {
            FrameCodec.encode(frame, buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** Writes a slice of {@code bytes} in a fresh pooled (leak-tracked) buffer. */
    private void write(byte[] bytes, int offset, int length) {
        ByteBuf buf = ByteBufAllocator.DEFAULT.buffer(length);
        buf.writeBytes(bytes, offset, length);
        fed.add(buf);
        channel.writeInbound(buf);
    }

    private static Reason reasonOf(Runnable action) {
        Throwable thrown = catchThrowable(action::run);
        assertThat(thrown).isInstanceOf(DecoderException.class).cause().isInstanceOf(ProtocolException.class);
        return ((ProtocolException) thrown.getCause()).reason();
    }
}
