package io.tether.server;

import io.tether.protocol.Reason;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * A real server on 127.0.0.1, port 0, recording every session event with the System.nanoTime at
 * which it was observed. Register with {@code @RegisterExtension}; {@link #start} per test.
 */
final class ServerFixture implements AfterEachCallback {
    final List<Timed<SessionOpened>> opens = new CopyOnWriteArrayList<>();
    final List<Timed<SessionClosed>> closes = new CopyOnWriteArrayList<>();
    TetherServer server;

    record Timed<T>(long nanos, T event) {
    }

    TetherServer start(UnaryOperator<TetherServer.Builder> config) {
        TetherServer.Builder b = TetherServer.builder()
                .bindAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(java.time.Duration.ofSeconds(2))
                .listener(new SessionListener() {
                    @Override
                    public void onOpen(SessionOpened event) {
                        opens.add(new Timed<>(System.nanoTime(), event));
                    }

                    @Override
                    public void onClose(SessionClosed event) {
                        closes.add(new Timed<>(System.nanoTime(), event));
                    }
                });
        server = config.apply(b).build().start();
        return server;
    }

    int port() {
        return server.port();
    }

    List<SessionClosed> closesOf(Reason reason) {
        return closes.stream().map(Timed::event).filter(c -> c.reason() == reason).collect(Collectors.toList());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (server != null) {
            server.close();
            server = null;
        }
    }
}
