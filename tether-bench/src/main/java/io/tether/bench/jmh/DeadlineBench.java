package io.tether.bench.jmh;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.ScheduledFuture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The cost of a frame arriving, for the liveness deadline: what Tether's ConnectionHandler does
 * (store the frame's time; the one armed timer is left alone and re-arms itself when it fires
 * early) against the common alternative (cancel the connection's timer and schedule a new one per
 * frame), on an event loop whose timer queue already holds {@code sessions} other deadlines, as
 * a loop serving that many connections would. Runs on EmbeddedChannel's event loop (in the event
 * loop by definition, so schedule/cancel touch the queue directly, as on a real I/O thread).
 */
@State(Scope.Thread)
public class DeadlineBench {
    @Param({"1000", "19000"})
    int sessions;

    EmbeddedChannel channel;
    EventLoop loop;
    final List<ScheduledFuture<?>> others = new ArrayList<>();
    ScheduledFuture<?> timer;
    long timerDueNanos;
    long lastFrameNanos;
    static final long TIMEOUT = TimeUnit.SECONDS.toNanos(45);
    static final Runnable TASK = () -> { };

    @Setup(Level.Trial)
    public void setup() {
        channel = new EmbeddedChannel();
        loop = channel.eventLoop();
        for (int i = 0; i < sessions; i++) {
            others.add(loop.schedule(TASK, TIMEOUT + i * 1000L, TimeUnit.NANOSECONDS));
        }
        timer = loop.schedule(TASK, TIMEOUT, TimeUnit.NANOSECONDS);
        timerDueNanos = loop.ticker().nanoTime() + TIMEOUT;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (ScheduledFuture<?> f : others) {
            f.cancel(false);
        }
        timer.cancel(false);
        channel.finishAndReleaseAll();
    }

    /** Tether: a frame stores its time; arm() sees the armed timer is due no later than needed. */
    @Benchmark
    public long storeTimestamp() {
        lastFrameNanos = loop.ticker().nanoTime();
        long deadline = lastFrameNanos + TIMEOUT;
        if (timerDueNanos <= deadline) {
            return lastFrameNanos;
        }
        timer.cancel(false);
        timerDueNanos = deadline;
        timer = loop.schedule(TASK, TIMEOUT, TimeUnit.NANOSECONDS);
        return lastFrameNanos;
    }

    /** The alternative: every frame cancels the pending timer and schedules a fresh one. */
    @Benchmark
    public Object rescheduleTimer() {
        timer.cancel(false);
        timer = loop.schedule(TASK, TIMEOUT, TimeUnit.NANOSECONDS);
        return timer;
    }
}
