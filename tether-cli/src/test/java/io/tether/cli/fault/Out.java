package io.tether.cli.fault;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One JSON line per event on standard output, each stamped with {@code mono}: {@link System#nanoTime()}
 * in nanoseconds. On Linux that is CLOCK_MONOTONIC, one clock for every process on the host
 * whatever its network namespace, so the test compares stamps from different programs directly.
 */
final class Out {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Out() {
    }

    /** Starts an event: {@code event} and {@code mono} first. */
    static Map<String, Object> event(String name) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", name);
        m.put("mono", System.nanoTime());
        return m;
    }

    static void print(Map<String, Object> event) {
        try {
            String line = JSON.writeValueAsString(event);
            synchronized (System.out) {
                System.out.println(line);
                System.out.flush();
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
