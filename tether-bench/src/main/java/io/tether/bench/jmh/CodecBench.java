package io.tether.bench.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** Tether's frame codec: encode and decode DATA (payload --size bytes) and HELLO (with a 57-byte token). */
@State(Scope.Thread)
public class CodecBench {
    @Param({"100", "1024"})
    int size;

    Frame.Data data;
    Frame.Hello hello;
    ByteBuf out;
    ByteBuf encodedData;
    ByteBuf encodedHello;

    @Setup(Level.Trial)
    public void setup() {
        data = new Frame.Data(42, new byte[size]);
        hello = new Frame.Hello(30_000, 0, "device-000123", new byte[57]);
        out = PooledByteBufAllocator.DEFAULT.directBuffer(4096);
        encodedData = PooledByteBufAllocator.DEFAULT.directBuffer(4096);
        FrameCodec.encode(data, encodedData);
        encodedHello = PooledByteBufAllocator.DEFAULT.directBuffer(4096);
        FrameCodec.encode(hello, encodedHello);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        out.release();
        encodedData.release();
        encodedHello.release();
    }

    @Benchmark
    public int encodeData() {
        out.clear();
        FrameCodec.encode(data, out);
        return out.writerIndex();
    }

    @Benchmark
    public Frame decodeData() {
        encodedData.readerIndex(0);
        return FrameCodec.decode(encodedData);
    }

    @Benchmark
    public int encodeHello() {
        out.clear();
        FrameCodec.encode(hello, out);
        return out.writerIndex();
    }

    @Benchmark
    public Frame decodeHello() {
        encodedHello.readerIndex(0);
        return FrameCodec.decode(encodedHello);
    }
}
