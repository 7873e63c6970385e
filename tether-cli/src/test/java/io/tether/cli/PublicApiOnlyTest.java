package io.tether.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command line is a client of the server library's public API, like any application: no
 * class of tether-cli refers to {@code io.tether.server.internal}. Checked on the compiled
 * classes, so a fully qualified name in the code is caught as well as an import.
 */
class PublicApiOnlyTest {
    private static final byte[] INTERNAL = "io/tether/server/internal/".getBytes(StandardCharsets.US_ASCII);

    @Test
    void noCliClass_refersToServerInternals() throws Exception {
        Path classes = Path.of(TetherCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Path> offenders;
        List<Path> all;
        try (Stream<Path> files = Files.walk(classes)) {
            all = files.filter(p -> p.toString().endsWith(".class")).toList();
        }
        offenders = all.stream().filter(PublicApiOnlyTest::refersToInternals).toList();
        assertThat(all).as("compiled classes of tether-cli under " + classes).hasSizeGreaterThan(10);
        assertThat(offenders)
                .as("tether-cli classes referring to io.tether.server.internal (use the public API of io.tether.server)")
                .isEmpty();
    }

    private static boolean refersToInternals(Path classFile) {
        try {
            byte[] b = Files.readAllBytes(classFile);
            outer:
            for (int i = 0; i <= b.length - INTERNAL.length; i++) {
                for (int j = 0; j < INTERNAL.length; j++) {
                    if (b[i + j] != INTERNAL[j]) {
                        continue outer;
                    }
                }
                return true;
            }
            return false;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
