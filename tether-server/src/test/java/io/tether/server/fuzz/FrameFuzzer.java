package io.tether.server.fuzz;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.Protocol;
import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.tether.server.TetherServer;
import io.tether.server.Authenticator;
import io.tether.server.internal.connection.Connection;
import io.tether.server.internal.core.ServerContext;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import io.tether.server.internal.session.LocalSessionRegistry;

import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A seeded, structure-aware mutator for the frame decoder and the handshake, and the oracle that
 * judges one input. Inputs start from valid frame sequences and are mutated where parsers break:
 * length fields set to boundary values, bit flips, truncation, insertion, splicing of frames,
 * type and version bytes swapped. Every input is fed in random-sized chunks through the real
 * pipeline (decoder, encoder, connection handler with registry, store and authenticator) on an
 * EmbeddedChannel with a frozen clock; the clock is then advanced past every deadline.
 *
 * <p>The oracle: nothing escapes the pipeline as an exception; the connection ends with exactly
 * one close event and a reason a malformed input may cause; the decoder never buffers more than
 * one maximum frame; the registry and the store hold nothing but what a valid HELLO of this very
 * input could have put there; no buffer leaks (leak detection is paranoid in tests).
 */
final class FrameFuzzer {
    static final Set<Reason> ALLOWED = EnumSet.of(Reason.PROTOCOL_ERROR, Reason.FRAME_TOO_LARGE,
            Reason.UNSUPPORTED_VERSION, Reason.HANDSHAKE_TIMEOUT, Reason.HEARTBEAT_TIMEOUT, Reason.AUTH_FAILED,
            Reason.NORMAL, Reason.PEER_CLOSED, Reason.FLAPPING);
    private static final int MAX_FRAME = Protocol.MIN_MAX_FRAME_LENGTH + 64;
    private static final long[] INTERESTING = {0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFFL, 0x80000000L,
            0xFFFFFFFFL, MAX_FRAME, MAX_FRAME + 1, Protocol.MIN_MAX_FRAME_LENGTH};

    private final Random random;

    FrameFuzzer(long seed) {
        this.random = new Random(seed);
    }

    /** Valid frame sequences that mutations start from. */
    static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(frames(new Frame.Hello(1000, 0, "fuzz-1", new byte[0]), new Frame.Data(1, new byte[] {1, 2, 3}),
                Frame.Ping.INSTANCE, new Frame.Ack(0), new Frame.Bye(Reason.NORMAL)));
        seeds.add(frames(new Frame.Hello(0, 42, "fuzz-2", new byte[57]), new Frame.Data(1, new byte[100]),
                new Frame.Data(3, new byte[0]), new Frame.Data(2, new byte[] {9})));
        seeds.add(frames(new Frame.Hello(1000, 0, "a", new byte[0]), new Frame.Hello(1000, 0, "b", new byte[0])));
        seeds.add(frames(Frame.Ping.INSTANCE));
        seeds.add(frames(new Frame.Welcome(1, 1000, 1500, 0, Protocol.DEFAULT_MAX_FRAME_LENGTH, 1)));
        return seeds;
    }

    static byte[] frames(Frame... frames) {
        ByteBuf buf = Unpooled.buffer();
        try {
            for (Frame f : frames) {
                FrameCodec.encode(f, buf);
            }
            byte[] out = new byte[buf.readableBytes()];
            buf.readBytes(out);
            return out;
        } finally {
            buf.release();
        }
    }

    /** One mutated input. */
    byte[] mutate(byte[] seed, List<byte[]> pool) {
        byte[] data = seed.clone();
        int rounds = 1 + random.nextInt(4);
        for (int r = 0; r < rounds; r++) {
            data = mutateOnce(data, pool);
        }
        return data;
    }

    private byte[] mutateOnce(byte[] d, List<byte[]> pool) {
        if (d.length == 0) {
            return new byte[] {(byte) random.nextInt(256)};
        }
        switch (random.nextInt(8)) {
            case 0: { // flip a bit
                byte[] c = d.clone();
                int i = random.nextInt(c.length);
                c[i] ^= (byte) (1 << random.nextInt(8));
                return c;
            }
            case 1: { // an interesting value in a length-sized slot (frame lengths, id/cred lengths)
                byte[] c = d.clone();
                int width = new int[] {1, 2, 4, 8}[random.nextInt(4)];
                int at = random.nextInt(c.length);
                long v = INTERESTING[random.nextInt(INTERESTING.length)];
                for (int k = width - 1; k >= 0 && at + k < c.length; k--, v >>>= 8) {
                    c[at + k] = (byte) v;
                }
                return c;
            }
            case 2: { // truncate
                return java.util.Arrays.copyOf(d, random.nextInt(d.length));
            }
            case 3: { // insert random bytes
                int at = random.nextInt(d.length + 1);
                byte[] ins = new byte[1 + random.nextInt(16)];
                random.nextBytes(ins);
                return splice(d, at, at, ins);
            }
            case 4: { // delete a range
                int a = random.nextInt(d.length);
                int b = Math.min(d.length, a + 1 + random.nextInt(16));
                return splice(d, a, b, new byte[0]);
            }
            case 5: { // splice in part of another seed
                byte[] other = pool.get(random.nextInt(pool.size()));
                int a = random.nextInt(other.length);
                int b = Math.min(other.length, a + 1 + random.nextInt(64));
                int at = random.nextInt(d.length + 1);
                return splice(d, at, at, java.util.Arrays.copyOfRange(other, a, b));
            }
            case 6: { // the type or version byte of the first frame
                byte[] c = d.clone();
                if (c.length > 5) {
                    c[4 + random.nextInt(2)] = (byte) random.nextInt(256);
                }
                return c;
            }
            default: { // duplicate the input (many frames)
                return splice(d, d.length, d.length, d);
            }
        }
    }

    private static byte[] splice(byte[] d, int from, int to, byte[] ins) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(d.length + ins.length);
        out.write(d, 0, from);
        out.write(ins, 0, ins.length);
        out.write(d, to, d.length - to);
        return out.toByteArray();
    }

    /** Runs one input through the pipeline; returns null if every invariant held, else what broke. */
    String check(byte[] input, long splitSeed) {
        MockTicker ticker = Ticker.newMockTicker();
        LocalSessionRegistry registry = new LocalSessionRegistry(1);
        InMemoryMessageStore store = new InMemoryMessageStore();
        List<SessionClosed> closes = new ArrayList<>();
        List<String> opened = new ArrayList<>();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        ServerContext ctx = new ServerContext(TetherServer.builder()
                .heartbeatRange(Duration.ofMillis(100), Duration.ofMinutes(1))
                .maxFrameLength(MAX_FRAME)
                .drain(Duration.ofMillis(500))
                .config(), registry, store, (Authenticator) (id, cred, now) -> cred.length == 57
                ? Authenticator.Verdict.BAD_MAC : Authenticator.Verdict.OK, Clock.systemUTC(), List.of(new SessionListener() {
                    @Override
                    public void onOpen(SessionOpened e) {
                        opened.add(e.deviceId());
                    }

                    @Override
                    public void onClose(SessionClosed e) {
                        closes.add(e);
                    }
                }), meters);
        FrameDecoder decoder = new FrameDecoder(MAX_FRAME);
        EmbeddedChannel ch = EmbeddedChannel.builder().ticker(ticker)
                .handlers(decoder, new Connection(ctx)).build();
        Random split = new Random(splitSeed);
        try {
            int i = 0;
            while (i < input.length && ch.isOpen()) {
                int n = Math.min(input.length - i, 1 + split.nextInt(Math.max(1, input.length / 2 + 1)));
                ch.writeInbound(Unpooled.wrappedBuffer(input, i, n));
                i += n;
                ch.runPendingTasks();
                if (decoder.buffered() > MAX_FRAME + 4) {
                    return "decoder buffered " + decoder.buffered() + " bytes";
                }
            }
            // Past every deadline: handshake (10 s), heartbeat (at most 1 min x 1.5), drain.
            for (int k = 0; k < 4 && ch.isOpen(); k++) {
                ticker.advance(100, TimeUnit.SECONDS);
                ch.runPendingTasks();
                ch.runScheduledPendingTasks();
            }
            ch.checkException();
            if (ch.isOpen()) {
                return "connection still open after every deadline";
            }
            if (closes.size() != 1) {
                return closes.size() + " close events";
            }
            Reason reason = closes.get(0).reason();
            if (!ALLOWED.contains(reason)) {
                return "close reason " + reason;
            }
            double bugs = meters.counter("tether.internal.errors").count();
            if (bugs > 0) {
                return bugs + " internal errors";
            }
            if (registry.size() != 0) {
                return "registry not empty after close: " + registry.size();
            }
            for (String device : List.of("fuzz-1", "fuzz-2", "a", "b")) {
                if (!store.messages(device).isEmpty() && !opened.contains(device)) {
                    return "data stored for " + device + " without a session";
                }
            }
            if (store.size() > 0 && opened.isEmpty()) {
                return "data stored without any session";
            }
            return null;
        } catch (Throwable t) {
            return "exception escaped: " + t;
        } finally {
            ch.finishAndReleaseAll();
        }
    }
}
