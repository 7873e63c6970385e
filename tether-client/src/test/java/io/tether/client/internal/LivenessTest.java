package io.tether.client.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.tether.protocol.Frame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Frozen-time tests: time moves only when the test advances it. */
class LivenessTest {
    private final AtomicInteger pings = new AtomicInteger();
    private final List<Object> events = new ArrayList<>();
    private Liveness liveness;
    private EmbeddedChannel ch;

    @BeforeEach
    void setUp() {
        liveness = new Liveness(pings::incrementAndGet);
        ch = new EmbeddedChannel(liveness, new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                events.add(evt);
            }
        });
        ch.freezeTime();
    }

    @AfterEach
    void tearDown() {
        ch.finishAndReleaseAll();
    }

    private void advanceMillis(long ms) {
        ch.advanceTimeBy(ms, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
    }

    @Test
    void writeSilence_sendsPing_afterEachInterval() {
        liveness.start(TimeUnit.MILLISECONDS.toNanos(100), 0);
        advanceMillis(99);
        assertThat(ch.<Object>readOutbound()).isNull();
        advanceMillis(1);
        assertThat(ch.<Object>readOutbound()).isEqualTo(Frame.Ping.INSTANCE);
        advanceMillis(100);
        assertThat(ch.<Object>readOutbound()).isEqualTo(Frame.Ping.INSTANCE);
        assertThat(pings).hasValue(2);
    }

    @Test
    void anyOutboundFrame_postponesThePing() {
        liveness.start(TimeUnit.MILLISECONDS.toNanos(100), 0);
        advanceMillis(60);
        ch.writeOutbound(new Frame.Ack(1));
        assertThat(ch.<Object>readOutbound()).isEqualTo(new Frame.Ack(1));
        advanceMillis(60); // 120 ms since start, 60 ms since the ACK
        assertThat(ch.<Object>readOutbound()).isNull();
        advanceMillis(40);
        assertThat(ch.<Object>readOutbound()).isEqualTo(Frame.Ping.INSTANCE);
    }

    @Test
    void readSilence_firesServerSilent_atTheTimeout() {
        liveness.start(0, TimeUnit.MILLISECONDS.toNanos(300));
        advanceMillis(299);
        assertThat(events).isEmpty();
        advanceMillis(1);
        assertThat(events).containsExactly(Liveness.SERVER_SILENT);
        advanceMillis(1_000);
        assertThat(events).hasSize(1);
    }

    @Test
    void anyInboundFrame_postponesTheTimeout() {
        liveness.start(0, TimeUnit.MILLISECONDS.toNanos(300));
        advanceMillis(200);
        ch.writeInbound(Frame.Pong.INSTANCE);
        assertThat(ch.<Object>readInbound()).isEqualTo(Frame.Pong.INSTANCE);
        advanceMillis(200); // 400 ms since start, 200 since the PONG
        assertThat(events).isEmpty();
        advanceMillis(100);
        assertThat(events).containsExactly(Liveness.SERVER_SILENT);
    }

    @Test
    void ownPings_doNotCountAsTraffic_fromTheServer() {
        liveness.start(TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.MILLISECONDS.toNanos(250));
        advanceMillis(100);
        advanceMillis(100);
        advanceMillis(50);
        assertThat(pings).hasValue(2);
        assertThat(events).containsExactly(Liveness.SERVER_SILENT);
    }

    @Test
    void beforeStart_nothingHappens() {
        advanceMillis(10_000);
        assertThat(ch.<Object>readOutbound()).isNull();
        assertThat(events).isEmpty();
    }

    @Test
    void closedChannel_stopsTheTimers() {
        liveness.start(TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.MILLISECONDS.toNanos(300));
        ch.close();
        advanceMillis(1_000);
        assertThat(pings).hasValue(0);
        assertThat(events).isEmpty();
    }
}
