package io.tether.transport;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The lazy one-timer deadline and its per-loop wheel, on EmbeddedChannel's event loop with frozen time. */
class DeadlineTest {
    private static final long TIMEOUT = TimeUnit.MILLISECONDS.toNanos(100);
    private final EmbeddedChannel channel = new EmbeddedChannel();

    /** An idle timeout: the deadline is the last touch plus TIMEOUT. */
    private class Idle extends Deadline {
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

    @Test
    void aDeadlineBeyondOneTurnOfTheWheel_firesAtItsTimeNotAtATurnBefore() {
        Idle d = new Idle();
        d.deadlineOverride = d.nanoTime() + TimeUnit.SECONDS.toNanos(45) + 123_456;
        d.arm();
        for (int s = 0; s < 44; s++) {
            advanceMillis(1_000);
        }
        assertThat(d.lateness).isEmpty();
        assertThat(d.armed()).isTrue();
        channel.advanceTimeBy(TimeUnit.SECONDS.toNanos(1) + 123_455, TimeUnit.NANOSECONDS);
        channel.runScheduledPendingTasks();
        assertThat(d.lateness).isEmpty();
        channel.advanceTimeBy(1, TimeUnit.NANOSECONDS);
        channel.runScheduledPendingTasks();
        assertThat(d.lateness).containsExactly(0L);
    }

    @Test
    void manyDeadlines_eachFiresOnceAndNeverEarly_withTouchesAndCancelsInBetween() {
        Random random = new Random(16);
        List<Idle> all = new ArrayList<>();
        Set<Idle> cancelled = new HashSet<>(); // identity: Idle does not override equals
        for (int i = 0; i < 5_000; i++) {
            Idle d = new Idle();
            // deadlines from now to 5 s, some in the same nanosecond, most in shared slots
            d.deadlineOverride = d.nanoTime() + (i % 7 == 0 ? 1_000_000 : random.nextInt(5_000_000) * 1_000L);
            d.arm();
            all.add(d);
        }
        for (int step = 0; step < 700; step++) {
            channel.advanceTimeBy(random.nextInt(10_000_000), TimeUnit.NANOSECONDS);
            channel.runScheduledPendingTasks();
            long now = all.get(0).nanoTime();
            for (int k = 0; k < 20; k++) {
                Idle d = all.get(random.nextInt(all.size()));
                if (!d.armed() || cancelled.contains(d)) {
                    continue;
                }
                if (k % 4 == 0) {
                    d.cancel();
                    cancelled.add(d);
                } else if (d.deadlineOverride - now > 0) {
                    d.deadlineOverride += random.nextInt(2_000_000_000); // touched: later, no re-arm
                }
            }
            for (Idle d : all) {
                // none missed: every deadline that is due has fired, so one still armed is in the future
                if (d.armed()) {
                    assertThat(d.deadlineOverride - now).as("armed deadline not yet due").isPositive();
                }
            }
        }
        channel.advanceTimeBy(10, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        for (Idle d : all) {
            if (cancelled.contains(d)) {
                assertThat(d.lateness).isEmpty();
            } else {
                assertThat(d.lateness).as("fired once").hasSize(1);
                assertThat(d.lateness.get(0)).as("lateness").isGreaterThanOrEqualTo(0L);
            }
            assertThat(d.armed()).isFalse();
        }
    }

    @Test
    void runningEveryStepExactly_eachFiresWithZeroLateness() {
        List<Idle> all = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            Idle d = new Idle();
            d.deadlineOverride = d.nanoTime() + 1_000_000L + i * 777_777L; // 1 ms .. 1.56 s
            d.arm();
            all.add(d);
        }
        for (Idle d : all) {
            channel.advanceTimeBy(d.deadlineOverride - d.nanoTime(), TimeUnit.NANOSECONDS);
            channel.runScheduledPendingTasks();
            assertThat(d.lateness).containsExactly(0L);
        }
    }

    @Test
    void expiredMayArmAndCancelOthers_whileTheWheelRuns() {
        Idle second = new Idle();
        Idle third = new Idle();
        Idle first = new Idle() {
            @Override
            protected void expired(long nowNanos, long deadlineNanos) {
                super.expired(nowNanos, deadlineNanos);
                third.cancel();
                second.deadlineOverride = nowNanos; // due at once
                second.arm();
                if (lateness.size() == 1) {
                    deadlineOverride = nowNanos + TimeUnit.MILLISECONDS.toNanos(5);
                    arm(); // itself again, once
                }
            }
        };
        long now = first.nanoTime();
        first.deadlineOverride = now + TimeUnit.MILLISECONDS.toNanos(10);
        second.deadlineOverride = now + TimeUnit.MILLISECONDS.toNanos(50);
        third.deadlineOverride = first.deadlineOverride + 1; // the same slot, 1 ns after first
        first.arm();
        second.arm();
        third.arm();
        advanceMillis(10);
        assertThat(first.lateness).containsExactly(0L);
        assertThat(third.lateness).isEmpty();
        channel.runScheduledPendingTasks();
        assertThat(second.lateness).containsExactly(0L);
        advanceMillis(5);
        assertThat(first.lateness).containsExactly(0L, 0L);
        channel.runScheduledPendingTasks();
        assertThat(second.lateness).containsExactly(0L, 0L);
        advanceMillis(100);
        assertThat(first.lateness).hasSize(2);
        assertThat(second.lateness).hasSize(2);
        assertThat(third.lateness).isEmpty();
        assertThat(first.armed() || second.armed() || third.armed()).isFalse();
    }
}
