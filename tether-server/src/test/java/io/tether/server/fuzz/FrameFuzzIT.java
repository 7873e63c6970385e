package io.tether.server.fuzz;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzing of the frame decoder and the handshake: a bounded run in the test gate (seeded, so a
 * failure reproduces), plus the regression corpus of malformed inputs kept in the repository.
 * Raise the run with {@code -Dtether.fuzz.iterations=1000000 -Dtether.fuzz.seed=N}. Inputs that
 * break an invariant are written to target/fuzz-failures/ as hex, ready to join the corpus.
 */
class FrameFuzzIT {
    private static final Path CORPUS = Path.of("src", "test", "resources", "fuzz-corpus");

    @Test
    void mutatedInputs_neverBreakTheInvariants() throws IOException {
        int iterations = Integer.getInteger("tether.fuzz.iterations", 10_000);
        long seed = Long.getLong("tether.fuzz.seed", 20261126L);
        FrameFuzzer fuzzer = new FrameFuzzer(seed);
        List<byte[]> pool = new ArrayList<>(FrameFuzzer.seeds());
        pool.addAll(corpus());
        List<String> failures = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            byte[] input = fuzzer.mutate(pool.get(i % pool.size()), pool);
            String broken = fuzzer.check(input, seed + i);
            if (broken != null) {
                failures.add(broken + " <- " + HexFormat.of().formatHex(input));
                Path dir = Path.of("target", "fuzz-failures");
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("failure-" + seed + "-" + i + ".hex"), HexFormat.of().formatHex(input));
                if (failures.size() >= 10) {
                    break;
                }
            }
        }
        System.out.printf("fuzz: %d inputs (seed %d) in %.1f s, %d broke an invariant%n", iterations, seed,
                (System.nanoTime() - start) / 1e9, failures.size());
        assertThat(failures).isEmpty();
    }

    @Test
    void regressionCorpus_everyInputClosesOnlyItsConnection() throws IOException {
        List<byte[]> corpus = corpus();
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(10);
        FrameFuzzer fuzzer = new FrameFuzzer(1);
        for (int i = 0; i < corpus.size(); i++) {
            for (long split = 0; split < 5; split++) {
                assertThat(fuzzer.check(corpus.get(i), split)).as("corpus input %d, split %d", i, split).isNull();
            }
        }
    }

    static List<byte[]> corpus() throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(CORPUS)) {
            for (Path p : files.sorted().toList()) {
                String hex = Files.readString(p).replaceAll("#.*", "").replaceAll("\\s+", "");
                out.add(HexFormat.of().parseHex(hex));
            }
        }
        return out;
    }
}
