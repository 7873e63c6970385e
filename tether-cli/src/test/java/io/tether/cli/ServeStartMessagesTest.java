package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.server.MessageStore;
import io.tether.server.MessageStores;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12 item 8: start-up failures say what is wrong. */
class ServeStartMessagesTest {
    @Test
    void invalidBindAddress_saysItIsInvalid() {
        Cli r = Cli.run("serve", "--bind", "999.1.1.1", "--insecure-no-auth", "--store", "memory");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--bind 999.1.1.1: not a valid IP address").doesNotContain("null")
                .doesNotContain("<unresolved>");
    }

    @Test
    void dataDirHeldByAnotherServer_namesTheHolder(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        try (MessageStore held = MessageStores.rocksDb(data, false, 1024)) {
            Cli r = Cli.run("serve", "--insecure-no-auth", "--port", "0", "--data-dir", data.toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("another tether process (pid " + ProcessHandle.current().pid() + ")")
                    .contains(data.toString()).doesNotContain("Resource temporarily unavailable");
        }
    }

    @Test
    void portOutOfRange_andSimIdPrefix_speakInFlags() {
        Cli port = Cli.run("serve", "--port", "70000", "--insecure-no-auth", "--store", "memory");
        assertThat(port.code()).isEqualTo(2);
        assertThat(port.err()).contains("--port 70000 (expected: 0 to 65535");
        Cli prefix = Cli.run("sim", "--target", "127.0.0.1:1", "--id-prefix", "a b");
        assertThat(prefix.code()).isEqualTo(2);
        assertThat(prefix.err()).contains("--id-prefix").contains("a space").doesNotContain("deviceId");
    }
}
