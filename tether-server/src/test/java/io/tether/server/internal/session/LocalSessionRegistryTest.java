package io.tether.server.internal.session;

import io.tether.protocol.Reason;
import io.tether.server.Session;
import io.tether.server.SessionRegistry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class LocalSessionRegistryTest {
    private final LocalSessionRegistry registry = new LocalSessionRegistry(100);

    /** A session that only remembers its epoch. */
    private static final class FakeSession implements Session {
        volatile long epoch;
        final String device;

        FakeSession(String device) {
            this.device = device;
        }

        @Override
        public String deviceId() {
            return device;
        }

        @Override
        public long epoch() {
            return epoch;
        }

        @Override
        public void assignEpoch(long e) {
            epoch = e;
        }

        @Override
        public String remote() {
            return "127.0.0.1:1";
        }

        @Override
        public void kick(Reason reason) {
        }

        @Override
        public boolean send(byte[] payload) {
            return false;
        }
    }

    private SessionRegistry.Claim claim(Session s) {
        return registry.claim(s.deviceId(), s).toCompletableFuture().join();
    }

    @Test
    void claim_answersTheNewEpochAndThePreviousLocalHolder() {
        FakeSession first = new FakeSession("d1");
        SessionRegistry.Claim c1 = claim(first);
        assertThat(c1.epoch()).isEqualTo(first.epoch()).isEqualTo(100);
        assertThat(c1.tookOver()).isFalse();
        assertThat(c1.previous()).isNull();

        FakeSession second = new FakeSession("d1");
        SessionRegistry.Claim c2 = claim(second);
        assertThat(c2.epoch()).isGreaterThan(c1.epoch()).isEqualTo(second.epoch());
        assertThat(c2.previous()).isSameAs(first);
        assertThat(c2.previousEpoch()).isEqualTo(c1.epoch());
        assertThat(c2.previousNode()).as("a local holder names no other node").isNull();
        assertThat(registry.lookup("d1")).isSameAs(second);
    }

    @Test
    void lateReleaseWithAnOldEpoch_isANoOp() {
        FakeSession first = new FakeSession("d1");
        long old = claim(first).epoch();
        FakeSession second = new FakeSession("d1");
        long current = claim(second).epoch();

        assertThat(registry.release("d1", old)).isFalse();
        assertThat(registry.lookup("d1")).isSameAs(second);
        assertThat(registry.release("d1", current)).isTrue();
        assertThat(registry.lookup("d1")).isNull();
        assertThat(registry.release("d1", current)).as("twice is harmless").isFalse();
    }

    @Test
    void concurrentClaims_leaveExactlyOneSession_holdingTheHighestEpoch() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<FakeSession> sessions = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int i = 0; i < 200; i++) {
            FakeSession s = new FakeSession("d1");
            sessions.add(s);
            pool.execute(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                registry.claim("d1", s);
            });
        }
        start.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        long highest = sessions.stream().mapToLong(FakeSession::epoch).max().orElseThrow();
        assertThat(registry.size()).isEqualTo(1);
        assertThat(registry.lookup("d1").epoch()).isEqualTo(highest);
        assertThat(sessions).extracting(FakeSession::epoch).doesNotHaveDuplicates();
    }
}
