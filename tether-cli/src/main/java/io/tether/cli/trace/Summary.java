package io.tether.cli.trace;

import java.util.EnumMap;
import java.util.Map;

/** Counts of the connections shown, by verdict. */
final class Summary {
    final Map<Verdict, Long> verdicts = new EnumMap<>(Verdict.class);
    long shown;

    void add(Connection c) {
        shown++;
        verdicts.merge(c.verdict, 1L, Long::sum);
    }
}
