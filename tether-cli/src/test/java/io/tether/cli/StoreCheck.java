package io.tether.cli;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The store compared with what the devices sent and were told, for the tests that end by reading
 * the store ({@link StoreDump}): every message stored once (by device and seq, and by payload), none
 * that was never sent, each with the payload its device sent as that seq, every acknowledged
 * message present, and, if asked, each device's messages consecutive from seq 1.
 */
final class StoreCheck {
    /** What one device did: sent seqs 1..issued, each with {@link #payload}, and was told these were stored. */
    record Sent(int issued, Set<Long> acked) {
    }

    int stored;
    int storedAndAcked;
    int duplicateKeys;
    int duplicatePayloads;
    int missing;
    int foreign;
    int wrongPayload;
    int outOfOrder;
    /** The first problems found, for the failure message. */
    final List<String> problems = new ArrayList<>();

    private StoreCheck() {
    }

    /** The payload every test device sends as message {@code seq}: unique across devices and seqs. */
    static byte[] payload(String deviceId, long seq) {
        return (deviceId + ":" + seq).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * @param sent        device id → what it sent and was told
     * @param consecutive whether each device's stored seqs must run 1, 2, 3, ... without a hole
     */
    static StoreCheck of(List<StoreDump.Message> dump, Map<String, Sent> sent, boolean consecutive) {
        StoreCheck c = new StoreCheck();
        Set<String> keys = new HashSet<>();
        Set<String> payloads = new HashSet<>();
        Map<String, Long> lastSeq = new HashMap<>();
        for (StoreDump.Message m : dump) {
            c.stored++;
            String key = m.device() + "#" + m.seq();
            String payload = new String(m.payload(), StandardCharsets.ISO_8859_1);
            if (!keys.add(key)) {
                c.duplicateKeys++;
                c.problem("stored twice: " + key);
            }
            if (!payloads.add(payload)) {
                c.duplicatePayloads++;
                c.problem("payload \"" + payload + "\" stored twice, again as " + key);
            }
            Sent s = sent.get(m.device());
            if (s == null || m.seq() < 1 || m.seq() > s.issued()) {
                c.foreign++;
                c.problem("stored but never sent: " + key + " \"" + payload + "\"");
                continue;
            }
            byte[] expected = payload(m.device(), m.seq());
            if (!Arrays.equals(m.payload(), expected)) {
                c.wrongPayload++;
                c.problem(key + " holds \"" + payload + "\", the device sent \""
                        + new String(expected, StandardCharsets.US_ASCII) + "\" as that seq");
            }
            if (s.acked().contains(m.seq())) {
                c.storedAndAcked++;
            }
            Long prev = lastSeq.put(m.device(), m.seq());
            if (consecutive && (prev == null ? m.seq() != 1 : m.seq() != prev + 1)) {
                c.outOfOrder++;
                c.problem(key + " follows seq " + prev + " (expected: consecutive from 1)");
            }
        }
        sent.forEach((device, s) -> {
            for (long seq : s.acked()) {
                if (!keys.contains(device + "#" + seq)) {
                    c.missing++;
                    c.problem("acknowledged but not stored: " + device + "#" + seq);
                }
            }
        });
        return c;
    }

    private void problem(String p) {
        if (problems.size() < 50) {
            problems.add(p);
        }
    }
}
