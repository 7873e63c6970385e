package io.tether.transport;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The lazy one-timer deadline, on EmbeddedChannel's event loop with frozen time. */
class DeadlineTest {
    private static final long TIMEOUT = TimeUnit.MILLISECONDS.toNanos(100);
    private final EmbeddedChannel channel = new EmbeddedChannel();

    /** An idle timeout: the deadline is the last touch plus TIMEOUT. */
    private final class Idle extends Deadline {
        long lastTouch;
        long deadlineOverride = -1;
        final List<Long> lateness = new ArrayList<>();

        Idle() {
            channel.freezeTime();
            lastTouch = nanoTime();
        }

        void touch() {
            lastTouch = nanoTime();
        }

        @Override
        protected EventExecutor executor() {
            return channel.eventLoop();
        }

        @Override
        protected long deadlineNanos() {
            return deadlineOverride >= 0 ? deadlineOverride : lastTouch + TIMEOUT;
        }

        @Override
        protected void expired(long nowNanos, long deadlineNanos) {
            lateness.add(nowNanos - deadlineNanos);
        }
    }

    @AfterEach
    void release() {
        channel.finishAndReleaseAll();
    }

    private void advanceMillis(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    @Test
    void untouched_expiresExactlyAtTheDeadline() {
        Idle d = new Idle();
        d.arm();
        advanceMillis(99);
        assertThat(d.lateness).isEmpty();
        advanceMillis(1);
        assertThat(d.lateness).containsExactly(0L);
        assertThat(d.armed()).isFalse();
    }

    @Test
    void touches_pushTheDeadlineWithoutRearming_andItExpiresAtLastTouchPlusTimeout() {
        Idle d = new Idle();
        d.arm();
        advanceMillis(50);
        d.touch();
        advanceMillis(40);
        d.touch(); // last touch at 90 ms: deadline 190 ms
        advanceMillis(10); // the armed timer fires at 100 ms, early: it must re-arm, not expire
        assertThat(d.lateness).isEmpty();
        assertThat(d.armed()).isTrue();
        advanceMillis(89);
        assertThat(d.lateness).isEmpty();
        advanceMillis(1);
        assertThat(d.lateness).containsExactly(0L);
    }

    @Test
    void deadlineMovedEarlier_replacesTheTimer() {
        Idle d = new Idle();
        d.arm();
        d.deadlineOverride = d.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
        d.arm();
        advanceMillis(10);
        assertThat(d.lateness).containsExactly(0L);
    }

    @Test
    void noDeadline_firesNothing() {
        Idle d = new Idle();
        d.arm();
        d.deadlineOverride = Deadline.NONE;
        advanceMillis(1_000);
        assertThat(d.lateness).isEmpty();
        assertThat(d.armed()).isFalse();
    }

    @Test
    void cancel_stopsWatching() {
        Idle d = new Idle();
        d.arm();
        d.cancel();
        advanceMillis(1_000);
        assertThat(d.lateness).isEmpty();
    }
}
