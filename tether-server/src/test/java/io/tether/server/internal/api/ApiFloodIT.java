package io.tether.server.internal.api;

import io.tether.server.ApiRate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A flood of 10,000 requests from one key: each gets a clear answer (served, or 429 problem+json
 * with Retry-After), the key gets no more than its rate, and another key is served throughout.
 */
class ApiFloodIT {
    @TempDir
    Path dir;
    private ApiFixture api;

    @AfterEach
    void stop() {
        api.close();
    }

    @Test
    void tenThousandRequestsFromOneKey_eachAnswered_onlyItsRateServed_otherKeysUnaffected() throws Exception {
        ApiRate rate = new ApiRate(100, 200);
        api = new ApiFixture(dir).start(rate, 65_536, true);
        int total = 10_000;
        int inFlight = 64;
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        List<String> badRefusals = new CopyOnWriteArrayList<>();
        AtomicBoolean flooding = new AtomicBoolean(true);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        long start = System.nanoTime();
        // At most 64 requests in flight: the client's pool then holds at most 64 connections, well
        // under the API's connection cap, so every answer is the rate limiter's.
        Semaphore window = new Semaphore(inFlight);
        Future<?> flood = pool.submit(() -> {
            for (int i = 0; i < total; i++) {
                window.acquireUninterruptibly();
                api.sendAsync("GET", "/v1/devices/meter-0042", null, api.alice).whenComplete((r, e) -> {
                    window.release();
                    if (e != null) {
                        badRefusals.add(e.toString());
                        return;
                    }
                    statuses.computeIfAbsent(r.status(), k -> new AtomicInteger()).incrementAndGet();
                    if (r.status() == 429 && !(r.contentType().equals("application/problem+json")
                            && "https://tether.dev/problems/rate-limited".equals(r.problemType())
                            && r.json().get("detail").asText().contains("API key alice is over its rate of 100,200")
                            && Integer.parseInt(r.header("retry-after")) >= 1)) {
                        badRefusals.add(r.status() + " " + r.headers().map() + " " + r.body());
                    }
                });
            }
            window.acquireUninterruptibly(inFlight);
        });
        // Meanwhile, bob: one request every 20 ms, each must be served.
        Future<List<Integer>> other = pool.submit(() -> {
            List<Integer> seen = new ArrayList<>();
            while (flooding.get()) {
                seen.add(api.send("GET", "/v1/devices/meter-0042", null, api.bob).status());
                Thread.sleep(20);
            }
            return seen;
        });
        flood.get(120, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        flooding.set(false);
        List<Integer> bob = other.get(10, TimeUnit.SECONDS);
        pool.shutdown();

        int served = statuses.getOrDefault(200, new AtomicInteger()).get();
        int limited = statuses.getOrDefault(429, new AtomicInteger()).get();
        assertThat(statuses.keySet()).as("statuses of the flood").containsOnly(200, 429);
        assertThat(badRefusals).as("failed requests, or 429s without a clear rate-limited problem").isEmpty();
        assertThat(served + limited).isEqualTo(total);
        // The bucket: the burst, plus the rate for the time the flood took, plus one for rounding.
        assertThat((double) served).as("served in %.2f s", seconds).isLessThanOrEqualTo(200 + 100 * seconds + 1);
        assertThat(served).as("at least the burst is served").isGreaterThanOrEqualTo(200);
        assertThat(bob).as("bob's requests during the flood").isNotEmpty().containsOnly(200);
        assertThat(api.meters.get("tether.api.requests.rate-limited").counter().count()).isEqualTo(limited);
    }
}
