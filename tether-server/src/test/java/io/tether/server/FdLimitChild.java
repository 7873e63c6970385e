package io.tether.server;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A gateway with the RocksDB store in a process of its own, for {@link DescriptorReserveIT}: run
 * under {@code prlimit --nofile=N}. Prints "PORT p", one line "CLOSE reason detail" per close
 * other than a refusal or a device's own goodbye, and runs until its stdin ends.
 */
public final class FdLimitChild {
    private FdLimitChild() {
    }

    public static void main(String[] args) throws Exception {
        // The test reads the start line that states the connection cap and why (INFO).
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(TetherServer.class))
                .setLevel(ch.qos.logback.classic.Level.INFO);
        TetherServer server = TetherServer.builder()
                .bindAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
                .store(MessageStores.rocksDb(Path.of(args[0]), true, 65_536))
                .drain(Duration.ofMillis(500))
                .flapping(Flapping.OFF)
                .listener(new SessionListener() {
                    @Override
                    public void onClose(SessionClosed e) {
                        switch (e.reason()) {
                            case SERVER_BUSY, PEER_CLOSED, PEER_RESET, NORMAL -> { }
                            default -> System.out.println("CLOSE " + e.reason() + " " + e.detail());
                        }
                    }
                })
                .build().start();
        System.out.println("PORT " + server.port());
        System.out.flush();
        while (System.in.read() != -1) {
            // until the parent closes our stdin
        }
        server.close();
    }
}
