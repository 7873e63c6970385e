package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 items 7 and 8: a user's mistake gets a message naming the flag and the fix, exit 2,
 * never a stack trace.
 */
class UserMistakesTest {
    private static void oneLineNoTrace(Cli r, String... says) {
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("Usage:");
        assertThat(r.errLines()).as("a line, plus at most the --help hint").isLessThanOrEqualTo(2);
        for (String s : says) {
            assertThat(r.err()).contains(s);
        }
    }

    @Test
    void eventsFileInAMissingDirectory(@TempDir Path dir) {
        Path events = dir.resolve("log/tether/events.jsonl");
        oneLineNoTrace(Cli.run("serve", "--insecure-no-auth", "--store", "memory", "--port", "0",
                "--events", events.toString()), "--events " + events, "does not exist", "mkdir -p " + events.getParent());
    }

    @Test
    void credentialsFileInAMissingDirectory(@TempDir Path dir) {
        Path file = dir.resolve("missing/dir/creds");
        oneLineNoTrace(Cli.run("credentials", "add", "--file", file.toString(), "--device", "d1", "--secret", "s"),
                "--file " + file, "does not exist", "mkdir -p");
    }

    @Test
    void simTargetWithoutAPort() {
        oneLineNoTrace(Cli.run("sim", "--target", "127.0.0.1"), "--target '127.0.0.1'", "HOST:PORT");
    }

    @Test
    void simNegativeNumbers() {
        oneLineNoTrace(Cli.run("sim", "--target", "127.0.0.1:1", "--payload-size", "-1"), "--payload-size -1: expected 0 or more");
        oneLineNoTrace(Cli.run("sim", "--target", "127.0.0.1:1", "--threads", "-1"), "--threads -1: expected 0 or more");
        oneLineNoTrace(Cli.run("sim", "--target", "127.0.0.1:1", "--concurrency", "0"), "--concurrency 0: expected 1 or more");
    }

    @Test
    void binaryCredentialsFile_isNotACredentialsFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        Files.write(file, new byte[] {0x7f, 'E', 'L', 'F', 0, 1, (byte) 0xff, '\n'});
        oneLineNoTrace(Cli.run("serve", "--credentials", file.toString(), "--store", "memory", "--port", "0"),
                "credentials file " + file + " is not a credentials file");
    }

    @Test
    void missingCredentialsFile_saysItDoesNotExist(@TempDir Path dir) {
        Path file = dir.resolve("nope");
        oneLineNoTrace(Cli.run("serve", "--credentials", file.toString(), "--store", "memory", "--port", "0"),
                "credentials file " + file + " does not exist");
    }
}
