package io.tether.server;

import io.tether.testkit.fault.LoopFilesystem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RocksDB store on a full disk, for real: a 24 MiB ext4 image, loop-mounted as the data dir,
 * devices sending DATA one at a time and waiting for each ACK. While the disk is full the store
 * is failed: no ACK, every device told once with BYE STORE_UNAVAILABLE and a hint, no FLAPPING,
 * {@code /health} 503, gauge 0. Once space is freed it recovers by itself, ACKs resume, and every
 * seq a device saw acknowledged is in the store exactly once. Needs root, mkfs.ext4 and loop
 * devices; skipped otherwise.
 */
class StoreFullDiskIT {
    private static final int DEVICES = 4;
    private static final long MIB = 1024 * 1024;
    /** Probe every 0.5 s, plus a reopen of RocksDB, on a loaded 2-core host. */
    private static final Duration RECOVERY_BOUND = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    private LoopFilesystem disk;
    private Path mountPoint;
    private TetherServer server;
    private final List<Sender> senders = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void tearDown() throws Exception {
        senders.forEach(Sender::halt);
        if (server != null) {
            server.close();
        }
        if (disk != null) {
            disk.close();
        }
    }

    @Test
    void fullDisk_storeFails_devicesAreToldOnce_andItResumesByItself_nothingAckedLost() throws Exception {
        // 0: no headroom check, so RocksDB itself meets ENOSPC (the sticky background error).
        exhaustAndRecover(0, true);
    }

    @Test
    void minFreeDisk_refusesBeforeRocksDbRunsOut_andResumesWhenSpaceIsBack() throws Exception {
        exhaustAndRecover(4 * MIB, false);
    }

    private void exhaustAndRecover(long minFreeDisk, boolean fillToTheLastByte) throws Exception {
        try {
            disk = LoopFilesystem.mount(dir, "24M");
        } catch (LoopFilesystem.Unavailable e) {
            Assumptions.abort(e.getMessage());
        }
        mountPoint = disk.root();
        Path data = mountPoint.resolve("data");
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        MessageStore store = MessageStores.rocksDb(data, true, 65_536, minFreeDisk);
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .admin(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .drain(Duration.ofMillis(200))
                .shutdownTimeout(Duration.ofSeconds(2))
                .meters(meters)
                .store(store)
                .build()
                .start();
        for (int i = 0; i < DEVICES; i++) {
            Sender s = new Sender("dev-" + i, server.port());
            senders.add(s);
            s.start();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> senders.stream().allMatch(s -> s.acked.get() >= 20));
        assertThat(health().statusCode()).isEqualTo(200);
        // The command ledger lives in the same store: it must fail and recover with it.
        Command before = server.commands().submit(CommandRequest.of("cmd-dev", new byte[] {1}))
                .toCompletableFuture().get(10, TimeUnit.SECONDS).command();

        List<Path> fillers = fillToTheLastByte ? disk.fill() : List.of(disk.fillLeavingFree(minFreeDisk / 2));
        await().atMost(Duration.ofSeconds(10)).until(() -> !store.health().isHealthy());
        StoreHealth failed = store.health();
        assertThat(failed.resource()).isEqualTo("disk");
        if (!fillToTheLastByte) {
            // The headroom check, not RocksDB's ENOSPC: refused before any write failed.
            assertThat(failed.cause()).contains("--min-free-disk").doesNotContain("store write failed");
        }
        // Every sending device is told, once each, why and when to come back.
        await().atMost(Duration.ofSeconds(10)).until(() -> senders.stream().allMatch(s -> s.storeByes.get() >= 1));
        long ackedAtFailure = totalAcked();
        Thread.sleep(1_000);
        assertThat(totalAcked()).as("no ACK while the store is failed").isEqualTo(ackedAtFailure);
        HttpResponse<String> down = health();
        assertThat(down.statusCode()).isEqualTo(503);
        assertThatThrownBy(() -> server.commands().submit(CommandRequest.of("cmd-dev", new byte[] {2}))
                .toCompletableFuture().get(10, TimeUnit.SECONDS))
                .cause().isInstanceOf(CommandException.class)
                .satisfies(e -> assertThat(((CommandException) e).kind()).isEqualTo(CommandException.Kind.UNAVAILABLE));
        assertThat(down.body()).contains("\"status\":\"DOWN\"").contains("\"resource\":\"disk\"");
        assertThat(meters.get("tether.store.healthy").gauge().value()).isEqualTo(0.0);
        assertThat(meters.get("tether.store.failures").functionCounter().count()).isGreaterThanOrEqualTo(1.0);
        assertThat(meters.get("tether.store.failures").functionCounter().count()).as("one state change").isEqualTo(1.0);
        // A new HELLO while failed: the same BYE and a hint, before any flapping count.
        try (RawDevice late = new RawDevice(server.port())) {
            late.send(new Frame.Hello(30_000, 0, "late-comer", new byte[0]));
            Frame f = late.read();
            assertThat(f).isInstanceOfSatisfying(Frame.Bye.class, b -> {
                assertThat(b.reason()).isEqualTo(Reason.STORE_UNAVAILABLE);
                assertThat(b.reconnectAfterMillis()).isBetween(2_000, 10_000);
            });
        }
        List<Integer> hints = new ArrayList<>();
        senders.forEach(s -> hints.addAll(s.hintQueue));
        assertThat(hints).allSatisfy(h -> assertThat(h).isBetween(2_000, 10_000));

        long freedAt = System.nanoTime();
        for (Path filler : fillers) {
            Files.delete(filler);
        }
        await().atMost(RECOVERY_BOUND).pollInterval(Duration.ofMillis(50)).until(() -> store.health().isHealthy());
        long recoveredMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freedAt);
        // Devices come back after their hint (at most 10 s) and are acknowledged again.
        await().atMost(Duration.ofSeconds(20)).until(() ->
                senders.stream().allMatch(s -> s.acked.get() >= s.ackedAtBye + 10));
        long resumedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freedAt);
        assertThat(health().statusCode()).isEqualTo(200);
        assertThat(meters.get("tether.store.healthy").gauge().value()).isEqualTo(1.0);
        // After the store reopened RocksDB, the ledger writes and reads the new database.
        Command after = server.commands().submit(CommandRequest.of("cmd-dev", new byte[] {3}))
                .toCompletableFuture().get(10, TimeUnit.SECONDS).command();
        server.commands().cancel(after.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(server.commands().list("cmd-dev", java.util.Set.of(), 10).toCompletableFuture()
                .get(10, TimeUnit.SECONDS)).extracting(Command::id).containsExactly(before.id(), after.id());
        assertThat(senders).allSatisfy(s -> assertThat(s.otherByes).as(s.device + ": BYEs other than STORE_UNAVAILABLE").isEmpty());
        assertThat(meters.get("tether.connections.closed").tag("reason", "FLAPPING").counter().count()).isZero();

        senders.forEach(Sender::halt);
        server.close();
        server = null;
        long stored = 0;
        try (StoreReader reader = StoreReader.openReadOnly(data)) {
            for (Sender s : senders) {
                List<Long> seqs = new ArrayList<>();
                try (MessageCursor c = reader.read(s.device, 1)) {
                    c.forEachRemaining(m -> seqs.add(m.seq()));
                }
                assertThat(seqs).as(s.device + ": each seq once, none missing").doesNotHaveDuplicates();
                assertThat(seqs.size()).as(s.device + ": stored 1..n with no hole").isEqualTo((int) (long) seqs.get(seqs.size() - 1));
                assertThat(seqs.size()).as(s.device + ": every acknowledged seq is stored").isGreaterThanOrEqualTo((int) s.acked.get());
                stored += seqs.size();
            }
        }
        System.out.printf("StoreFullDiskIT(minFreeDisk=%d): %d devices; failed (%s) with %d acked; %d BYE"
                        + " STORE_UNAVAILABLE (hints %s ms), 0 FLAPPING; /health 503 then 200; recovered %d ms after"
                        + " the space was freed (bound %d ms), ACKs resumed after %d ms; %d acked, %d stored, 0 lost,"
                        + " 0 duplicates%n",
                minFreeDisk, DEVICES, failed.resource(), ackedAtFailure, hints.size(), hints, recoveredMillis,
                RECOVERY_BOUND.toMillis(), resumedMillis, totalAcked(), stored);
    }

    private long totalAcked() {
        return senders.stream().mapToLong(s -> s.acked.get()).sum();
    }

    private HttpResponse<String> health() throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.adminAddress().getPort() + "/health");
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A device that sends one DATA at a time, waits for its ACK, and honours a BYE's reconnect hint. */
    private static final class Sender extends Thread {
        final String device;
        final int port;
        final AtomicLong acked = new AtomicLong();
        final AtomicLong storeByes = new AtomicLong();
        final ConcurrentLinkedQueue<Frame.Bye> otherByes = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        volatile long ackedAtBye;
        final ConcurrentLinkedQueue<Integer> hintQueue = new ConcurrentLinkedQueue<>();

        Sender(String device, int port) {
            super("sender-" + device);
            this.device = device;
            this.port = port;
            setDaemon(true);
        }

        @Override
        public void run() {
            while (running.get()) {
                int pause = 200;
                try (RawDevice d = new RawDevice(port)) {
                    d.send(new Frame.Hello(30_000, 0, device, new byte[0]));
                    Frame f = d.read();
                    if (f instanceof Frame.Welcome w) {
                        pause = session(d, w.lastSeq());
                    } else if (f instanceof Frame.Bye b) {
                        pause = bye(b);
                    }
                } catch (IOException e) {
                    // reset or timed out: reconnect
                }
                sleep(pause);
            }
        }

        /** Sends from lastSeq + 1 until a BYE or the end; returns the pause before reconnecting. */
        private int session(RawDevice d, long lastSeq) throws IOException {
            long next = lastSeq + 1;
            byte[] payload = new byte[1024];
            while (running.get()) {
                d.send(new Frame.Data(next, payload));
                Frame f;
                do {
                    f = d.read();
                } while (f != null && !(f instanceof Frame.Ack) && !(f instanceof Frame.Bye));
                if (f instanceof Frame.Ack a) {
                    acked.accumulateAndGet(a.seq(), Math::max);
                    next = a.seq() + 1;
                } else if (f instanceof Frame.Bye b) {
                    return bye(b);
                } else {
                    return 200;
                }
            }
            return 0;
        }

        private int bye(Frame.Bye b) {
            if (b.reason() == Reason.STORE_UNAVAILABLE) {
                storeByes.incrementAndGet();
                hintQueue.add(b.reconnectAfterMillis());
                ackedAtBye = acked.get();
            } else {
                otherByes.add(b);
            }
            return b.reconnectAfterMillis();
        }

        private void sleep(int millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                running.set(false);
            }
        }

        void halt() {
            running.set(false);
            interrupt();
            try {
                join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
