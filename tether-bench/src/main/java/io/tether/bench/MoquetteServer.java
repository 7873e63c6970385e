package io.tether.bench;

import io.moquette.broker.Server;
import io.moquette.broker.config.MemoryConfig;

import java.util.Properties;

/**
 * Moquette 0.17 (a Java MQTT broker on Netty) embedded: 127.0.0.1:--port, anonymous, persistence
 * off, websocket off, epoll on. Runs on the Netty the reactor manages (4.2.18, as Tether).
 *
 * <p>Usage: {@code java -Xms64m -Xss256k -XX:+UseG1GC -cp tether-bench.jar io.tether.bench.MoquetteServer --port P}
 */
public final class MoquetteServer {

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv);
        Properties p = new Properties();
        p.setProperty("port", String.valueOf(a.integer("port", 1883)));
        p.setProperty("host", a.str("bind", "127.0.0.1"));
        p.setProperty("allow_anonymous", "true");
        p.setProperty("persistence_enabled", "false");
        p.setProperty("websocket_port", "disabled");
        p.setProperty("netty.epoll", "true");
        p.setProperty("telemetry_enabled", "false");
        Server server = new Server();
        server.startServer(new MemoryConfig(p));
        Runtime.getRuntime().addShutdownHook(new Thread(server::stopServer));
        System.out.println("{\"listening\":" + a.integer("port", 1883) + "}");
        System.out.flush();
        Thread.currentThread().join();
    }
}
