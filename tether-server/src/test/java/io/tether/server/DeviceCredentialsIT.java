package io.tether.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tether.client.AuthenticationFailedException;
import io.tether.client.ClientClosedException;
import io.tether.client.ClientListener;
import io.tether.client.TetherClient;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The device SDK's credentials against a real gateway with a credentials file, as README's "Use
 * the SDK" tells a user to set them up: {@code secret(...)} for a device entry,
 * {@code groupSecret(prefix, ...)} for a group entry, and a refused credential that reaches the
 * application instead of a silent endless retry.
 */
class DeviceCredentialsIT {
    @TempDir
    Path dir;

    private final List<SessionClosed> authFailures = new CopyOnWriteArrayList<>();
    private final List<TetherClient> clients = new ArrayList<>();
    private final ListAppender<ILoggingEvent> sdkLog = new ListAppender<>();
    private final Logger sdkLogger = (Logger) LoggerFactory.getLogger(TetherClient.class);
    private TetherServer server;

    @BeforeEach
    void start() throws Exception {
        Path creds = dir.resolve("creds");
        Credentials.addDevice(creds, "truck-42", "truck-secret");
        Credentials.addGroup(creds, "sim-", "fleet-secret");
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(Authenticators.credentialsFile(creds))
                .shutdownTimeout(Duration.ofSeconds(1))
                .listener(new SessionListener() {
                    @Override
                    public void onClose(SessionClosed event) {
                        if (event.reason() == Reason.AUTH_FAILED) {
                            authFailures.add(event);
                        }
                    }
                })
                .build().start();
        sdkLog.start();
        sdkLogger.addAppender(sdkLog);
    }

    @AfterEach
    void stop() {
        sdkLogger.detachAppender(sdkLog);
        clients.forEach(TetherClient::close);
        server.close();
    }

    private TetherClient.Builder device(String id) {
        // A short backoff: a client that kept retrying would show up within a second.
        return TetherClient.builder().target("127.0.0.1", server.port()).deviceId(id)
                .backoff(Duration.ofMillis(20), Duration.ofMillis(50));
    }

    private TetherClient track(TetherClient c) {
        clients.add(c);
        return c;
    }

    @Test
    void deviceSecret_connects_andItsMessagesAreAcked() throws Exception {
        TetherClient c = track(device("truck-42").secret("truck-secret").build());
        c.connect().get(5, TimeUnit.SECONDS);
        assertThat(c.send("hello".getBytes(StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(authFailures).isEmpty();
    }

    @Test
    void groupSecret_connectsEverySimId() throws Exception {
        for (int i = 0; i < 3; i++) {
            TetherClient c = track(device("sim-" + i).groupSecret("sim-", "fleet-secret").build());
            c.connect().get(5, TimeUnit.SECONDS);
            assertThat(c.send(new byte[] {(byte) i}).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        }
        assertThat(authFailures).isEmpty();
    }

    @Test
    void wrongSecret_callbackFires_connectFailsWithAMessage_andTheClientStopsRetrying() throws Exception {
        List<AuthenticationFailedException> callbacks = new CopyOnWriteArrayList<>();
        AtomicInteger reconnects = new AtomicInteger();
        TetherClient c = track(device("truck-42").secret("wrong-secret").listener(new ClientListener() {
            @Override
            public void onAuthenticationFailed(AuthenticationFailedException failure) {
                callbacks.add(failure);
            }

            @Override
            public void onReconnectScheduled(int attempt, Duration delay) {
                reconnects.incrementAndGet();
            }
        }).build());
        CompletableFuture<Long> pending = c.send("never stored".getBytes(StandardCharsets.UTF_8));

        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> c.connect().get(5, TimeUnit.SECONDS));
        System.out.println("connect() failed with: " + e.getCause());
        assertThat(e.getCause()).isInstanceOf(AuthenticationFailedException.class)
                .hasMessageContaining("refused device 'truck-42' (BYE AUTH_FAILED)")
                .hasMessageContaining("device secret")
                .hasMessageContaining("tether credentials add --device truck-42");
        assertThat(callbacks).singleElement().isSameAs(e.getCause());
        assertThatThrownBy(() -> pending.get(5, TimeUnit.SECONDS)).cause()
                .isInstanceOf(ClientClosedException.class).hasCause(e.getCause());
        c.closeFuture().get(5, TimeUnit.SECONDS);

        // With a 20-50 ms backoff a retrying client would come back about 20 times in 1 s.
        await().during(1, TimeUnit.SECONDS).atMost(2, TimeUnit.SECONDS)
                .until(() -> authFailures.size() == 1 && reconnects.get() == 0);
        System.out.println("server-side AUTH_FAILED closes after 1 s: " + authFailures.size()
                + ", reconnects scheduled: " + reconnects.get());
        assertThat(authFailures).hasSize(1);
        assertThat(authFailures.get(0).authCause()).isEqualTo("BAD_MAC");
        assertThat(reconnects.get()).isZero();

        List<ILoggingEvent> warnings = sdkLog.list.stream().filter(l -> l.getLevel() == Level.WARN).toList();
        assertThat(warnings).singleElement().satisfies(w ->
                assertThat(w.getFormattedMessage()).contains("truck-42", "AUTH_FAILED", "device secret"));
    }

    @Test
    void noCredential_againstAGatewayWithCredentials_saysToCallSecret() throws Exception {
        TetherClient c = track(device("truck-42").build());
        assertThatThrownBy(() -> c.connect().get(5, TimeUnit.SECONDS)).cause()
                .isInstanceOf(AuthenticationFailedException.class)
                .hasMessageContaining("presents no credential")
                .hasMessageContaining("secret(...)");
        await().atMost(5, TimeUnit.SECONDS).until(() -> authFailures.size() == 1);
        assertThat(authFailures.get(0).authCause()).isEqualTo("MALFORMED");
    }
}
