package io.tether.server.internal.delivery;

import io.tether.server.StoreHealth;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A process that runs out of file descriptors while it writes to a store, for
 * {@link StoreDescriptorExhaustionIT}; run it under {@code prlimit --nofile=N}. One producer
 * appends 64 KiB messages of device {@code d} in rounds of 32 and, like a device after a BYE,
 * restarts from {@code lastSeq + 1} when a round fails. Meanwhile: once some are acknowledged,
 * it opens {@code /dev/null} until EMFILE, so the next file RocksDB needs (the WAL it switches to
 * when the 64 MiB memtable fills) cannot be opened; it waits for the store to fail, holds the
 * descriptors a second, releases them, and waits for the store to recover by itself.
 *
 * <pre>
 * A seq .               acknowledged (printed from the callback, one write(2) per line)
 * EXHAUSTED n           n descriptors taken
 * FAILED resource       the store's health turned failed
 * RELEASED acks [recovered-while-held]   descriptors given back; acks seen while failed
 * RECOVERED ms          healthy again, ms after the release
 * DONE acked            all done; the store is closed
 * </pre>
 */
public final class DescriptorChild {
    private static final int ROUND = 32;

    private DescriptorChild() {
    }

    public static void main(String[] args) throws Exception {
        preloadClasses();
        Path dir = Path.of(args[0]);
        RocksDbMessageStore store = RocksDbMessageStore.open(dir);
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        AtomicLong acked = new AtomicLong();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread producer = new Thread(() -> produce(store, out, acked, running), "producer");
        producer.start();

        waitFor(() -> acked.get() >= 200, 30);
        List<FileInputStream> held = new ArrayList<>();
        try {
            while (true) {
                held.add(new FileInputStream("/dev/null"));
            }
        } catch (IOException emfile) {
            print(out, "EXHAUSTED " + held.size() + " " + emfile.getMessage() + "\n");
        }
        waitFor(() -> !store.health().isHealthy(), 60);
        StoreHealth failed = store.health();
        print(out, "FAILED " + failed.resource() + " " + failed.cause().replace('\n', ' ') + "\n");
        // Acks counted only over intervals with the store failed at both ends. The store may
        // recover while the descriptors are still held: its reopen can fit in those its close
        // freed; it is then healthy and its acknowledgements are legitimate.
        long acksWhileFailed = 0;
        boolean recoveredWhileHeld = false;
        long holdUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (System.nanoTime() < holdUntil) {
            long before = acked.get();
            Thread.sleep(10);
            if (store.health().isHealthy()) {
                recoveredWhileHeld = true;
                break;
            }
            acksWhileFailed += acked.get() - before;
        }
        for (FileInputStream f : held) {
            f.close();
        }
        long releasedAt = System.nanoTime();
        print(out, "RELEASED " + acksWhileFailed + (recoveredWhileHeld ? " recovered-while-held" : "") + "\n");
        waitFor(() -> store.health().isHealthy(), 30);
        print(out, "RECOVERED " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - releasedAt) + "\n");
        long target = acked.get() + 200;
        waitFor(() -> acked.get() >= target, 30);
        running.set(false);
        producer.join(30_000);
        store.close();
        print(out, "DONE " + acked.get() + "\n");
        System.exit(0);
    }

    private static void produce(RocksDbMessageStore store, FileOutputStream out, AtomicLong acked, AtomicBoolean running) {
        byte[] payload = new byte[64 * 1024];
        long next = 1;
        while (running.get()) {
            CountDownLatch round = new CountDownLatch(ROUND);
            AtomicBoolean failed = new AtomicBoolean();
            for (int i = 0; i < ROUND; i++) {
                long seq = next + i;
                store.append("d", seq, payload, System.currentTimeMillis(), (r, e) -> {
                    if (e == null) {
                        acked.accumulateAndGet(seq, Math::max);
                        print(out, "A " + seq + " .\n");
                    } else {
                        failed.set(true);
                    }
                    round.countDown();
                });
            }
            try {
                round.await();
                if (failed.get()) {
                    // As a device told BYE STORE_UNAVAILABLE: come back later, resend from lastSeq + 1.
                    while (running.get() && !store.health().isHealthy()) {
                        Thread.sleep(100);
                    }
                    next = store.lastSeq("d") + 1;
                } else {
                    next += ROUND;
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // lastSeq while the handle is being reopened: try again
                sleepQuietly(100);
            }
        }
    }

    private static void print(FileOutputStream out, String line) {
        try {
            out.write(line.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            // the parent stopped reading
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                System.err.println("timed out");
                System.exit(2);
            }
            Thread.sleep(20);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Loads every class of the server from its class directory now: under EMFILE a class loaded
     * from a directory cannot be opened (a packaged server reads them from its open jar).
     */
    private static void preloadClasses() throws IOException {
        Path classes = Path.of(io.tether.server.MessageStore.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        if (!Files.isDirectory(classes)) {
            return;
        }
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                String name = classes.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", "");
                try {
                    Class.forName(name, false, DescriptorChild.class.getClassLoader());
                } catch (Throwable ignored) {
                    // not loadable on its own (module-info, optional dependency): not needed here
                }
            }
        }
    }
}
