package io.tether.testkit.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The broker process's entry point, run by {@link KafkaBroker} with the broker's class path (never
 * in a test's JVM). It formats the storage when asked, opens the side door when asked, then runs
 * {@code kafka.Kafka} in this JVM.
 *
 * <p>It exits (cleanly: Kafka's shutdown hook runs) when its standard input ends. The test JVM
 * holds the other end of that pipe, so a broker never outlives it, not even a test JVM ended by
 * SIGKILL, whose shutdown hooks never run.
 *
 * <pre>
 * BrokerMain &lt;server.properties&gt; [--format &lt;cluster id&gt;] [--side-door &lt;unix socket&gt; &lt;port&gt;]
 * </pre>
 *
 * {@code --side-door} relays each connection accepted on the Unix socket to {@code 127.0.0.1:port}
 * in this process's network namespace. Unix sockets bound to a path are reachable from every
 * network namespace, so this is how the test JVM, on the host, reaches a broker inside a lab
 * namespace, by a path no iptables rule on the lab's link touches.
 */
final class BrokerMain {
    /** Printed before {@code kafka.Kafka} starts, after the storage is formatted. */
    static final String LAUNCHING = "tether-kafka: launching kafka.Kafka";

    private BrokerMain() {
    }

    public static void main(String[] args) throws Exception {
        exitWhenStdinEnds();
        String properties = args[0];
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--format" -> format(properties, args[++i]);
                case "--side-door" -> openSideDoor(Path.of(args[++i]), Integer.parseInt(args[++i]));
                default -> {
                    System.err.println("tether-kafka: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        System.out.println(LAUNCHING);
        System.out.flush();
        // Returns when the broker has shut down; kafka.Kafka then ends the JVM itself.
        Class.forName("kafka.Kafka").getMethod("main", String[].class).invoke(null, (Object) new String[] {properties});
    }

    private static void exitWhenStdinEnds() {
        Thread t = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) {
                    // Nothing is sent on it; it exists to end.
                }
            } catch (IOException e) {
                // The same as the end: the parent is gone.
            }
            System.out.println("tether-kafka: standard input closed (test JVM gone or broker stopped): shutting down");
            System.exit(0);
        }, "tether-kafka-stdin-watch");
        t.setDaemon(true);
        t.start();
    }

    /**
     * {@code kafka-storage format --standalone}: a single-node dynamic quorum whose only voter is
     * this node's controller. {@code StorageTool.execute} rather than {@code main}, which would
     * end the JVM.
     */
    private static void format(String properties, String clusterId) throws Exception {
        String[] toolArgs = {"format", "--cluster-id", clusterId, "--config", properties, "--standalone"};
        int code;
        try {
            code = (int) Class.forName("kafka.tools.StorageTool").getMethod("execute", String[].class, PrintStream.class)
                    .invoke(null, toolArgs, System.out);
        } catch (InvocationTargetException e) {
            System.out.println("tether-kafka: kafka-storage format failed: " + e.getCause());
            e.getCause().printStackTrace(System.out);
            code = 1;
        }
        if (code != 0) {
            System.out.println("tether-kafka: kafka-storage format exited with " + code);
            System.out.flush();
            System.exit(3);
        }
    }

    private static void openSideDoor(Path socket, int port) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        InetSocketAddress target = new InetSocketAddress("127.0.0.1", port);
        Thread t = new Thread(() -> {
            while (true) {
                SocketChannel in;
                try {
                    in = server.accept();
                } catch (IOException e) {
                    return;
                }
                try {
                    Relay.join(in, SocketChannel.open(target), "side-door");
                } catch (IOException e) {
                    // The listener is not up yet (or any more): the client sees a closed
                    // connection and retries, as it would against a broker that is starting.
                    Relay.closeQuietly(in);
                }
            }
        }, "tether-kafka-side-door");
        t.setDaemon(true);
        t.start();
    }
}
