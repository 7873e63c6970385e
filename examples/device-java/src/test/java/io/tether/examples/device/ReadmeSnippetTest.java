package io.tether.examples.device;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README's "Use the SDK" shows MinimalDevice.java as the complete minimal program; this keeps the
 * two identical, so the program a reader copies is one the build compiles. Skipped when the project
 * was copied out of the Tether checkout.
 */
class ReadmeSnippetTest {
    @Test
    void readmeShowsMinimalDeviceExactly() throws Exception {
        Path readme = Path.of("../../README.md");
        Assumptions.assumeTrue(Files.isRegularFile(readme), "not inside the Tether checkout");
        String source = Files.readString(Path.of("src/main/java/io/tether/examples/device/MinimalDevice.java"));
        String program = source.substring(source.indexOf("import io.tether.client.TetherClient;")).strip();
        String text = Files.readString(readme);
        assertThat(text).as("README.md contains examples/device-java's MinimalDevice.java from its imports on")
                .contains(program);
    }
}
