package io.tether.cli;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.MINUTES;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tether.client.ClientGroup;
import io.tether.client.ClientListener;
import io.tether.client.Goodbye;
import io.tether.client.TetherClient;
import io.tether.protocol.Reason;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM on {@code tether serve} with 50 devices connected and sending: every device is told
 * BYE SERVER_SHUTDOWN with a reconnect hint, the process exits 0 within its shutdown timeout, and
 * every message it acknowledged is in the store, once, as sent.
 */
class GracefulShutdownIT {
    private static final int DEVICES = 50;
    /** Messages each device sends, and sees acknowledged, before the flow that SIGTERM interrupts. */
    private static final int WARM_UP = 20;
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(5);
    /** Slack on top of the shutdown timeout for the JVM to exit: store close, event log, exit. */
    private static final Duration EXIT_SLACK = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    private ServerProcess server;
    private ClientGroup group;
    private ScheduledExecutorService pacer;
    private final List<Device> devices = new ArrayList<>();
    private final Queue<String> deviceErrors = new ConcurrentLinkedQueue<>();

    @AfterEach
    void cleanUp() {
        try {
            if (pacer != null) {
                pacer.shutdownNow();
            }
            for (Device d : devices) {
                d.client.close();
            }
            if (group != null) {
                group.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    @Test
    @Timeout(value = 3, unit = MINUTES)
    void sigterm_saysByeToEveryDevice_exitsZero_andKeepsEveryAcknowledgedMessage() throws Exception {
        server = ServerProcess.start(dir, "--insecure-no-auth", "--shutdown-timeout", SHUTDOWN_TIMEOUT.toSeconds() + "s");
        group = ClientGroup.create(2);
        pacer = Executors.newScheduledThreadPool(2);
        for (int i = 0; i < DEVICES; i++) {
            devices.add(new Device(i));
        }
        List<CompletableFuture<Void>> connected = new ArrayList<>();
        for (Device d : devices) {
            connected.add(d.client.connect());
        }
        CompletableFuture.allOf(connected.toArray(CompletableFuture[]::new)).get(60, SECONDS);

        // Every device has a history the server acknowledged...
        List<CompletableFuture<Long>> warmUp = new ArrayList<>();
        for (Device d : devices) {
            for (int i = 0; i < WARM_UP; i++) {
                warmUp.add(d.send());
            }
        }
        CompletableFuture.allOf(warmUp.toArray(CompletableFuture[]::new)).get(60, SECONDS);
        // ...and keeps sending, every 2 to 20 ms, until the server says goodbye.
        for (Device d : devices) {
            d.scheduleNext();
        }
        await("a few messages of the flow acknowledged for every device")
                .atMost(Duration.ofSeconds(30))
                .until(() -> devices.stream().allMatch(d -> d.acked.size() >= WARM_UP + 5));

        int inFlight = devices.stream().mapToInt(d -> d.client.pendingCount()).sum();
        long sigtermAt = System.nanoTime();
        server.sigterm();
        int exit = server.awaitExit(SHUTDOWN_TIMEOUT.plus(EXIT_SLACK));
        double exitSeconds = (System.nanoTime() - sigtermAt) / 1e9;
        // The BYE arrived before the server's exit closed the socket, and listeners run on the
        // client's event loop: allow it a moment to deliver.
        await("every device told BYE").atMost(Duration.ofSeconds(10))
                .until(() -> devices.stream().allMatch(d -> !d.byes.isEmpty()));
        for (Device d : devices) {
            d.stopped = true;
        }
        pacer.shutdownNow();

        Map<String, Integer> closes = server.closesByReason();
        List<StoreDump.Message> dump = StoreDump.read(server.dataDir());
        StoreCheck check = StoreCheck.of(dump, sent(), false);
        int sent = devices.stream().mapToInt(d -> d.issued.get()).sum();
        int acked = devices.stream().mapToInt(d -> d.acked.size()).sum();
        List<Integer> hints = new ArrayList<>();
        for (Device d : devices) {
            for (Goodbye b : d.byes) {
                hints.add((int) b.reconnectAfter().toMillis());
            }
        }

        System.out.printf("%n=== GracefulShutdownIT: SIGTERM ===%n");
        System.out.printf("devices                  %d%n", DEVICES);
        System.out.printf("messages sent            %d (%d unacknowledged at SIGTERM)%n", sent, inFlight);
        System.out.printf("acked                    %d%n", acked);
        System.out.printf("stored                   %d (%d stored but never acknowledged)%n", check.stored,
                check.stored - check.storedAndAcked);
        System.out.printf("duplicates               %d (same device+seq %d, same payload under two seqs %d)%n",
                check.duplicateKeys + check.duplicatePayloads, check.duplicateKeys, check.duplicatePayloads);
        System.out.printf("missing                  %d%n", check.missing);
        System.out.printf("foreign                  %d%n", check.foreign);
        System.out.printf("wrong payload            %d%n", check.wrongPayload);
        System.out.printf("BYE reasons              %s%n", byeReasons());
        System.out.printf("reconnect hints (ms)     min %d, max %d%n",
                hints.stream().mapToInt(Integer::intValue).min().orElse(-1),
                hints.stream().mapToInt(Integer::intValue).max().orElse(-1));
        System.out.printf("exit status              %d after %.2f s (shutdown timeout %d s)%n", exit, exitSeconds,
                SHUTDOWN_TIMEOUT.toSeconds());
        System.out.printf("server closes            %s%n%n", closes);

        assertThat(deviceErrors).as("what devices saw").isEmpty();
        for (Device d : devices) {
            assertThat(d.byes).as("BYEs %s got", d.id).isNotEmpty().allSatisfy(b -> {
                assertThat(b.reason()).isEqualTo(Reason.SERVER_SHUTDOWN);
                assertThat(b.reconnectAfter()).isPositive();
            });
        }
        assertThat(exit).as("exit status after SIGTERM").isZero();
        assertThat(exitSeconds).as("seconds from SIGTERM to exit")
                .isLessThanOrEqualTo(SHUTDOWN_TIMEOUT.plus(EXIT_SLACK).toMillis() / 1000.0);
        assertThat(check.problems).as("store vs. what the devices sent and were told").isEmpty();
        assertThat(check.storedAndAcked).isEqualTo(acked);
        assertThat(closes.get(Reason.SERVER_SHUTDOWN.name())).as("SERVER_SHUTDOWN closes").isEqualTo(DEVICES);
    }

    private Map<Reason, Integer> byeReasons() {
        Map<Reason, Integer> m = new HashMap<>();
        for (Device d : devices) {
            for (Goodbye b : d.byes) {
                m.merge(b.reason(), 1, Integer::sum);
            }
        }
        return m;
    }

    /** One device connected straight to the server. */
    private final class Device implements ClientListener {
        final String id;
        final TetherClient client;
        private final SplittableRandom pace;
        final AtomicInteger issued = new AtomicInteger();
        /** Seqs the server acknowledged. */
        final Set<Long> acked = ConcurrentHashMap.newKeySet();
        final List<Goodbye> byes = new CopyOnWriteArrayList<>();
        volatile boolean stopped;

        Device(int index) {
            this.id = "dev-" + index;
            this.pace = new SplittableRandom(index);
            this.client = TetherClient.builder()
                    .target("127.0.0.1", server.port())
                    .deviceId(id)
                    .group(group)
                    .listener(this)
                    .build();
        }

        CompletableFuture<Long> send() {
            int i = issued.incrementAndGet();
            CompletableFuture<Long> f = client.send(StoreCheck.payload(id, i));
            f.whenComplete((seq, error) -> {
                if (error == null) {
                    acked.add(seq);
                    // A fresh store: message i is seq i.
                    if (seq != i) {
                        deviceErrors.add(id + " message " + i + " was acknowledged as seq " + seq);
                    }
                }
            });
            return f;
        }

        void scheduleNext() {
            pacer.schedule(() -> {
                if (stopped || !byes.isEmpty()) {
                    return;
                }
                try {
                    send();
                } catch (RuntimeException e) {
                    deviceErrors.add(id + ": send threw " + e);
                    return;
                }
                scheduleNext();
            }, 2 + pace.nextInt(19), MILLISECONDS);
        }

        @Override
        public void onBye(Goodbye bye) {
            byes.add(bye);
        }
    }

    /** What each device sent and was acknowledged, as the store check wants it. */
    private Map<String, StoreCheck.Sent> sent() {
        Map<String, StoreCheck.Sent> sent = new HashMap<>();
        for (Device d : devices) {
            sent.put(d.id, new StoreCheck.Sent(d.issued.get(), d.acked));
        }
        return sent;
    }
}
