package io.tether.server.internal.auth;

import io.tether.protocol.auth.DeviceToken;
import io.tether.server.Authenticator.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenAuthenticatorTest {
    private static final long NOW = 1_800_000_000_000L;

    @TempDir
    Path dir;

    /** The monotonic clock the replay memory ages by; tests move it with the wall clock they pass. */
    private long monotonic;

    private TokenAuthenticator authenticator(String... lines) throws IOException {
        Path file = dir.resolve("credentials");
        Files.write(file, List.of(lines));
        return new TokenAuthenticator(CredentialsFile.load(file), Duration.ofMinutes(10), 1_000, () -> monotonic);
    }

    @Test
    void validToken_isAccepted_once() throws Exception {
        TokenAuthenticator a = authenticator(CredentialsFile.deviceLine("truck-1", "s3cret"));
        byte[] token = DeviceToken.create(DeviceToken.deviceKey("truck-1", "s3cret"), "truck-1", NOW + 60_000);
        assertThat(a.check("truck-1", token, NOW)).isEqualTo(Verdict.OK);
        assertThat(a.check("truck-1", token, NOW + 1)).as("the same token again").isEqualTo(Verdict.REPLAYED);
    }

    @Test
    void everyWayOfBeingWrong_hasItsVerdict() throws Exception {
        TokenAuthenticator a = authenticator(CredentialsFile.deviceLine("truck-1", "s3cret"));
        byte[] key = DeviceToken.deviceKey("truck-1", "s3cret");
        byte[] wrongKey = DeviceToken.deviceKey("truck-1", "guess");
        assertThat(a.check("truck-1", new byte[0], NOW)).isEqualTo(Verdict.MALFORMED);
        assertThat(a.check("truck-1", DeviceToken.create(wrongKey, "truck-1", NOW + 60_000), NOW)).isEqualTo(Verdict.BAD_MAC);
        assertThat(a.check("truck-1", DeviceToken.create(key, "truck-1", NOW - 1), NOW)).isEqualTo(Verdict.EXPIRED);
        assertThat(a.check("truck-1", DeviceToken.create(key, "truck-1", NOW + Duration.ofHours(1).toMillis()), NOW))
                .isEqualTo(Verdict.TOO_FAR_IN_FUTURE);
        assertThat(a.check("truck-2", DeviceToken.create(key, "truck-2", NOW + 60_000), NOW)).isEqualTo(Verdict.UNKNOWN_DEVICE);
        // A valid token of truck-1 presented for another id: the id is under the MAC.
        TokenAuthenticator both = authenticator(CredentialsFile.deviceLine("truck-1", "s3cret"),
                CredentialsFile.deviceLine("truck-2", "s3cret"));
        assertThat(both.check("truck-2", DeviceToken.create(key, "truck-1", NOW + 60_000), NOW)).isEqualTo(Verdict.BAD_MAC);
        byte[] tampered = DeviceToken.create(key, "truck-1", NOW + 60_000);
        tampered[3] ^= 1; // move the expiry
        assertThat(a.check("truck-1", tampered, NOW)).isEqualTo(Verdict.BAD_MAC);
    }

    @Test
    void groupEntry_coversItsPrefix_deviceEntryWins_longestPrefixWins() throws Exception {
        TokenAuthenticator a = authenticator(CredentialsFile.groupLine("sim-", "fleet"),
                CredentialsFile.groupLine("sim-special-", "other"),
                CredentialsFile.deviceLine("sim-7", "own"));
        byte[] fleet = DeviceToken.groupKey("sim-", "fleet");
        assertThat(a.check("sim-1", DeviceToken.create(DeviceToken.memberKey(fleet, "sim-1"), "sim-1", NOW + 1000), NOW))
                .isEqualTo(Verdict.OK);
        assertThat(a.check("sim-7", DeviceToken.create(DeviceToken.memberKey(fleet, "sim-7"), "sim-7", NOW + 1000), NOW))
                .isEqualTo(Verdict.BAD_MAC);
        assertThat(a.check("sim-7", DeviceToken.create(DeviceToken.deviceKey("sim-7", "own"), "sim-7", NOW + 1000), NOW))
                .isEqualTo(Verdict.OK);
        byte[] other = DeviceToken.groupKey("sim-special-", "other");
        assertThat(a.check("sim-special-1",
                DeviceToken.create(DeviceToken.memberKey(other, "sim-special-1"), "sim-special-1", NOW + 1000), NOW))
                .isEqualTo(Verdict.OK);
        assertThat(a.check("simx", DeviceToken.create(DeviceToken.memberKey(fleet, "simx"), "simx", NOW + 1000), NOW))
                .isEqualTo(Verdict.UNKNOWN_DEVICE);
    }

    @Test
    void fullReplayMemory_refusesRatherThanForgetsUnexpiredNonces() throws Exception {
        Path file = dir.resolve("credentials");
        Files.write(file, List.of(CredentialsFile.deviceLine("d", "s")));
        TokenAuthenticator a = new TokenAuthenticator(CredentialsFile.load(file), Duration.ofMinutes(10), 3, () -> monotonic);
        byte[] key = DeviceToken.deviceKey("d", "s");
        for (int i = 0; i < 3; i++) {
            assertThat(a.check("d", DeviceToken.create(key, "d", NOW + 60_000), NOW)).isEqualTo(Verdict.OK);
        }
        assertThat(a.check("d", DeviceToken.create(key, "d", NOW + 60_000), NOW)).isEqualTo(Verdict.REPLAY_CACHE_FULL);
        // Once two generations (2 x the 10 min lifetime) have passed, those tokens have long
        // expired and their fingerprints are forgotten.
        long later = NOW + Duration.ofMinutes(20).toMillis() + 1;
        monotonic += Duration.ofMinutes(20).toNanos() + 1;
        assertThat(a.check("d", DeviceToken.create(key, "d", later + 60_000), later)).isEqualTo(Verdict.OK);
        assertThat(a.check("d", DeviceToken.create(key, "d", later + 60_000), later)).isEqualTo(Verdict.OK);
    }

    @Test
    void replayedToken_isRefusedForAsLongAsItIsValid() throws Exception {
        TokenAuthenticator a = authenticator(CredentialsFile.deviceLine("d", "s"));
        byte[] token = DeviceToken.create(DeviceToken.deviceKey("d", "s"), "d", NOW + Duration.ofMinutes(10).toMillis());
        assertThat(a.check("d", token, NOW)).isEqualTo(Verdict.OK);
        for (long t = NOW; t < NOW + Duration.ofMinutes(10).toMillis(); t += 17_000) {
            monotonic = Duration.ofMillis(t - NOW).toNanos();
            // Other devices' HELLOs keep the generations turning meanwhile.
            assertThat(a.check("d", token, t)).as("at +%d ms", t - NOW).isEqualTo(Verdict.REPLAYED);
        }
        assertThat(a.check("d", token, NOW + Duration.ofMinutes(10).toMillis())).isEqualTo(Verdict.EXPIRED);
    }

    @Test
    void wallClockSteppingForwardAndBack_doesNotLetACapturedHelloIn() throws Exception {
        TokenAuthenticator a = authenticator(CredentialsFile.deviceLine("d", "s"), CredentialsFile.deviceLine("e", "s"));
        byte[] captured = DeviceToken.create(DeviceToken.deviceKey("d", "s"), "d", NOW + Duration.ofMinutes(5).toMillis());
        assertThat(a.check("d", captured, NOW)).isEqualTo(Verdict.OK);

        // The wall clock jumps 20 minutes ahead (two generations of the 10-minute lifetime) while
        // one real second passes; another device's HELLO is checked at that time.
        monotonic += Duration.ofSeconds(1).toNanos();
        long ahead = NOW + Duration.ofMinutes(20).toMillis();
        assertThat(a.check("e", DeviceToken.create(DeviceToken.deviceKey("e", "s"), "e", ahead + 60_000), ahead))
                .isEqualTo(Verdict.OK);

        // The clock is stepped back: the captured token is within its validity again.
        monotonic += Duration.ofSeconds(1).toNanos();
        assertThat(a.check("d", captured, NOW + 2_000)).isEqualTo(Verdict.REPLAYED);
    }

    @Test
    void reload_picksUpChanges_andKeepsOldKeysWhenTheFileIsBroken() throws Exception {
        Path file = dir.resolve("credentials");
        Files.write(file, List.of(CredentialsFile.deviceLine("a", "1")));
        CredentialsFile creds = CredentialsFile.load(file);
        assertThat(creds.keyFor("b")).isNull();

        CredentialsFile.upsert(file, "device", "b", CredentialsFile.deviceLine("b", "2"));
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        assertThat(creds.reload(false)).isTrue();
        assertThat(creds.keyFor("b")).isEqualTo(DeviceToken.deviceKey("b", "2"));

        Files.writeString(file, "device b nothex\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 10_000));
        assertThatThrownBy(() -> creds.reload(false)).hasMessageContaining(":1: key is not hex");
        assertThat(creds.keyFor("a")).as("previous keys stay in force").isNotNull();
    }

    @Test
    void reload_refusesFilesThatCannotBeWhatWasMeant_andKeepsTheOldKeys() throws Exception {
        Path file = dir.resolve("credentials");
        Files.write(file, List.of(CredentialsFile.deviceLine("a", "1"), CredentialsFile.deviceLine("b", "2")));
        CredentialsFile creds = CredentialsFile.load(file);
        long t = System.currentTimeMillis();

        Files.writeString(file, "# all devices removed\n\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(t += 5_000));
        assertThatThrownBy(() -> creds.reload(false)).hasMessageContaining("has no entries");

        Files.writeString(file, "");
        Files.setLastModifiedTime(file, FileTime.fromMillis(t += 5_000));
        assertThatThrownBy(() -> creds.reload(false)).hasMessageContaining("has no entries");

        // Half-written: the first line and part of the second, or the first line without its end.
        String first = CredentialsFile.deviceLine("a", "1");
        Files.writeString(file, first + "\ndevice b 9f86");
        Files.setLastModifiedTime(file, FileTime.fromMillis(t += 5_000));
        assertThatThrownBy(() -> creds.reload(false)).hasMessageContaining("no line end");
        Files.writeString(file, first);
        Files.setLastModifiedTime(file, FileTime.fromMillis(t += 5_000));
        assertThatThrownBy(() -> creds.reload(false)).hasMessageContaining("no line end");

        Files.write(file, new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 1, '\n'});
        Files.setLastModifiedTime(file, FileTime.fromMillis(t += 5_000));
        assertThatThrownBy(() -> creds.reload(false)).hasMessageContaining("not text");

        assertThat(creds.keyFor("b")).as("previous keys stay in force").isEqualTo(DeviceToken.deviceKey("b", "2"));
        assertThatThrownBy(() -> CredentialsFile.load(dir.resolve("empty-at-start")))
                .hasMessageContaining("does not exist");
    }

    @Test
    void reload_ofAFifo_failsAtOnce_insteadOfBlockingTheReloader() throws Exception {
        Path file = dir.resolve("credentials");
        Files.write(file, List.of(CredentialsFile.deviceLine("a", "1")));
        CredentialsFile creds = CredentialsFile.load(file);
        Files.delete(file);
        Process mkfifo = new ProcessBuilder("mkfifo", file.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mkfifo.waitFor() == 0, "mkfifo unavailable");

        long start = System.nanoTime();
        assertThatThrownBy(() -> creds.reload(true)).hasMessageContaining("not a regular file");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
        assertThat(creds.keyFor("a")).isNotNull();
    }

    @Test
    void upsert_keepsTheModeOfAnExistingFile_andMakesNewOnesOwnerOnly() throws Exception {
        Path file = dir.resolve("credentials");
        CredentialsFile.upsert(file, "device", "a", CredentialsFile.deviceLine("a", "1"));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");

        // The operator lets the service's group read it (OPERATIONS, "Install on a host").
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        CredentialsFile.upsert(file, "device", "b", CredentialsFile.deviceLine("b", "2"));

        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-r-----");
        assertThat(CredentialsFile.load(file).keyFor("b")).isNotNull();
    }

    @Test
    void credentialsFile_neverContainsTheSecret() throws Exception {
        Path file = dir.resolve("credentials");
        CredentialsFile.upsert(file, "device", "truck-1", CredentialsFile.deviceLine("truck-1", "correct horse battery"));
        assertThat(Files.readString(file)).doesNotContain("correct horse battery").startsWith("device truck-1 ");
    }
}
