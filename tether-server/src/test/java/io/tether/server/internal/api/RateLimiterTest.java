package io.tether.server.internal.api;

import io.tether.server.ApiRate;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimiterTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void aBurst_isAllowed_thenTheRate() {
        RateLimiter limiter = new RateLimiter(new ApiRate(10, 5), now::get);

        for (int i = 0; i < 5; i++) {
            assertThat(limiter.acquire("alice")).as("request " + i).isZero();
        }
        long wait = limiter.acquire("alice");
        assertThat(wait).as("the 6th waits for one token at 10/s").isEqualTo(100_000_000L);

        now.addAndGet(100_000_000L);
        assertThat(limiter.acquire("alice")).isZero();
        assertThat(limiter.acquire("alice")).isPositive();
    }

    @Test
    void keys_haveBucketsOfTheirOwn() {
        RateLimiter limiter = new RateLimiter(new ApiRate(1, 1), now::get);

        assertThat(limiter.acquire("alice")).isZero();
        assertThat(limiter.acquire("alice")).isPositive();
        assertThat(limiter.acquire("bob")).isZero();
    }

    @Test
    void aQuietSpell_refillsNoMoreThanTheBurst() {
        RateLimiter limiter = new RateLimiter(new ApiRate(100, 3), now::get);
        limiter.acquire("alice");
        now.addAndGet(3_600_000_000_000L);

        int allowed = 0;
        while (limiter.acquire("alice") == 0) {
            allowed++;
        }
        assertThat(allowed).isEqualTo(3);
    }

    @Test
    void off_allowsEverything() {
        RateLimiter limiter = new RateLimiter(ApiRate.OFF, now::get);
        for (int i = 0; i < 100_000; i++) {
            assertThat(limiter.acquire("alice")).isZero();
        }
    }
}
