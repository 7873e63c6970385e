package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A process that writes to a store until it is killed, for the crash-recovery tests. It prints a
 * line for each append only after the append's callback reported it stored, so every printed
 * (device, seq) was acknowledged; a line cut by the kill lacks its final " ." and is ignored.
 *
 * <pre>
 * stream DIR THREADS DEVICES_PER_THREAD   appends continuously; prints "A device seq ."
 * step DIR DEVICE COUNT                   appends one at a time; prints "S seq walFile walBytes ."
 *                                         after each, then "DONE", then waits to be killed
 * </pre>
 */
public final class StoreChild {
    private StoreChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        RocksDbMessageStore store = RocksDbMessageStore.open(dir);
        switch (args[0]) {
            case "stream" -> stream(store, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            case "step" -> step(store, dir, new BufferedWriter(new OutputStreamWriter(System.out,
                    StandardCharsets.US_ASCII)), args[2], Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void stream(RocksDbMessageStore store, int threads, int devicesPerThread) throws Exception {
        // Printed from the callback itself, one write(2) per line, unbuffered: at the moment of
        // the kill, what the parent has read is exactly what had been acknowledged (the newest
        // acks, the ones most at risk, are not left behind in a buffer).
        FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread producer = new Thread(() -> {
                for (long seq = 1; ; seq++) {
                    for (int d = 0; d < devicesPerThread; d++) {
                        String device = "dev-" + thread + "-" + d;
                        long s = seq;
                        store.append(device, s, StoreTesting.payloadOf(device, s), System.currentTimeMillis(),
                                (r, e) -> {
                                    if (e == null && r != AppendResult.DUPLICATE) {
                                        writeLine(stdout, "A " + device + " " + s + " .\n");
                                    }
                                });
                    }
                }
            }, "producer-" + t);
            producer.setDaemon(true);
            producer.start();
        }
        Thread.sleep(Long.MAX_VALUE);
    }

    private static void writeLine(FileOutputStream out, String line) {
        try {
            out.write(line.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void step(RocksDbMessageStore store, Path dir, BufferedWriter out, String device, int count)
            throws Exception {
        for (long seq = 1; seq <= count; seq++) {
            CompletableFuture<AppendResult> f = new CompletableFuture<>();
            store.append(device, seq, StoreTesting.payloadOf(device, seq), 1_000L + seq, (r, e) -> {
                if (e != null) {
                    f.completeExceptionally(e);
                } else {
                    f.complete(r);
                }
            });
            f.get(10, TimeUnit.SECONDS);
            Path wal = newestWal(dir);
            out.write("S " + seq + " " + wal.getFileName() + " " + Files.size(wal) + " .\n");
            out.flush();
        }
        out.write("DONE\n");
        out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    /** The WAL file RocksDB is appending to: the *.log with the highest file number. */
    static Path newestWal(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("\\d+\\.log"))
                    .max((a, b) -> Long.compare(number(a), number(b)))
                    .orElseThrow(() -> new IOException("no WAL in " + dir));
        }
    }

    private static long number(Path p) {
        String n = p.getFileName().toString();
        return Long.parseLong(n.substring(0, n.length() - 4));
    }
}
