package io.tether.cli;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Why a store did not open, in words: RocksDB's "LOCK: Resource temporarily unavailable" means
 * another process has the data directory open; this finds that process by scanning
 * {@code /proc/PID/fd} for the directory's LOCK file (as {@code fuser} does).
 */
final class StoreLock {
    private StoreLock() {
    }

    /** The message for a store in {@code dataDir} that failed to open with {@code e}. */
    static String explain(Path dataDir, IOException e) {
        Path dir = dataDir.toAbsolutePath().normalize();
        String m = String.valueOf(e.getMessage());
        if (m.contains("LOCK") && (m.contains("Resource temporarily unavailable") || m.contains("lock hold"))) {
            OptionalLong pid = holder(dir.resolve("LOCK"));
            return "another tether process" + (pid.isPresent() ? " (pid " + pid.getAsLong() + ")" : "")
                    + " uses the data directory " + dir + ": stop it first, or give this one its own --data-dir";
        }
        return "cannot open the store in " + dir + " (--data-dir): " + m;
    }

    /** The pid of a process that has {@code file} open, if one can be seen. */
    static OptionalLong holder(Path file) {
        Path proc = Path.of("/proc");
        if (!Files.isDirectory(proc)) {
            return OptionalLong.empty();
        }
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, "[0-9]*")) {
            for (Path p : pids) {
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(p.resolve("fd"))) {
                    for (Path fd : fds) {
                        try {
                            if (Files.readSymbolicLink(fd).equals(file)) {
                                return OptionalLong.of(Long.parseLong(p.getFileName().toString()));
                            }
                        } catch (IOException | UnsupportedOperationException gone) {
                            // closed meanwhile
                        }
                    }
                } catch (IOException | SecurityException notOurs) {
                    // another user's process, or gone
                }
            }
        } catch (IOException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }
}
