package io.tether.server.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.server.MessageCursor;
import io.tether.server.StoreReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RocksDB out of file descriptors, for real: a child JVM under {@code prlimit --nofile=1024}
 * ({@link DescriptorChild}) takes every descriptor left while it writes, so the WAL RocksDB
 * switches to cannot be opened (EMFILE). The store must fail (resource "descriptors"), acknowledge
 * nothing meanwhile, and once the descriptors are released recover by itself, without a restart;
 * afterwards every acknowledged seq is in the store exactly once.
 */
class StoreDescriptorExhaustionIT {
    /** Probe every 0.5 s, then close and reopen RocksDB, on a loaded 2-core host. */
    private static final long RECOVERY_BOUND_MILLIS = 5_000;

    @TempDir
    Path tmp;

    @Test
    void noDescriptors_storeFails_thenRecoversByItself_nothingAckedLost() throws Exception {
        Assumptions.assumeTrue(onPath("prlimit"), "needs prlimit (util-linux)");
        Path dir = tmp.resolve("store");
        List<String> cmd = new ArrayList<>(List.of("prlimit", "--nofile=1024",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), DescriptorChild.class.getName(), dir.toString()));
        Process child = new ProcessBuilder(cmd).redirectError(tmp.resolve("child-stderr.txt").toFile()).start();
        List<String> lines = new ArrayList<>();
        long maxAcked = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("A ") && line.endsWith(" .")) {
                    maxAcked = Math.max(maxAcked, Long.parseLong(line.split(" ")[1]));
                } else {
                    lines.add(line);
                }
            }
        }
        assertThat(child.waitFor(90, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as("child exit; stderr: " + Files.readString(tmp.resolve("child-stderr.txt")))
                .isZero();
        String exhausted = find(lines, "EXHAUSTED ");
        String failed = find(lines, "FAILED ");
        String released = find(lines, "RELEASED ");
        long acksWhileFailed = Long.parseLong(released.split(" ")[0]);
        boolean recoveredWhileHeld = released.contains("recovered-while-held");
        long recoveredMillis = Long.parseLong(find(lines, "RECOVERED "));
        assertThat(exhausted).contains("Too many open files");
        assertThat(failed).startsWith("descriptors").contains("Too many open files");
        assertThat(acksWhileFailed).as("acknowledged while failed (failed: %s; lines: %s)", failed, lines).isZero();
        assertThat(recoveredMillis).as("ms from release to healthy").isLessThanOrEqualTo(RECOVERY_BOUND_MILLIS);

        List<Long> seqs = new ArrayList<>();
        try (StoreReader reader = StoreReader.openReadOnly(dir); MessageCursor c = reader.read("d", 1)) {
            c.forEachRemaining(m -> seqs.add(m.seq()));
        }
        assertThat(seqs).doesNotHaveDuplicates();
        assertThat(seqs.get(seqs.size() - 1)).as("stored 1..n, no hole").isEqualTo(seqs.size());
        assertThat((long) seqs.size()).as("every acknowledged seq is stored").isGreaterThanOrEqualTo(maxAcked);
        System.out.printf("StoreDescriptorExhaustionIT: %s; store failed (%s); %d acked while failed; recovered"
                        + " %s %d ms after the release (bound %d ms), no restart; %d acked, %d stored, 0 lost, 0 duplicates%n",
                exhausted, failed.substring(0, Math.min(failed.length(), 160)), acksWhileFailed,
                recoveredWhileHeld ? "(already while the descriptors were held: its reopen fit in those its close freed)" : "",
                recoveredMillis,
                RECOVERY_BOUND_MILLIS, maxAcked, seqs.size());
    }

    private static String find(List<String> lines, String prefix) {
        return lines.stream().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).findFirst()
                .orElseThrow(() -> new AssertionError("no line " + prefix.strip() + " in " + lines));
    }

    private static boolean onPath(String tool) {
        try {
            return new ProcessBuilder("which", tool).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
