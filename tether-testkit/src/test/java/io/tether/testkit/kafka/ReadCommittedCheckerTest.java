package io.tether.testkit.kafka;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

import static org.assertj.core.api.Assertions.assertThat;

/** The checker's verdicts, without a broker: what it reports for repeated and reordered seqs. */
class ReadCommittedCheckerTest {
    private static final ToLongFunction<ReadCommittedChecker.Entry> SEQ = e -> Long.parseLong(e.headerText("seq"));

    private static Map<String, List<ReadCommittedChecker.Entry>> read(String key, long... seqs) {
        List<ReadCommittedChecker.Entry> entries = new ArrayList<>();
        for (int i = 0; i < seqs.length; i++) {
            entries.add(new ReadCommittedChecker.Entry("t", 0, i, key, new byte[0],
                    Map.of("seq", String.valueOf(seqs[i]).getBytes(StandardCharsets.UTF_8))));
        }
        Map<String, List<ReadCommittedChecker.Entry>> byKey = new LinkedHashMap<>();
        byKey.put(key, entries);
        return byKey;
    }

    private static List<Long> offsets(List<ReadCommittedChecker.Entry> entries) {
        return entries.stream().map(ReadCommittedChecker.Entry::offset).toList();
    }

    @Test
    void increasingSeqs_areNeitherDuplicatedNorOutOfOrder() {
        Map<String, List<ReadCommittedChecker.Entry>> r = read("d", 0, 1, 2, 5, 9);
        assertThat(ReadCommittedChecker.duplicates(r, SEQ)).isEmpty();
        assertThat(ReadCommittedChecker.outOfOrder(r, SEQ)).isEmpty();
    }

    @Test
    void repeatedSeq_isADuplicate_andOutOfOrder() {
        Map<String, List<ReadCommittedChecker.Entry>> r = read("d", 0, 1, 1, 2);
        assertThat(offsets(ReadCommittedChecker.duplicates(r, SEQ).get("d"))).containsExactly(2L);
        assertThat(offsets(ReadCommittedChecker.outOfOrder(r, SEQ).get("d"))).containsExactly(2L);
    }

    @Test
    void seqBelowAnEarlierOne_isOutOfOrder_notADuplicate() {
        Map<String, List<ReadCommittedChecker.Entry>> r = read("d", 0, 3, 1, 2, 4);
        assertThat(ReadCommittedChecker.duplicates(r, SEQ)).isEmpty();
        // 1 and 2 both come after 3: each is reported, not only the first step down.
        assertThat(offsets(ReadCommittedChecker.outOfOrder(r, SEQ).get("d"))).containsExactly(2L, 3L);
    }
}
