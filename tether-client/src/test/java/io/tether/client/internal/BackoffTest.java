package io.tether.client.internal;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.LongUnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackoffTest {

    private static LongUnaryOperator seeded(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return random::nextLong;
    }

    @Test
    void ceilings_doubleFromBase_untilCap() {
        Backoff b = new Backoff(100, 1_000, seeded(1));
        assertThat(new long[] {b.ceilingMillis(0), b.ceilingMillis(1), b.ceilingMillis(2), b.ceilingMillis(3),
                b.ceilingMillis(4), b.ceilingMillis(5)})
                .containsExactly(100, 200, 400, 800, 1_000, 1_000);
    }

    @Test
    void delays_lieInZeroToCeiling_forEveryAttempt() {
        Backoff b = new Backoff(1_000, 60_000, seeded(42));
        for (int attempt = 0; attempt < 12; attempt++) {
            long ceiling = Math.min(60_000, 1_000L << attempt);
            for (int i = 0; i < 1_000; i++) {
                assertThat(b.delayMillis(attempt, 0)).isBetween(0L, ceiling - 1);
            }
        }
    }

    @Test
    void delays_growWithAttempt_untilCapped() {
        Backoff b = new Backoff(1_000, 60_000, seeded(7));
        double previousMean = 0;
        for (int attempt = 0; attempt <= 6; attempt++) {
            long sum = 0;
            for (int i = 0; i < 2_000; i++) {
                sum += b.delayMillis(attempt, 0);
            }
            double mean = sum / 2_000.0;
            // Full jitter: the mean is half the ceiling, within a few percent for 2,000 draws.
            assertThat(mean).isGreaterThan(previousMean)
                    .isCloseTo(b.ceilingMillis(attempt) / 2.0, org.assertj.core.data.Percentage.withPercentage(5));
            previousMean = mean;
        }
    }

    @Test
    void largestDraw_isCeilingMinusOne() {
        Backoff b = new Backoff(20, 1_000, bound -> bound - 1);
        assertThat(new long[] {b.delayMillis(0, 0), b.delayMillis(1, 0), b.delayMillis(2, 0), b.delayMillis(10, 0)})
                .containsExactly(19, 39, 79, 999);
    }

    @Test
    void hugeAttempt_doesNotOverflow() {
        Backoff b = new Backoff(1_000, 60_000, seeded(3));
        assertThat(b.ceilingMillis(62)).isEqualTo(60_000);
        assertThat(b.ceilingMillis(63)).isEqualTo(60_000);
        assertThat(b.ceilingMillis(Integer.MAX_VALUE)).isEqualTo(60_000);
        Backoff huge = new Backoff(Long.MAX_VALUE / 2, Long.MAX_VALUE, seeded(3));
        assertThat(huge.ceilingMillis(1)).isEqualTo(Long.MAX_VALUE - 1);
        assertThat(huge.ceilingMillis(2)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void serverHint_isAFloor_withJitterBelowBase() {
        Backoff b = new Backoff(100, 60_000, seeded(11));
        for (int i = 0; i < 1_000; i++) {
            // Small attempts: the hint dominates; jitter on top stays below base.
            assertThat(b.delayMillis(0, 5_000)).isBetween(5_000L, 5_099L);
            assertThat(b.delayMillis(3, 5_000)).isBetween(5_000L, 5_099L);
            // Large attempts: never below the hint, never above the backoff ceiling.
            assertThat(b.delayMillis(12, 5_000)).isBetween(5_000L, 59_999L);
        }
    }

    @Test
    void outOfRangeRandom_isReducedModuloBound() {
        Backoff b = new Backoff(100, 100, bound -> -1);
        assertThat(b.delayMillis(0, 0)).isEqualTo(99);
        Backoff c = new Backoff(100, 100, bound -> bound + 5);
        assertThat(c.delayMillis(0, 0)).isEqualTo(5);
    }

    @Test
    void invalidBounds_areRejected() {
        assertThatThrownBy(() -> new Backoff(0, 10, seeded(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(10, 5, seeded(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(10, 10, seeded(1)).delayMillis(-1, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
