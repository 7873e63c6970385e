package io.tether.server.internal.admission;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's open-files limit (RLIMIT_NOFILE), as the kernel states it in /proc/self/limits. */
public final class OpenFilesLimit {
    private static final Path LIMITS = Path.of("/proc/self/limits");

    private OpenFilesLimit() {
    }

    /**
     * The soft limit: the one that applies to this process now.
     *
     * @return the limit; {@link Long#MAX_VALUE} if unlimited or unknown (no /proc, e.g. not Linux)
     */
    public static long soft() {
        return soft(LIMITS);
    }

    static long soft(Path limits) {
        try {
            for (String line : Files.readAllLines(limits, StandardCharsets.US_ASCII)) {
                if (line.startsWith("Max open files")) {
                    String value = line.substring("Max open files".length()).strip().split("\\s+")[0];
                    return value.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(value);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc not mounted: nothing to go by
        }
        return Long.MAX_VALUE;
    }
}
