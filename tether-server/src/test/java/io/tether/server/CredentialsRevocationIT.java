package io.tether.server;

import io.tether.client.TetherClient;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Removing or replacing a device's key ends its live session once the credentials are reloaded
 * and the server revalidates (what {@code tether serve} does after every successful reload); the
 * other devices' sessions are untouched.
 */
class CredentialsRevocationIT {
    @RegisterExtension
    final ServerFixture fixture = new ServerFixture();

    @TempDir
    Path dir;

    private TetherClient kept;
    private TetherClient revoked;
    private TetherClient rekeyed;

    @AfterEach
    void stop() {
        for (TetherClient c : new TetherClient[] {kept, revoked, rekeyed}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @Test
    void reloadWithoutADevicesKey_endsItsSessionWithinASecond_othersUntouched() throws Exception {
        Path file = dir.resolve("credentials");
        Credentials.addDevice(file, "keep-1", "s1");
        Credentials.addDevice(file, "gone-1", "s2");
        Credentials.addDevice(file, "rekey-1", "s3");
        Credentials credentials = Credentials.load(file);
        TetherServer server = fixture.start(b -> b.authenticator(Authenticators.tokens(credentials))
                .drain(Duration.ofMillis(200)));
        kept = connect(server, "keep-1", "s1");
        revoked = connect(server, "gone-1", "s2");
        rekeyed = connect(server, "rekey-1", "s3");
        long keptSession = kept.sessionId();

        // gone-1 removed, rekey-1 given a new secret, keep-1 as it was.
        List<String> lines = Files.readAllLines(file);
        Files.write(file, lines.stream().filter(l -> !l.contains(" gone-1 ")).toList());
        Credentials.addDevice(file, "rekey-1", "new-secret");
        assertThat(credentials.reload(true)).isTrue();
        long start = System.nanoTime();
        int ended = server.revalidate();

        await().atMost(Duration.ofSeconds(1)).until(() -> fixture.closes.stream()
                .filter(t -> t.event().reason() == Reason.AUTH_FAILED).count() >= 2);
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(fixture.closes.stream()
                .filter(t -> t.event().reason() == Reason.AUTH_FAILED).mapToLong(ServerFixture.Timed::nanos).max()
                .orElseThrow() - start);
        List<SessionClosed> authCloses = fixture.closesOf(Reason.AUTH_FAILED);
        System.out.printf("revalidate ended %d sessions; both closed within %d ms: %s%n", ended, tookMillis,
                authCloses.stream().map(c -> c.deviceId() + " '" + c.detail() + "'").toList());
        assertThat(ended).isEqualTo(2);
        assertThat(authCloses).extracting(SessionClosed::deviceId).containsExactlyInAnyOrder("gone-1", "rekey-1");
        assertThat(authCloses).allSatisfy(c -> assertThat(c.detail()).contains("credentials revoked"));

        // The untouched device keeps its session and goes on delivering.
        assertThat(kept.send("still here".getBytes()).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(kept.sessionId()).isEqualTo(keptSession);
        assertThat(server.registry().lookup("keep-1").epoch()).isEqualTo(keptSession);
        assertThat(fixture.closes).noneMatch(t -> "keep-1".equals(t.event().deviceId()));
        // A second revalidation finds nothing more to end.
        assertThat(server.revalidate()).isZero();
    }

    private static TetherClient connect(TetherServer server, String device, String secret) throws Exception {
        TetherClient c = TetherClient.builder().target("127.0.0.1", server.port()).deviceId(device).secret(secret)
                .backoff(Duration.ofSeconds(30), Duration.ofSeconds(30)).build();
        c.connect().get(5, TimeUnit.SECONDS);
        return c;
    }
}
