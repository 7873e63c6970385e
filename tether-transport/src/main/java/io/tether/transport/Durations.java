package io.tether.transport;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them, the one reader for the command line, the config file and the
 * HTTP API: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, {@code 1d}, a combination such as
 * {@code 1m30s}, a bare {@code 0}, or ISO-8601 ({@code PT1S}). The inverse is
 * {@link KeepAlive#format}. Stateless and thread-safe.
 */
public final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    /** The forms accepted, for messages: {@code e.g. 500ms, 10s, 2m, 1h, 1m30s or 0}. */
    public static final String EXPECTED = "e.g. 500ms, 10s, 2m, 1h, 1m30s or 0";

    private Durations() {
    }

    /**
     * Reads {@code value}; surrounding blanks and letter case are ignored.
     *
     * @throws IllegalArgumentException {@code '10x' is not a duration (expected e.g. 500ms, ...)},
     *                                  also for a negative duration or one that overflows
     */
    public static Duration parse(String value) {
        if (value == null) {
            throw invalid("null");
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.equals("0")) {
            return Duration.ZERO;
        }
        try {
            if (v.startsWith("p")) {
                Duration d = Duration.parse(value.trim());
                if (d.isNegative()) {
                    throw invalid(value);
                }
                return d;
            }
            Matcher m = PART.matcher(v);
            Duration total = Duration.ZERO;
            int end = 0;
            while (m.find()) {
                if (m.start() != end) {
                    throw invalid(value);
                }
                long n = Long.parseLong(m.group(1));
                total = switch (m.group(2)) {
                    case "ms" -> total.plusMillis(n);
                    case "s" -> total.plusSeconds(n);
                    case "m" -> total.plus(Duration.ofMinutes(n));
                    case "h" -> total.plus(Duration.ofHours(n));
                    default -> total.plus(Duration.ofDays(n));
                };
                end = m.end();
            }
            if (end == 0 || end != v.length()) {
                throw invalid(value);
            }
            return total;
        } catch (DateTimeParseException | ArithmeticException | NumberFormatException e) {
            // A number of more than 19 digits, or a sum beyond Duration's range of ~292 billion years.
            throw invalid(value);
        }
    }

    private static IllegalArgumentException invalid(String value) {
        return new IllegalArgumentException("'" + value + "' is not a duration (expected " + EXPECTED + ")");
    }
}
