package io.tether.server.internal.json;

import java.time.Instant;

/**
 * JSON text written by hand where it is made for every command: the event file's command lines
 * and the API's timestamps. {@code java.time}'s formatters cost several microseconds a timestamp
 * (a fraction goes through BigDecimal), and a command has up to five in its answer and one in
 * each of its four event lines. Stateless, thread-safe.
 */
public final class JsonText {
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    /** 0000-01-01 and 10000-01-01 in epoch milliseconds: outside, {@link Instant#toString()} has other shapes. */
    private static final long MIN_MILLIS = -62_167_219_200_000L;
    private static final long MAX_MILLIS = 253_402_300_800_000L;

    private JsonText() {
    }

    /**
     * Appends epoch milliseconds as RFC 3339 UTC, {@code 2026-12-02T03:13:00.120Z}: with
     * {@code alwaysFraction} always three fraction digits; without, as {@link Instant#toString()}
     * writes a millisecond instant (no fraction when it is zero).
     */
    public static StringBuilder appendTime(StringBuilder b, long epochMillis, boolean alwaysFraction) {
        if (epochMillis < MIN_MILLIS || epochMillis >= MAX_MILLIS) {
            String s = Instant.ofEpochMilli(epochMillis).toString();
            if (alwaysFraction && s.indexOf('.') < 0) {
                return b.append(s, 0, s.length() - 1).append(".000Z");
            }
            return b.append(s);
        }
        long days = Math.floorDiv(epochMillis, 86_400_000L);
        int msOfDay = (int) Math.floorMod(epochMillis, 86_400_000L);
        // Days to civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        long z = days + 719_468;
        long era = Math.floorDiv(z, 146_097);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int day = (int) (doy - (153 * mp + 2) / 5 + 1);
        int month = (int) (mp < 10 ? mp + 3 : mp - 9);
        int year = (int) (yoe + era * 400 + (month <= 2 ? 1 : 0));
        int secOfDay = msOfDay / 1000;
        int ms = msOfDay % 1000;
        digits(b, year, 4).append('-');
        digits(b, month, 2).append('-');
        digits(b, day, 2).append('T');
        digits(b, secOfDay / 3600, 2).append(':');
        digits(b, secOfDay / 60 % 60, 2).append(':');
        digits(b, secOfDay % 60, 2);
        if (alwaysFraction || ms != 0) {
            digits(b.append('.'), ms, 3);
        }
        return b.append('Z');
    }

    /** Epoch ms as RFC 3339 UTC with milliseconds, as {@link #appendTime} with a fraction always. */
    public static String time(long epochMillis) {
        return appendTime(new StringBuilder(24), epochMillis, true).toString();
    }

    private static StringBuilder digits(StringBuilder b, int v, int width) {
        for (int div = width == 4 ? 1000 : width == 3 ? 100 : 10; div > 0; div /= 10) {
            b.append((char) ('0' + v / div % 10));
        }
        return b;
    }

    /** Appends {@code s} as a JSON string (quotes included; RFC 8259 escapes: {@code "}, {@code \}, controls). */
    public static StringBuilder appendString(StringBuilder b, String s) {
        b.append('"');
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
            b.append(s, start, i);
            start = i + 1;
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> b.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 15]);
            }
        }
        return b.append(s, start, s.length()).append('"');
    }

    /** Appends {@code "name":} (the name is the caller's constant: plain ASCII, nothing to escape). */
    public static StringBuilder appendName(StringBuilder b, String name) {
        return b.append('"').append(name).append("\":");
    }
}
