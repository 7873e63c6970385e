package io.tether.client;

import io.tether.protocol.auth.DeviceToken;
import io.tether.transport.KeepAlive;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BuilderTest {

    @Test
    void badValues_areRejectedPerSetter_withValueAndExpectation() {
        TetherClient.Builder b = TetherClient.builder();
        assertThatThrownBy(() -> b.heartbeat(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("heartbeat: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> b.connectTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("connectTimeout: PT0S (expected: >= 1 ms)");
        assertThatThrownBy(() -> b.backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("backoff cap: PT1S (expected: >= base PT2S)");
        assertThatThrownBy(() -> b.userTimeout(Duration.ofDays(30)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: <= 2147483647 ms");
        assertThatThrownBy(() -> b.outboxCapacity(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("outboxCapacity: 0 (expected: >= 1)");
        assertThatThrownBy(() -> b.pingIntervalFactor(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("pingIntervalFactor: 0.0");
        assertThatThrownBy(() -> b.target("127.0.0.1", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("port: 0 (expected: 1 to 65535)");
        assertThatThrownBy(() -> b.deviceId("has space"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("deviceId:");
        assertThatThrownBy(() -> b.credential(new byte[1025]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("credential: 1025 bytes (expected: <= 1024)");
    }

    @Test
    void keepAliveBeyondTheKernelLimit_isRefusedWithTheGatewaysMessage() {
        TetherClient.Builder b = TetherClient.builder();
        // The same validator as the gateway's --keepalive: the message names the kernel's limit.
        String gateway = messageOf(() -> KeepAlive.of(Duration.ofHours(10), Duration.ofSeconds(20), 3));
        assertThatThrownBy(() -> b.keepAlive(Duration.ofHours(10), Duration.ofSeconds(20), 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(gateway)
                .hasMessageContaining("10h")
                .hasMessageContaining("32767s")
                .hasMessageContaining("TCP_KEEPIDLE");
    }

    @Test
    void keepAliveOfFractionalSecondsOrTooManyProbes_isRefused() {
        TetherClient.Builder b = TetherClient.builder();
        assertThatThrownBy(() -> b.keepAlive(Duration.ofMillis(1500), Duration.ofSeconds(20), 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole seconds");
        assertThatThrownBy(() -> b.keepAlive(Duration.ofSeconds(60), Duration.ofSeconds(20), 128))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("127");
        assertThatThrownBy(() -> b.keepAlive(Duration.ofSeconds(60), Duration.ofSeconds(20), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keepalive count 0");
    }

    @Test
    void targetAsHostPort_takesBracketedIpv6_andRefusesBadFormsNamingTarget() {
        TetherClient.Builder b = TetherClient.builder().deviceId("d");
        b.target("[::1]:7878");
        assertThatThrownBy(() -> b.target("::1:7878"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("target '::1:7878': an IPv6 address needs brackets, e.g. [::1]:7400");
        assertThatThrownBy(() -> b.target("gateway.example"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("target 'gateway.example': expected HOST:PORT");
        assertThatThrownBy(() -> b.target(":7878"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("target ':7878': expected HOST:PORT");
    }

    @Test
    void keepAliveIdleZero_turnsKeepAliveOff() {
        // Zero idle is the SDK's documented "off", not an error.
        TetherClient.builder().keepAlive(Duration.ZERO, Duration.ofSeconds(1), 1);
    }

    private static String messageOf(Runnable r) {
        try {
            r.run();
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected IllegalArgumentException");
    }

    @Test
    void closedGroup_isRefusedAtBuild_namingTheFix() {
        ClientGroup group = ClientGroup.create(1);
        group.close();

        assertThatThrownBy(() -> TetherClient.builder().target("127.0.0.1", 7878).deviceId("d").group(group).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("group is closed (close clients before their ClientGroup)");
        assertThatThrownBy(() -> ClientGroup.create(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads: 0 (expected: 1 to 1024)");
    }

    @Test
    void build_requiresTargetAndDeviceId() {
        assertThatThrownBy(() -> TetherClient.builder().deviceId("d").build())
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("target is not set");
        assertThatThrownBy(() -> TetherClient.builder().target("127.0.0.1", 1).build())
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("deviceId is not set");
    }

    @Test
    void build_crossChecksLocalAddressFamily() throws Exception {
        TetherClient.Builder b = TetherClient.builder().deviceId("d")
                .target(new InetSocketAddress(InetAddress.getByName("::1"), 7878))
                .localAddress(InetAddress.getByName("127.0.0.2"));
        assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("different IP families");
    }

    @Test
    void credential_isCopied_soLaterChangesDoNotReachTheWire() {
        byte[] secret = {1, 2, 3};
        try (FakeServer server = new FakeServer()) {
            TetherClient client = TestClients.builder(server, new ClientListener() { }).credential(secret).build();
            secret[0] = 9;
            try {
                client.connect();
                assertThat(server.accept().hello().credential()).containsExactly(1, 2, 3);
            } finally {
                client.close();
                TestClients.await(client.closeFuture());
            }
        }
    }

    @Test
    void groupSecret_forAnIdOutsideTheGroup_isRefusedInBuild_namingIdAndPrefix() {
        TetherClient.Builder b = TetherClient.builder().target("127.0.0.1", 7400).deviceId("truck-42")
                .groupSecret("sim-", "fleet-secret");
        assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("deviceId 'truck-42'").hasMessageContaining("prefix 'sim-'");
        assertThatThrownBy(() -> b.groupSecret("", "fleet-secret")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("groupSecret prefix: empty");
        assertThatThrownBy(() -> b.secret("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("secret: empty (expected: a non-empty secret)");
    }

    @Test
    void groupSecret_sendsATokenMadeWithTheMemberKey_secretOneMadeWithTheDeviceKey() {
        byte[] member = DeviceToken.memberKey(DeviceToken.groupKey("sim-", "fleet-secret"), "sim-7");
        byte[] own = DeviceToken.deviceKey("sim-7", "own-secret");
        assertThat(macMatches(b -> b.groupSecret("sim-", "fleet-secret"), member)).isTrue();
        assertThat(macMatches(b -> b.secret("own-secret"), own)).isTrue();
        // The last credential setter wins.
        assertThat(macMatches(b -> b.secret("own-secret").groupSecret("sim-", "fleet-secret"), member)).isTrue();
        assertThat(macMatches(b -> b.groupSecret("sim-", "fleet-secret").secret("own-secret"), member)).isFalse();
    }

    private static boolean macMatches(java.util.function.UnaryOperator<TetherClient.Builder> credential, byte[] key) {
        try (FakeServer server = new FakeServer()) {
            TetherClient client = credential.apply(TestClients.builder(server, new ClientListener() { })
                    .deviceId("sim-7")).build();
            try {
                client.connect();
                byte[] token = server.accept().hello().credential();
                DeviceToken.Parsed p = DeviceToken.parse(token);
                assertThat(p).as("a token").isNotNull();
                return java.util.Arrays.equals(p.mac(), DeviceToken.mac(key, "sim-7", p.expiryMillis(), p.nonce()));
            } finally {
                client.close();
                TestClients.await(client.closeFuture());
            }
        }
    }
}
