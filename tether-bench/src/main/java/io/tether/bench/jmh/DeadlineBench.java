package io.tether.bench.jmh;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.tether.transport.Deadline;
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
 * The cost of a frame arriving, for the liveness deadline: what Tether's connections do with the
 * shared {@link Deadline} primitive (store the frame's time and {@link Deadline#arm()}, which finds
 * the armed timer due early enough and leaves it alone; it re-arms itself when it fires early)
 * against the common alternative (cancel the connection's timer and schedule a new one per
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
    Connection connection;
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
        connection = new Connection(loop);
        connection.arm();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (ScheduledFuture<?> f : others) {
            f.cancel(false);
        }
        timer.cancel(false);
        connection.cancel();
        channel.finishAndReleaseAll();
    }

    /** Tether: a frame stores its time; arm() sees the armed timer is due no later than needed. */
    @Benchmark
    public long storeTimestamp() {
        Connection c = connection;
        c.lastFrameNanos = loop.ticker().nanoTime();
        c.arm();
        return c.lastFrameNanos;
    }

    /** The alternative: every frame cancels the pending timer and schedules a fresh one. */
    @Benchmark
    public Object rescheduleTimer() {
        timer.cancel(false);
        timer = loop.schedule(TASK, TIMEOUT, TimeUnit.NANOSECONDS);
        return timer;
    }

    /** A connection's heartbeat deadline as the gateway keeps it: last frame + timeout. */
    static final class Connection extends Deadline {
        private final EventLoop loop;
        long lastFrameNanos;

        Connection(EventLoop loop) {
            this.loop = loop;
            this.lastFrameNanos = loop.ticker().nanoTime();
        }

        @Override
        protected EventExecutor executor() {
            return loop;
        }

        @Override
        protected long deadlineNanos() {
            return lastFrameNanos + TIMEOUT;
        }

        @Override
        protected void expired(long nowNanos, long deadlineNanos) {
            lastFrameNanos = nowNanos;
            arm();
        }
    }
}
