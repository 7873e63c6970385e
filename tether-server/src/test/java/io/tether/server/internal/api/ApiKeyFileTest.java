package io.tether.server.internal.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.HexFormat;
import java.security.MessageDigest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ApiKeyFileTest {
    @TempDir
    Path dir;

    @Test
    void add_returnsAKeyOnce_andStoresOnlyItsSha256_ownerOnly() throws Exception {
        Path file = dir.resolve("keys");

        String key = ApiKeyFile.add(file, "ci-deployer");

        assertThat(key).matches("tk_[A-Za-z0-9_-]{43}");
        String text = Files.readString(file);
        assertThat(text).doesNotContain(key).doesNotContain(key.substring(3));
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.US_ASCII)));
        assertThat(text).contains("key ci-deployer " + hash + "\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    }

    @Test
    void twoKeys_areRandomAndDistinct() throws Exception {
        Path file = dir.resolve("keys");
        assertThat(ApiKeyFile.add(file, "a")).isNotEqualTo(ApiKeyFile.add(file, "b"));
    }

    @Test
    void authenticate_namesTheKey_andRefusesAnythingElse() throws Exception {
        Path file = dir.resolve("keys");
        String a = ApiKeyFile.add(file, "alice");
        String b = ApiKeyFile.add(file, "bob");
        ApiKeyFile keys = ApiKeyFile.load(file);

        assertThat(keys.authenticate(a)).isEqualTo("alice");
        assertThat(keys.authenticate(b)).isEqualTo("bob");
        assertThat(keys.authenticate(ApiKeyFile.newKey())).isNull();
        assertThat(keys.authenticate(a.substring(0, a.length() - 1))).isNull();
        assertThat(keys.authenticate("")).isNull();
        assertThat(keys.authenticate(null)).isNull();
        assertThat(keys.names()).containsExactly("alice", "bob");
    }

    @Test
    void addOfAnExistingName_isRefused_andTheFileIsUnchanged() throws Exception {
        Path file = dir.resolve("keys");
        ApiKeyFile.add(file, "alice");
        String before = Files.readString(file);

        assertThatThrownBy(() -> ApiKeyFile.add(file, "alice")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("already has a key named alice");
        assertThat(Files.readString(file)).isEqualTo(before);
    }

    @Test
    void badNames_areRefused() {
        for (String bad : new String[] {"", "has space", "x".repeat(65), "ümlaut", "a/b"}) {
            assertThatThrownBy(() -> ApiKeyFile.add(dir.resolve("keys"), bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: 1 to 64 letters");
        }
        assertThat(dir.resolve("keys")).doesNotExist();
    }

    @Test
    void addToAFileThatIsNotAKeysFile_leavesItUntouched() throws Exception {
        Path file = dir.resolve("creds");
        Files.writeString(file, "device truck-1 " + "ab".repeat(32) + "\n");

        assertThatThrownBy(() -> ApiKeyFile.add(file, "alice")).isInstanceOf(IOException.class)
                .hasMessage(file + ":1: expected 'key NAME SHA256' (is this an API keys file?)");
        assertThat(Files.readString(file)).startsWith("device truck-1");
    }

    @Test
    void existingFile_keepsItsMode() throws Exception {
        Path file = dir.resolve("keys");
        ApiKeyFile.add(file, "alice");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));

        ApiKeyFile.add(file, "bob");

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r-----");
    }

    @Test
    void remove_revokesTheKey_onReload() throws Exception {
        Path file = dir.resolve("keys");
        String a = ApiKeyFile.add(file, "alice");
        String b = ApiKeyFile.add(file, "bob");
        ApiKeyFile keys = ApiKeyFile.load(file);

        assertThat(ApiKeyFile.remove(file, "alice")).isTrue();
        assertThat(ApiKeyFile.remove(file, "alice")).isFalse();
        assertThat(keys.reload(true)).isTrue();

        assertThat(keys.authenticate(a)).isNull();
        assertThat(keys.authenticate(b)).isEqualTo("bob");
    }

    @Test
    void removingTheLastKey_revokesIt_thoughAnEmptyFileCannotStartAServer() throws Exception {
        Path file = dir.resolve("keys");
        String a = ApiKeyFile.add(file, "alice");
        ApiKeyFile keys = ApiKeyFile.load(file);

        ApiKeyFile.remove(file, "alice");
        keys.reload(true);

        assertThat(keys.authenticate(a)).isNull();
        assertThat(keys.size()).isZero();
        assertThatThrownBy(() -> ApiKeyFile.load(file)).isInstanceOf(IOException.class)
                .hasMessageContaining("has no keys: every request would be refused")
                .hasMessageContaining("tether api-keys add NAME --file " + file);
    }

    @Test
    void reload_withoutForce_readsOnlyAChangedFile() throws Exception {
        Path file = dir.resolve("keys");
        ApiKeyFile.add(file, "alice");
        ApiKeyFile keys = ApiKeyFile.load(file);

        assertThat(keys.reload(false)).isFalse();
        String b = ApiKeyFile.add(file, "bob");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));

        assertThat(keys.reload(false)).isTrue();
        assertThat(keys.authenticate(b)).isEqualTo("bob");
    }

    @Test
    void aBrokenFile_keepsThePreviousKeys_andTheErrorNamesFileAndLine() throws Exception {
        Path file = dir.resolve("keys");
        String a = ApiKeyFile.add(file, "alice");
        ApiKeyFile keys = ApiKeyFile.load(file);
        Files.writeString(file, "# keys\nkey alice nothex\n");

        assertThatThrownBy(() -> keys.reload(true)).isInstanceOf(IOException.class)
                .hasMessage(file + ":2: the hash is not 64 hex digits (a SHA-256)");
        assertThat(keys.authenticate(a)).isEqualTo("alice");
    }

    @Test
    void aFileCutShort_isRefused() throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, "key alice " + "ab".repeat(32));

        assertThatThrownBy(() -> ApiKeyFile.load(file)).isInstanceOf(IOException.class)
                .hasMessageContaining("the last line has no line end");
    }

    @Test
    void duplicateNames_missingFileAndDirectories_areRefusedByName() throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, "key a " + "ab".repeat(32) + "\nkey a " + "cd".repeat(32) + "\n");
        assertThatThrownBy(() -> ApiKeyFile.load(file)).hasMessage(file + ":2: a second key named a (names are unique)");
        assertThatThrownBy(() -> ApiKeyFile.load(dir.resolve("none"))).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> ApiKeyFile.load(dir)).hasMessageContaining("is not a regular file");
    }
}
