package io.tether.server.internal.limits;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.tether.server.DeviceLimits;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The token buckets on a frozen clock: a second's burst, then the rate; reading resumes on time. */
class DeviceThrottleTest {
    private final io.micrometer.core.instrument.Counter paused =
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry().counter("paused");

    private static final class Device implements DeviceThrottle.Session {
        boolean storeWritable = true;
        String stalled;

        @Override
        public boolean mayResumeReading() {
            return storeWritable;
        }

        @Override
        public void writeStalled(String why) {
            stalled = why;
        }
    }

    @Test
    void burstOfOneSecond_thenReadingPausesUntilTheBucketRefills() {
        DeviceThrottle throttle = new DeviceThrottle(DeviceLimits.OFF.withMessageRate(10), paused);
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ch.freezeTime();
        ChannelHandlerContext ctx = ch.pipeline().firstContext();
        Device device = new Device();
        for (int i = 0; i < 10; i++) {
            throttle.onData(ctx, 10, device);
        }
        assertThat(ch.config().isAutoRead()).as("ten messages: within the burst").isTrue();
        throttle.onData(ctx, 10, device);
        assertThat(ch.config().isAutoRead()).as("the eleventh: over").isFalse();
        assertThat(throttle.throttled(ch)).isTrue();
        ch.advanceTimeBy(99, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.config().isAutoRead()).as("after 99 ms of the 100 ms one message costs").isFalse();
        ch.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.config().isAutoRead()).as("after 100 ms").isTrue();
        assertThat(paused.count()).isEqualTo(1);
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void byteRate_largeMessagePausesForItsCost_andStoreBackPressureKeepsReadingOff() {
        DeviceThrottle throttle = new DeviceThrottle(DeviceLimits.OFF.withByteRate(1000), paused);
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ch.freezeTime();
        ChannelHandlerContext ctx = ch.pipeline().firstContext();
        Device device = new Device();
        throttle.onData(ctx, 3000, device); // 3 s of bytes: 2 s beyond the burst
        assertThat(ch.config().isAutoRead()).isFalse();
        device.storeWritable = false;
        ch.advanceTimeBy(2, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.config().isAutoRead()).as("the store resumes reading itself when it is ready").isFalse();
        assertThat(throttle.throttled(ch)).isFalse();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void defaults_neverPauseAFleetDevice_at230MessagesPerSecondOf4KiB() {
        DeviceThrottle throttle = new DeviceThrottle(DeviceLimits.DEFAULT, paused);
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ch.freezeTime();
        ChannelHandlerContext ctx = ch.pipeline().firstContext();
        Device device = new Device();
        long gap = TimeUnit.SECONDS.toNanos(1) / 230;
        for (int i = 0; i < 230 * 60; i++) { // one minute, bursts of 230 at once included
            throttle.onData(ctx, 4096, device);
            if (i % 230 == 229) {
                ch.advanceTimeBy(gap * 230, TimeUnit.NANOSECONDS);
            }
        }
        System.out.printf("230 msg/s of 4 KiB (%d KiB/s) for 60 s under %s: %d pauses%n", 230 * 4, DeviceLimits.DEFAULT,
                (long) paused.count());
        assertThat(paused.count()).isZero();
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void gcra_arithmetic() {
        long second = TimeUnit.SECONDS.toNanos(1);
        assertThat(DeviceThrottle.charge(0, 5 * second, 100)).as("an idle bucket starts from now").isEqualTo(5 * second + 100);
        assertThat(DeviceThrottle.charge(7 * second, 5 * second, 100)).isEqualTo(7 * second + 100);
        assertThat(DeviceThrottle.pauseNanos(5 * second, 6 * second, 0)).isZero();
        assertThat(DeviceThrottle.pauseNanos(5 * second, 6 * second + 7, 0)).isEqualTo(7);
        assertThat(DeviceThrottle.pauseNanos(5 * second, 0, 8 * second)).isEqualTo(2 * second);
    }
}
