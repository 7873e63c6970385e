package io.tether.testkit.kafka;

import io.tether.testkit.fault.Namespace;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * A real Apache Kafka broker for tests: one node in KRaft mode (broker and controller in one
 * process), run as a separate {@code java} process from the Kafka jars Maven resolved for the
 * test kit, with its data under a directory the test chooses.
 *
 * <pre>{@code
 * try (KafkaBroker kafka = KafkaBroker.builder().dataDir(Path.of("target/kafka/my-test")).start()) {
 *     kafka.createTopics("events");
 *     ... producer with bootstrap.servers = kafka.bootstrap() ...
 *     kafka.stop();  // SIGTERM: a clean shutdown
 *     kafka.start(); // the same data, host and port
 *     kafka.kill();  // SIGKILL
 * }
 * }</pre>
 *
 * <h2>In a network namespace</h2>
 * With {@link Builder#namespace}, the broker runs inside a lab namespace and listens on an address
 * of it ({@link Namespace#address()} unless {@link Builder#host} names another, e.g. one from
 * {@link Namespace#addAddress()}), so iptables faults on the lab's link cut it from programs in the
 * other namespace. The test JVM, on the host, has no route into the lab; it reaches the broker by
 * a side door instead: a loopback port relayed through a Unix socket to a listener on the
 * namespace's own loopback, which no fault on the link touches. {@link #bootstrap()} is the
 * address for programs in the lab, {@link #controlBootstrap()} the one for the test JVM (topic
 * creation, {@link ReadCommittedChecker}); without a namespace they are the same.
 *
 * <h2>Processes</h2>
 * Every start is bounded ({@link Builder#startTimeout}, 60 s by default) and fails with the tail
 * of the broker's log. The broker process ends with {@link #close()}, with this JVM's shutdown
 * hook, and by itself when this JVM dies without running its hooks (it watches its standard
 * input, which this JVM holds). Its output, including Kafka's log at INFO, is appended to
 * {@link Builder#logFile} ({@code <dataDir>/broker.log} by default) across restarts.
 *
 * <p>Thread-safe.
 */
public final class KafkaBroker implements AutoCloseable {
    /** Default partitions of topics made by {@link #createTopics}. */
    public static final int DEFAULT_PARTITIONS = 4;
    /** Default bound on one start, JVM start-up included. */
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);
    /** Default port of the broker inside a namespace, where no other program competes for it. */
    public static final int NAMESPACE_PORT = 9092;
    /** How long a clean shutdown may take before the broker is killed. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final int TAIL = 40;
    /** Kafka's own word that it is up (KafkaRaftServer); only a hint, see awaitReady. */
    private static final String STARTED_LINE = "Kafka Server started";
    private static final Duration STARTED_LINE_WAIT = Duration.ofSeconds(30);
    private static final String SIDE_LISTENER = "SIDE";
    private static final Set<KafkaBroker> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static boolean hookInstalled;

    private final Path dataDir;
    private final String host;
    private final int port;
    private final int controllerPort;
    private final Namespace namespace;
    private final Path logFile;
    private final int numPartitions;
    /**
     * Serial GC and C1 only: a two-core machine shares its cores with the tests, and the broker's
     * work in a test is small; start-up time is what counts.
     */
    public static final List<String> TEST_JVM = List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1");
    /** Full JIT and G1, as a broker runs in production: for benchmarks, where steady state counts. */
    public static final List<String> BENCH_JVM = List.of("-Xms512m", "-Xmx512m", "-XX:+UseG1GC");
    private final List<String> jvmOptions;
    private final Duration startTimeout;
    private final Map<String, String> overrides;
    private final SideDoor sideDoor;
    private final Path sideSocket;
    private final Deque<String> tail = new ArrayDeque<>();
    private boolean startedLineSeen; // guarded by tail

    private volatile Process process; // written under this; read without it by the shutdown hook
    private Thread outputReader;
    private int starts;
    private Duration lastStartDuration;
    private boolean closed;

    private KafkaBroker(Builder b) {
        this.dataDir = b.dataDir.toAbsolutePath();
        this.namespace = b.namespace;
        this.host = b.host != null ? b.host
                : namespace != null ? namespace.address().getHostAddress()
                : InetAddress.getLoopbackAddress().getHostAddress();
        this.logFile = (b.logFile != null ? b.logFile : dataDir.resolve("broker.log")).toAbsolutePath();
        this.numPartitions = b.numPartitions;
        this.jvmOptions = List.copyOf(b.jvmOptions);
        this.startTimeout = b.startTimeout;
        this.overrides = Map.copyOf(b.overrides);
        if (namespace != null) {
            // A namespace's ports are free unless the test runs something else on them; the host
            // cannot probe them. The controller and the side-door listener sit on the namespace's
            // loopback, out of reach of faults on the link.
            this.port = b.port != 0 ? b.port : NAMESPACE_PORT;
            this.controllerPort = port + 1;
            String sock = dataDir.resolve("side.sock").toString();
            // sun_path holds 108 bytes; a deep build directory does not fit.
            this.sideSocket = sock.length() < 100 ? Path.of(sock)
                    : Path.of(System.getProperty("java.io.tmpdir"),
                    "tether-kafka-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet() + ".sock");
            this.sideDoor = new SideDoor(sideSocket);
        } else {
            this.port = b.port != 0 ? b.port : freePort(host);
            int c = freePort(host);
            while (c == port) {
                c = freePort(host);
            }
            this.controllerPort = c;
            this.sideSocket = null;
            this.sideDoor = null;
        }
    }

    /** A builder with the defaults: loopback, a free port, 4 partitions, 60 s to start. */
    public static Builder builder() {
        return new Builder();
    }

    private static int freePort(String host) {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on " + host, e);
        }
    }

    /**
     * The broker's address for Kafka clients, {@code host:port}: from the host without a
     * namespace, from the lab's other namespace with one.
     */
    public String bootstrap() {
        return hostPort(host, port);
    }

    /** {@code host:port}, an IPv6 address in brackets, as Kafka's listener and bootstrap syntax wants. */
    private static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * The broker's address for clients in this JVM: {@link #bootstrap()} without a namespace, the
     * side door on the host's loopback with one (the same port across restarts).
     */
    public String controlBootstrap() {
        return sideDoor == null ? bootstrap() : InetAddress.getLoopbackAddress().getHostAddress() + ":" + sideDoor.port();
    }

    /** The directory holding the broker's configuration and its log directory. */
    public Path dataDir() {
        return dataDir;
    }

    /** Where the broker's output goes. */
    public Path logFile() {
        return logFile;
    }

    /**
     * Starts the broker and waits until an AdminClient sees it (describeCluster). The first start
     * on an empty data directory formats it with a new cluster id; later ones, here or by another
     * {@code KafkaBroker} on the same directory, keep its data.
     *
     * @return this
     * @throws IllegalStateException if it is running or closed, or does not come up within the
     *     start timeout (the message holds the tail of its log; the process is killed)
     */
    public synchronized KafkaBroker start() {
        if (closed) {
            throw new IllegalStateException("the Kafka broker at " + bootstrap() + " is closed");
        }
        if (isRunning()) {
            throw new IllegalStateException("the Kafka broker at " + bootstrap() + " is already running");
        }
        if (process != null) {
            ended(); // it died on its own since
        }
        long begin = System.nanoTime();
        Path logDirs = dataDir.resolve("log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
                "-Dlogback.configurationFile=" + dataDir.resolve("logback.xml")));
        cmd.addAll(List.of("-cp", BrokerClassPath.get(), BrokerMain.class.getName(),
                dataDir.resolve("server.properties").toString()));
        try {
            Files.createDirectories(dataDir);
            Files.createDirectories(logFile.getParent());
            Files.writeString(dataDir.resolve("server.properties"), serverProperties(logDirs));
            Files.writeString(dataDir.resolve("logback.xml"), LOGBACK);
            if (!Files.exists(logDirs.resolve("meta.properties"))) {
                cmd.addAll(List.of("--format", Uuid.randomUuid().toString()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Kafka broker's configuration in " + dataDir, e);
        }
        if (sideSocket != null) {
            cmd.addAll(List.of("--side-door", sideSocket.toString(), String.valueOf(port + 2)));
        }
        List<String> full = namespace == null ? cmd : namespace.commandLine(cmd);
        BufferedWriter log = null;
        try {
            log = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
            log.write("---- tether: start " + (++starts) + " at " + Instant.now() + ": " + String.join(" ", full));
            log.newLine();
            log.flush();
            process = new ProcessBuilder(full).redirectErrorStream(true).start();
        } catch (IOException e) {
            if (log != null) {
                try {
                    log.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw new UncheckedIOException("cannot start the Kafka broker: " + String.join(" ", full), e);
        }
        registerLive();
        synchronized (tail) {
            tail.clear();
            startedLineSeen = false;
        }
        outputReader = readOutput(process, log);
        awaitReady(begin);
        lastStartDuration = Duration.ofNanos(System.nanoTime() - begin);
        return this;
    }

    private String serverProperties(Path logDirs) {
        // Listeners: the broker's own on host:port; the controller's on the namespace's loopback
        // (so a fault on the link never splits the one node from its own quorum) or next to the
        // broker's on the host; and, in a namespace, the side door's, advertised as the host's
        // loopback port that leads to it.
        String controllerHost = namespace != null ? "127.0.0.1" : host;
        String listeners = "PLAINTEXT://" + hostPort(host, port) + ",CONTROLLER://" + hostPort(controllerHost, controllerPort);
        String advertised = "PLAINTEXT://" + hostPort(host, port);
        String protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
        if (sideDoor != null) {
            listeners += "," + SIDE_LISTENER + "://127.0.0.1:" + (port + 2);
            advertised += "," + SIDE_LISTENER + "://127.0.0.1:" + sideDoor.port();
            protocols += "," + SIDE_LISTENER + ":PLAINTEXT";
        }
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("listeners", listeners);
        p.put("advertised.listeners", advertised);
        p.put("listener.security.protocol.map", protocols);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("controller.quorum.bootstrap.servers", hostPort(controllerHost, controllerPort));
        p.put("log.dirs", logDirs.toString());
        p.put("num.partitions", String.valueOf(numPartitions));
        p.put("auto.create.topics.enable", "false");
        // One node: every replication factor and ISR is 1.
        p.put("offsets.topic.replication.factor", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("min.insync.replicas", "1");
        // Small and quick: internal topics of 4 partitions, not 50 (each is created on first use,
        // inside a test's time); no rebalance delay; few threads and a small cleaner buffer for a
        // 512 MB heap on two cores.
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("num.recovery.threads.per.data.dir", "1");
        p.put("background.threads", "2");
        p.put("log.cleaner.dedupe.buffer.size", String.valueOf(8 * 1024 * 1024));
        p.put("log.segment.bytes", String.valueOf(8 * 1024 * 1024));
        // After a kill, the restarted controller holds the dead incarnation's registration until
        // its session expires, and the broker cannot register before: 9 s by default, 4 s here.
        p.put("broker.heartbeat.interval.ms", "1000");
        p.put("broker.session.timeout.ms", "4000");
        p.putAll(overrides);
        return p.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("\n", "", "\n"));
    }

    private static final String LOGBACK = """
            <configuration>
              <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
                <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n</pattern></encoder>
              </appender>
              <root level="INFO"><appender-ref ref="OUT"/></root>
            </configuration>
            """;

    private Thread readOutput(Process p, BufferedWriter log) {
        Thread t = new Thread(() -> {
            try (log; BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (tail) {
                        if (tail.size() == TAIL) {
                            tail.removeFirst();
                        }
                        tail.addLast(line);
                        if (line.contains(STARTED_LINE)) {
                            startedLineSeen = true;
                            tail.notifyAll();
                        }
                    }
                    log.write(line);
                    log.newLine();
                    log.flush();
                }
            } catch (IOException e) {
                // The process is gone, or the log cannot be written: what was read is kept.
            }
        }, "tether-kafka-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Readiness is an AdminClient's describeCluster answer. It starts asking once Kafka logs that
     * it has started, or after 30 s if that line never comes (a
     * later Kafka may word it otherwise): asked earlier, it only fills the test's log with
     * connection warnings, twice a second.
     */
    private void awaitReady(long begin) {
        long deadline = begin + startTimeout.toNanos();
        long hintDeadline = Math.min(deadline, begin + STARTED_LINE_WAIT.toNanos());
        boolean interrupted = false;
        synchronized (tail) {
            while (!startedLineSeen && process.isAlive() && System.nanoTime() < hintDeadline && !interrupted) {
                try {
                    tail.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            throw notUp(begin, "interrupted");
        }
        Properties config = adminConfig();
        String last = "no answer yet";
        try (Admin admin = Admin.create(config)) {
            while (true) {
                if (!process.isAlive()) {
                    throw notUp(begin, "the broker process exited with code " + exitCode(process));
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw notUp(begin, "no AdminClient describeCluster answer within " + startTimeout.toSeconds()
                            + " s (last: " + last + ")");
                }
                int waitMs = (int) Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 5_000));
                try {
                    var nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(waitMs)).nodes()
                            .get(waitMs + 1_000L, TimeUnit.MILLISECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                    last = "no nodes";
                } catch (ExecutionException e) {
                    last = String.valueOf(e.getCause());
                } catch (TimeoutException e) {
                    last = "timed out";
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw notUp(begin, "interrupted");
                }
                sleep(200);
            }
        }
    }

    private IllegalStateException notUp(long begin, String why) {
        kill();
        return new IllegalStateException("the Kafka broker at " + bootstrap() + " did not come up ("
                + why + ", after " + Duration.ofNanos(System.nanoTime() - begin).toMillis() + " ms); its log is "
                + logFile + ", last lines:" + tailText());
    }

    private String tailText() {
        synchronized (tail) {
            return tail.stream().map(l -> "\n    " + l).collect(Collectors.joining());
        }
    }

    private static String exitCode(Process p) {
        try {
            return String.valueOf(p.waitFor(1, TimeUnit.SECONDS) ? p.exitValue() : "?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    private Properties adminConfig() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, controlBootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        return p;
    }

    /**
     * Creates topics with {@link Builder#numPartitions} partitions each, replication factor 1, and
     * waits until every partition has a leader. Uses {@link #controlBootstrap()}.
     *
     * @throws IllegalStateException if a topic cannot be created (it exists, the broker is down)
     *     or a partition has no leader within 30 s
     */
    public void createTopics(String... names) {
        List<NewTopic> topics = Arrays.stream(names).map(n -> new NewTopic(n, numPartitions, (short) 1)).toList();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (Admin admin = Admin.create(adminConfig())) {
            admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
            while (true) {
                Map<String, TopicDescription> d = admin.describeTopics(List.of(names)).allTopicNames()
                        .get(10, TimeUnit.SECONDS);
                boolean led = d.values().stream().flatMap(t -> t.partitions().stream())
                        .map(TopicPartitionInfo::leader).allMatch(l -> l != null && !l.isEmpty());
                if (led) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("topics " + List.of(names) + " have partitions without a leader after 30 s: " + d);
                }
                sleep(100);
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot create topics " + List.of(names) + " on " + controlBootstrap()
                    + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("creating topics " + List.of(names) + " on " + controlBootstrap()
                    + " took over 30 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics " + List.of(names), e);
        }
    }

    /** Whether the broker process is alive (it may still be starting or stopping). */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** How long the last successful {@link #start()} took, JVM start-up included; null before one. */
    public synchronized Duration lastStartDuration() {
        return lastStartDuration;
    }

    /**
     * Stops the broker cleanly: SIGTERM, then waits for it to exit (Kafka's controlled shutdown).
     * Does nothing if it is not running.
     *
     * @throws IllegalStateException if it has not exited 30 s after SIGTERM (it is then killed)
     */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        Process p = process;
        p.destroy();
        boolean exited = waitFor(p, STOP_TIMEOUT);
        if (!exited) {
            p.destroyForcibly();
            waitFor(p, Duration.ofSeconds(10));
        }
        ended();
        if (!exited) {
            throw new IllegalStateException("the Kafka broker at " + bootstrap() + " did not stop within "
                    + STOP_TIMEOUT.toSeconds() + " s of SIGTERM and was killed; its log is " + logFile + ", last lines:"
                    + tailText());
        }
    }

    /**
     * Kills the broker (SIGKILL), as a power loss would, and waits until the process is gone. Does
     * nothing if it is not running. Data not yet written to disk by the kernel survives, since the
     * machine does not go down with it.
     */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        waitFor(process, Duration.ofSeconds(10));
        ended();
    }

    private void ended() {
        try {
            outputReader.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(this);
        process = null;
    }

    private static boolean waitFor(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return false;
        }
    }

    /** Stops the broker ({@link #stop()}, killing it if it does not stop in time). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } catch (IllegalStateException e) {
            // Killed; the message is for an explicit stop(), not for cleanup.
        } finally {
            if (sideDoor != null) {
                sideDoor.close();
                try {
                    Files.deleteIfExists(sideSocket);
                } catch (IOException e) {
                    // A leftover socket file is harmless: the next broker deletes it first.
                }
            }
        }
    }

    private void registerLive() {
        synchronized (KafkaBroker.class) {
            if (!hookInstalled) {
                hookInstalled = true;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    for (KafkaBroker b : LIVE) {
                        Process p = b.process;
                        if (p != null) {
                            p.destroyForcibly();
                        }
                    }
                }, "kafka-broker-cleanup"));
            }
        }
        LIVE.add(this);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "KafkaBroker[" + bootstrap() + (namespace != null ? " in " + namespace.name() : "") + ", " + dataDir + "]";
    }

    /**
     * Configures a {@link KafkaBroker}. Each setter checks its value; {@link #build()} or
     * {@link #start()} checks that a data directory is set.
     */
    public static final class Builder {
        private Path dataDir;
        private String host;
        private int port;
        private Namespace namespace;
        private Path logFile;
        private int numPartitions = DEFAULT_PARTITIONS;
        private List<String> jvmOptions = TEST_JVM;
        private Duration startTimeout = DEFAULT_START_TIMEOUT;
        private final Map<String, String> overrides = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Where the broker keeps its configuration and data ({@code log/}); created if absent.
         * Required. An existing formatted directory is reused with its data, so a test that wants
         * an empty broker passes a new or emptied directory.
         */
        public Builder dataDir(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
            return this;
        }

        /**
         * The address the broker listens on and advertises. Default: the loopback address, or the
         * namespace's {@linkplain Namespace#address() address} with {@link #namespace}.
         */
        public Builder host(String host) {
            Objects.requireNonNull(host, "host");
            if (host.isBlank()) {
                throw new IllegalArgumentException("host: '" + host + "' (expected: an address)");
            }
            this.host = host;
            return this;
        }

        /**
         * The broker's port. 0 (the default): a free port on the host, chosen once and kept across
         * restarts; {@value #NAMESPACE_PORT} in a namespace. In a namespace the two ports after it
         * are used too (controller, side door), on the namespace's loopback.
         *
         * @throws IllegalArgumentException if not within 0 to 65533
         */
        public Builder port(int port) {
            if (port < 0 || port > 65533) {
                throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65533)");
            }
            this.port = port;
            return this;
        }

        /** A lab namespace to run the broker in, or null (the default) for the host's network. */
        public Builder namespace(Namespace namespace) {
            this.namespace = namespace;
            return this;
        }

        /** Where the broker's output is appended. Default: {@code <dataDir>/broker.log}. */
        public Builder logFile(Path logFile) {
            this.logFile = Objects.requireNonNull(logFile, "logFile");
            return this;
        }

        /**
         * Partitions of each topic made by {@link KafkaBroker#createTopics} (and the broker's
         * {@code num.partitions}). Default {@value KafkaBroker#DEFAULT_PARTITIONS}.
         *
         * @throws IllegalArgumentException if below 1
         */
        public Builder numPartitions(int numPartitions) {
            if (numPartitions < 1) {
                throw new IllegalArgumentException("numPartitions: " + numPartitions + " (expected: >= 1)");
            }
            this.numPartitions = numPartitions;
            return this;
        }

        /**
         * Bound on one {@link KafkaBroker#start()}, JVM start-up included. Default 60 s.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder startTimeout(Duration startTimeout) {
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("startTimeout: " + startTimeout + " (expected: > 0)");
            }
            this.startTimeout = startTimeout;
            return this;
        }

        /**
         * Sets one broker property ({@code server.properties}), over the defaults, e.g.
         * {@code transaction.max.timeout.ms}. Listener and log-directory settings are the
         * broker's to make; changing them breaks it.
         */
        public Builder brokerProperty(String key, String value) {
            overrides.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * A broker, not started; its ports are chosen now.
         *
         * @throws IllegalStateException if no data directory is set
         */
        /**
         * Heap, GC and JIT options of the broker's JVM. Default {@link #TEST_JVM}; benchmarks
         * pass {@link #BENCH_JVM}.
         */
        public Builder jvmOptions(List<String> options) {
            this.jvmOptions = List.copyOf(options);
            return this;
        }

        public KafkaBroker build() {
            if (dataDir == null) {
                throw new IllegalStateException("dataDir is not set (expected: a directory under the build folder, "
                        + "e.g. target/kafka/<test>)");
            }
            return new KafkaBroker(this);
        }

        /** {@link #build()} then {@link KafkaBroker#start()}. */
        public KafkaBroker start() {
            KafkaBroker b = build();
            try {
                return b.start();
            } catch (RuntimeException e) {
                b.close();
                throw e;
            }
        }
    }

    /** The broker's class path, as the build recorded it (tether-testkit's pom.xml says how). */
    static final class BrokerClassPath {
        private static volatile String cached;

        private BrokerClassPath() {
        }

        static String get() {
            String cp = cached;
            if (cp == null) {
                cp = load();
                cached = cp;
            }
            return cp;
        }

        private static String load() {
            List<String> entries = new ArrayList<>();
            for (String resource : List.of("broker-runtime.classpath", "broker-provided.classpath")) {
                try (var in = KafkaBroker.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        throw new IllegalStateException("io/tether/testkit/kafka/" + resource + " is missing from the test "
                                + "kit: it is written by its build (maven-dependency-plugin build-classpath); build "
                                + "tether-testkit with Maven, e.g. mvn -pl tether-testkit -am test-compile");
                    }
                    for (String e : new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().split(":")) {
                        if (!e.isBlank()) {
                            entries.add(e);
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            List<String> missing = entries.stream().filter(e -> !Files.exists(Path.of(e))).toList();
            if (!missing.isEmpty()) {
                throw new IllegalStateException("the Kafka broker's class path, recorded when the test kit was built, "
                        + "names jars that are gone: " + missing + " (rebuild tether-testkit with Maven)");
            }
            // BrokerMain itself: the test kit's classes, a directory or a jar.
            try {
                entries.add(Path.of(KafkaBroker.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
            return String.join(":", entries);
        }
    }
}
