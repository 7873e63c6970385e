package io.tether.server;

import io.tether.protocol.auth.DeviceToken;
import io.tether.server.Authenticator.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The public credentials surface: what `tether credentials add` writes, the token authenticator accepts. */
class CredentialsTest {
    private static final long NOW = 1_800_000_000_000L;

    @Test
    void addedDevice_isAcceptedWithItsSecret_only(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        Credentials.addDevice(file, "truck-1", "s3cret");
        assertThat(Files.readString(file)).as("the secret is not written").doesNotContain("s3cret");
        Authenticator a = Authenticators.tokens(Credentials.load(file));
        byte[] good = DeviceToken.create(DeviceToken.deviceKey("truck-1", "s3cret"), "truck-1", NOW + 60_000);
        byte[] bad = DeviceToken.create(DeviceToken.deviceKey("truck-1", "guess"), "truck-1", NOW + 60_000);
        assertThat(a.authenticate("truck-1", good, NOW).toCompletableFuture().join()).isEqualTo(Verdict.OK);
        assertThat(a.authenticate("truck-1", bad, NOW).toCompletableFuture().join()).isNotEqualTo(Verdict.OK);
    }

    @Test
    void groupAdded_afterLoad_isInForceAfterReload(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("creds");
        Credentials.addDevice(file, "truck-1", "s3cret");
        Credentials c = Credentials.load(file);
        Authenticator a = Authenticators.tokens(c);
        Credentials.addGroup(file, "meter-", "shared");
        assertThat(c.reload(true)).isTrue();
        assertThat(c.size()).isEqualTo(2);
        byte[] key = DeviceToken.memberKey(DeviceToken.groupKey("meter-", "shared"), "meter-7");
        assertThat(a.authenticate("meter-7", DeviceToken.create(key, "meter-7", NOW + 60_000), NOW)
                .toCompletableFuture().join()).isEqualTo(Verdict.OK);
    }
}
