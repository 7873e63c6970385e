package io.tether.server.internal.delivery;

import io.tether.server.AppendResult;
import io.tether.server.DeviceStats;
import io.tether.server.StoredMessage;

import static io.tether.server.internal.delivery.StoreTesting.appendAndWait;
import static io.tether.server.internal.delivery.StoreTesting.payloadOf;
import static io.tether.server.internal.delivery.StoreTesting.readAll;
import static io.tether.server.internal.delivery.StoreTesting.seqs;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store written by another process that is killed with SIGKILL mid-stream, sometimes with its
 * WAL damaged afterwards, reopens cleanly and still holds every message that process acknowledged.
 */
class CrashRecoveryTest {
    private static final Pattern ACK = Pattern.compile("A (\\S+) (\\d+) \\.");
    private static final Pattern STEP = Pattern.compile("S (\\d+) (\\S+) (\\d+) \\.");

    @TempDir
    Path tmp;

    private Child child;

    @AfterEach
    void killChild() throws InterruptedException {
        if (child != null) {
            child.kill();
        }
    }

    @Test
    void killDashNineMidStream_losesNothingAcknowledged() throws Exception {
        Path dir = tmp.resolve("store");
        Map<String, List<Long>> acked = streamThenKill(dir);

        assertEveryAckedMessageIsStored_andDevicesAreContiguous(dir, acked);
    }

    @Test
    void garbageAfterTheWalTail_isCutOff_andEverythingAcknowledgedSurvives() throws Exception {
        Path dir = tmp.resolve("store");
        Map<String, List<Long>> acked = streamThenKill(dir);
        Path wal = StoreChild.newestWal(dir);
        long before = Files.size(wal);
        assertThat(before).as("the killed process left its messages in the WAL").isGreaterThan(4096);

        byte[] garbage = new byte[8192];
        new Random(42).nextBytes(garbage);
        Files.write(wal, garbage, java.nio.file.StandardOpenOption.APPEND);

        assertEveryAckedMessageIsStored_andDevicesAreContiguous(dir, acked);
    }

    @Test
    void walTruncatedInsideARecord_keepsEveryRecordBeforeTheCut() throws Exception {
        Path dir = tmp.resolve("store");
        child = Child.start(tmp, "step", dir.toString(), "meter-7", "300");
        child.await(() -> child.lines.contains("DONE"), 60);
        child.kill();
        // walBytes after seq n = end of the WAL record that holds n.
        Map<Long, Long> walEnd = new HashMap<>();
        String walName = null;
        for (String line : child.lines) {
            Matcher m = STEP.matcher(line);
            if (m.matches()) {
                walEnd.put(Long.parseLong(m.group(1)), Long.parseLong(m.group(3)));
                walName = m.group(2);
            }
        }
        assertThat(walEnd).hasSize(300);
        Path wal = dir.resolve(walName);
        assertThat(StoreChild.newestWal(dir)).isEqualTo(wal);
        long cut = walEnd.get(199L) + (walEnd.get(200L) - walEnd.get(199L)) / 2;
        try (RandomAccessFile f = new RandomAccessFile(wal.toFile(), "rw")) {
            f.setLength(cut);
        }

        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            List<StoredMessage> stored = readAll(store, "meter-7", 0);
            assertThat(seqs(stored)).containsExactlyElementsOf(LongStream.rangeClosed(1, 199).boxed().toList());
            assertThat(stored.get(198).payload()).isEqualTo(payloadOf("meter-7", 199));
            assertThat(store.lastSeq("meter-7")).isEqualTo(199);
            assertThat(store.stats("meter-7")).contains(new DeviceStats("meter-7", 199, 1, 199));
            // The device resends what was lost with the cut: it is stored, not taken for a duplicate.
            assertThat(appendAndWait(store, "meter-7", 200)).isEqualTo(AppendResult.STORED);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** Runs the streaming child for about a second, kills it, and returns what it acknowledged. */
    private Map<String, List<Long>> streamThenKill(Path dir) throws Exception {
        child = Child.start(tmp, "stream", dir.toString(), "3", "4");
        child.await(() -> child.lines.size() >= 1_000, 60);
        // Writing at full speed now (JVM start and RocksDB open are behind it); kill mid-stream.
        Thread.sleep(1_000);
        child.kill();

        Map<String, List<Long>> acked = new HashMap<>();
        for (String line : child.lines) {
            Matcher m = ACK.matcher(line);
            if (m.matches()) {
                acked.computeIfAbsent(m.group(1), d -> new ArrayList<>()).add(Long.parseLong(m.group(2)));
            }
        }
        assertThat(acked).as("acknowledged devices").hasSize(12);
        System.out.printf("crash test: child acknowledged %d messages before SIGKILL%n",
                acked.values().stream().mapToInt(List::size).sum());
        return acked;
    }

    private static void assertEveryAckedMessageIsStored_andDevicesAreContiguous(Path dir, Map<String, List<Long>> acked)
            throws IOException {
        long storedTotal = 0;
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            for (Map.Entry<String, List<Long>> e : acked.entrySet()) {
                String device = e.getKey();
                List<StoredMessage> stored = readAll(store, device, 0);
                long last = store.lastSeq(device);
                // No holes: 1..lastSeq, each once, and lastSeq in the devices family agrees.
                assertThat(seqs(stored)).as(device).containsExactlyElementsOf(
                        LongStream.rangeClosed(1, last).boxed().toList());
                assertThat(store.stats(device)).contains(new DeviceStats(device, last, 1, last));
                Map<Long, StoredMessage> bySeq = new HashMap<>();
                stored.forEach(m -> bySeq.put(m.seq(), m));
                for (long seq : e.getValue()) {
                    assertThat(bySeq).as("%s/%d was acknowledged", device, seq).containsKey(seq);
                    assertThat(bySeq.get(seq).payload()).isEqualTo(payloadOf(device, seq));
                }
                storedTotal += stored.size();
            }
            assertThat(store.stats()).hasSize(acked.size());
        }
        System.out.printf("crash test: store holds %d messages after reopen%n", storedTotal);
    }

    /** The child JVM running {@link StoreChild}, with its stdout collected line by line. */
    private static final class Child {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final Thread reader;

        private Child(Process process) {
            this.process = process;
            this.reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // The pipe closes when the child dies.
                }
            }, "child-stdout");
            reader.start();
        }

        static Child start(Path tmp, String... args) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(StoreChild.class.getName());
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .redirectError(tmp.resolve("child-stderr.txt").toFile());
            return new Child(pb.start());
        }

        void await(BooleanSupplier condition, int seconds) {
            Awaitility.await().atMost(seconds, TimeUnit.SECONDS).pollInterval(10, TimeUnit.MILLISECONDS)
                    .until(() -> {
                        if (condition.getAsBoolean()) {
                            return true;
                        }
                        if (!process.isAlive() && !reader.isAlive()) {
                            throw new AssertionError("child exited with " + process.exitValue()
                                    + " (stderr in child-stderr.txt)");
                        }
                        return false;
                    });
        }

        /** SIGKILL, then wait until the process is gone and its output fully read. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(30_000);
        }
    }
}
