package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tether.server.Credentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12 item 9: credentials add writes only files the server accepts; list and remove. */
class CredentialsCommandTest {
    @Test
    void idsTheServerWouldRefuse_areRefused(@TempDir Path dir) {
        Path file = dir.resolve("creds");
        Cli spaced = Cli.run("credentials", "add", "--file", file.toString(), "--device", "a b", "--secret", "s");
        assertThat(spaced.code()).isEqualTo(2);
        assertThat(spaced.err()).contains("--device 'a b': a space at position 2");
        Cli empty = Cli.run("credentials", "add", "--file", file.toString(), "--group", "", "--secret", "s");
        assertThat(empty.code()).isEqualTo(2);
        assertThat(empty.err()).contains("--group is empty");
        assertThat(file).doesNotExist();
    }

    @Test
    void emptySecret_saysTheSecretIsEmpty(@TempDir Path dir) {
        Cli r = Cli.run("credentials", "add", "--file", dir.resolve("c").toString(), "--device", "d1", "--secret", "");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--secret is empty").doesNotContain("null");
    }

    @Test
    void corruptFile_isLeftUntouched(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        byte[] before = "hello world this is not it\n".getBytes();
        Files.write(file, before);
        Cli r = Cli.run("credentials", "add", "--file", file.toString(), "--device", "d1", "--secret", "s");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("is not a credentials file: line 1").contains("it was not changed");
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void addListRemove_fileIsOwnerOnly_andKeysAreNeverPrinted(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        assertThat(Cli.run("credentials", "add", "--file", file.toString(), "--device", "truck-1", "--secret", "s1").code()).isZero();
        assertThat(Cli.run("credentials", "add", "--file", file.toString(), "--group", "sim-", "--secret", "s2").code()).isZero();
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
        System.out.println("mode " + mode);
        assertThat(mode).isEqualTo("rw-------");
        Cli list = Cli.run("credentials", "list", "--file", file.toString());
        assertThat(list.code()).isZero();
        assertThat(list.out().lines()).containsExactly("device truck-1", "group sim-");
        assertThat(list.out()).doesNotContainPattern("[0-9a-f]{64}");

        Cli removed = Cli.run("credentials", "remove", "--file", file.toString(), "--device", "truck-1");
        assertThat(removed.code()).isZero();
        assertThat(Cli.run("credentials", "list", "--file", file.toString()).out().lines()).containsExactly("group sim-");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Credentials.load(file).size()).as("the server still reads it").isEqualTo(1);

        Cli again = Cli.run("credentials", "remove", "--file", file.toString(), "--device", "truck-1");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("no device truck-1 in " + file);
    }

    @Test
    void missingSubcommand_exits2_likeStore() {
        Cli creds = Cli.run("credentials");
        Cli store = Cli.run("store");
        assertThat(creds.code()).isEqualTo(2).isEqualTo(store.code());
        assertThat(creds.err()).contains("missing subcommand");
    }
}
