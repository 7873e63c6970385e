package io.tether.cli.fault;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The measured figures of a fault test: printed, and appended to
 * {@code target/fault-logs/figures.txt} so one run's numbers can be read in one place.
 */
final class Figures {
    private static final Path FILE = Path.of("target", "fault-logs", "figures.txt");

    private Figures() {
    }

    static void print(String test, String format, Object... args) {
        String line = "[" + test + "] " + String.format(Locale.ROOT, format, args);
        System.out.println(line);
        try {
            Files.createDirectories(FILE.getParent());
            Files.writeString(FILE, line + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // The figures are on stdout as well.
        }
    }
}
