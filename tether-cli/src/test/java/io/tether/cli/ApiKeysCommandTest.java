package io.tether.cli;

import io.tether.server.ApiKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tether api-keys add|list|remove}: the key printed once, its hash stored, clear errors. */
class ApiKeysCommandTest {
    @TempDir
    Path dir;

    @Test
    void add_printsTheKeyAloneOnStdout_andStoresOnlyItsHash_ownerOnly() throws Exception {
        Path file = dir.resolve("api-keys");

        Cli r = Cli.run("api-keys", "add", "ci-deployer", "--file", file.toString());

        assertThat(r.code()).isZero();
        String key = r.out().strip();
        assertThat(key).matches("tk_[A-Za-z0-9_-]{43}");
        assertThat(r.err()).contains("added API key ci-deployer to " + file).contains("only time the key is shown");
        String text = Files.readString(file);
        assertThat(text).doesNotContain(key);
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.US_ASCII)));
        assertThat(text).contains("key ci-deployer " + hash);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(ApiKeys.load(file).size()).as("the server reads what the CLI wrote").isEqualTo(1);
    }

    @Test
    void addListRemove() {
        Path file = dir.resolve("api-keys");
        assertThat(Cli.run("api-keys", "add", "alice", "--file", file.toString()).code()).isZero();
        assertThat(Cli.run("api-keys", "add", "bob", "--file", file.toString()).code()).isZero();

        Cli list = Cli.run("api-keys", "list", "--file", file.toString());
        assertThat(list.code()).isZero();
        assertThat(list.out().lines()).containsExactly("alice", "bob");
        assertThat(list.out()).doesNotContain("tk_").doesNotContainPattern("[0-9a-f]{64}");

        Cli removed = Cli.run("api-keys", "remove", "alice", "--file", file.toString());
        assertThat(removed.code()).isZero();
        assertThat(removed.out()).contains("removed API key alice from " + file);
        assertThat(Cli.run("api-keys", "list", "--file", file.toString()).out().lines()).containsExactly("bob");
    }

    @Test
    void removeOfAnUnknownName_exits1_namingTheListCommand() {
        Path file = dir.resolve("api-keys");
        Cli.run("api-keys", "add", "alice", "--file", file.toString());

        Cli r = Cli.run("api-keys", "remove", "carol", "--file", file.toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no key named carol in " + file).contains("tether api-keys list --file " + file);
    }

    @Test
    void addOfAnExistingName_exits2_andKeepsTheFile() throws Exception {
        Path file = dir.resolve("api-keys");
        Cli.run("api-keys", "add", "alice", "--file", file.toString());
        byte[] before = Files.readAllBytes(file);

        Cli r = Cli.run("api-keys", "add", "alice", "--file", file.toString());

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("already has a key named alice").contains("tether api-keys remove alice");
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void badName_exits2_andWritesNothing() {
        Path file = dir.resolve("api-keys");

        Cli r = Cli.run("api-keys", "add", "my key", "--file", file.toString());

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("API key name 'my key' (expected: 1 to 64 letters, digits, '.', '_' or '-')");
        assertThat(file).doesNotExist();
    }

    @Test
    void aFileThatIsNotAKeysFile_isLeftUntouched() throws Exception {
        Path file = dir.resolve("creds");
        byte[] before = ("device truck-1 " + "ab".repeat(32) + "\n").getBytes(StandardCharsets.US_ASCII);
        Files.write(file, before);

        Cli r = Cli.run("api-keys", "add", "alice", "--file", file.toString());

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(file + ":1: expected 'key NAME SHA256' (is this an API keys file?); it was not changed");
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void missingFileOrDirectory_isNamed() {
        Cli list = Cli.run("api-keys", "list", "--file", dir.resolve("none").toString());
        assertThat(list.code()).isEqualTo(2);
        assertThat(list.err()).contains(dir.resolve("none") + " does not exist");

        Cli add = Cli.run("api-keys", "add", "alice", "--file", dir.resolve("no/such/dir/keys").toString());
        assertThat(add.code()).isEqualTo(2);
        assertThat(add.err()).contains("directory " + dir.resolve("no/such/dir") + " does not exist");
    }

    @Test
    void withoutSubcommand_exits2_listingThem() {
        Cli r = Cli.run("api-keys");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("missing subcommand (add, list or remove)");
    }
}
