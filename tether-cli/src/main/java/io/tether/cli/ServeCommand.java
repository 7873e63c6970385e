package io.tether.cli;

import io.tether.server.ApiKeys;
import io.tether.server.ApiRate;
import io.tether.server.Authenticators;
import io.tether.server.CommandLimits;
import io.tether.server.Credentials;
import io.tether.server.EventLog;
import io.tether.server.EventLogs;
import io.tether.server.MessageStore;
import io.tether.server.MessageStores;
import io.tether.server.ServerTls;
import io.tether.server.TetherServer;
import io.tether.server.FeedOptions;
import io.tether.server.Flapping;
import io.tether.server.KafkaOptions;
import io.tether.transport.HostPort;
import io.tether.transport.KeepAlive;
import io.tether.transport.tls.Tls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** {@code tether serve}: runs the gateway until SIGTERM or SIGINT, then shuts down gracefully. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = ServeDefaults.class,
        description = {"Runs the gateway. One JSON line per session event goes to stdout (or --events FILE); logs go to stderr.",
                "SIGTERM/SIGINT: BYE SERVER_SHUTDOWN to every device, drain, exit 0.",
                "Durations: 500ms, 10s, 2m, 1h, 1m30s, 0."})
public final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", paramLabel = "P", description = "TCP port for devices (default: ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Option(names = "--bind", paramLabel = "ADDR", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--handshake-timeout", paramLabel = "D", converter = DurationConverter.class,
            description = "Time from accept to a complete HELLO (default: ${DEFAULT-VALUE}).")
    Duration handshakeTimeout;

    @Option(names = "--heartbeat", paramLabel = "D", converter = DurationConverter.class,
            description = "Heartbeat interval granted to devices that ask for 0 (default: ${DEFAULT-VALUE}). "
                    + "0 turns application heartbeats off: kernel keepalive alone guards connections.")
    Duration heartbeat;

    @Option(names = "--min-heartbeat", paramLabel = "D", converter = DurationConverter.class,
            description = "Smallest interval a device may ask for; smaller requests are raised (default: ${DEFAULT-VALUE}).")
    Duration minHeartbeat;

    @Option(names = "--max-heartbeat", paramLabel = "D", converter = DurationConverter.class,
            description = "Largest interval a device may ask for; larger requests are lowered (default: ${DEFAULT-VALUE}).")
    Duration maxHeartbeat;

    @Option(names = "--heartbeat-multiplier", paramLabel = "X",
            description = "A session dies after interval x X of silence (default: ${DEFAULT-VALUE}, as MQTT).")
    double heartbeatMultiplier;

    @Option(names = "--drain", paramLabel = "D", converter = DurationConverter.class,
            description = "After a timeout close has half-closed the socket, keep reading (and storing) this long, "
                    + "then reset (default: ${DEFAULT-VALUE}).")
    Duration drain;

    @Option(names = "--keepalive", paramLabel = "IDLE,INTVL,CNT", converter = KeepAliveConverter.class,
            description = "TCP keepalive per socket: TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (default: ${DEFAULT-VALUE}), or off. "
                    + "The kernel accepts 1s to 32767s for IDLE and INTVL, 1 to 127 for CNT.")
    KeepAlive keepAlive;

    @Option(names = "--user-timeout", paramLabel = "D", converter = DurationConverter.class,
            description = "TCP_USER_TIMEOUT: unacknowledged data older than this fails the socket "
                    + "(default: IDLE + INTVL x CNT of --keepalive; 0 = kernel default).")
    Duration userTimeout;

    @Option(names = "--quiet", arity = "0..1",
            description = "Do not answer PINGs (less traffic). Devices then detect a dead server with TCP_USER_TIMEOUT.")
    boolean quiet;

    @Option(names = "--backlog", paramLabel = "N", description = "Listen backlog (default: ${DEFAULT-VALUE}).")
    int backlog;

    @Option(names = "--tcp-nodelay", arity = "0..1", negatable = true, fallbackValue = "true",
            description = "TCP_NODELAY on device sockets (default: ${DEFAULT-VALUE}).")
    boolean tcpNoDelay;

    @Option(names = "--max-frame", paramLabel = "BYTES",
            description = "Largest frame length field accepted (default: ${DEFAULT-VALUE}).")
    int maxFrame;

    @Option(names = "--write-buffer-limit", paramLabel = "BYTES",
            description = "Bytes queued to one device beyond which it is closed as SLOW_CONSUMER (default: ${DEFAULT-VALUE}).")
    int writeBufferLimit;

    @Option(names = "--device-message-rate", paramLabel = "PER_SEC",
            description = "Uplink DATA messages per second one device may send; beyond it (after a one-second burst) "
                    + "its socket is read more slowly, nothing is lost (default: ${DEFAULT-VALUE}; 0 = no limit).")
    int deviceMessageRate;

    @Option(names = "--device-byte-rate", paramLabel = "BYTES_PER_SEC",
            description = "Uplink payload bytes per second one device may send, enforced the same way "
                    + "(default: ${DEFAULT-VALUE}; 0 = no limit).")
    long deviceByteRate;

    @Option(names = "--write-stall-timeout", paramLabel = "D", converter = DurationConverter.class,
            description = "A device whose queued outbound data has not drained for this long (it sends but does not "
                    + "read) is closed as SLOW_CONSUMER (default: ${DEFAULT-VALUE}; 0 = never).")
    Duration writeStallTimeout;

    @Option(names = "--max-commands-per-device", paramLabel = "N",
            description = "Commands one device may have QUEUED or SENT at once; one more is refused with 409 queue-full "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxCommandsPerDevice;

    @Option(names = "--command-ttl", paramLabel = "D", converter = DurationConverter.class,
            description = "How long a command waits for delivery when its request names no TTL; then EXPIRED, never "
                    + "sent (default: ${DEFAULT-VALUE}).")
    Duration commandTtl;

    @Option(names = "--max-command-ttl", paramLabel = "D", converter = DurationConverter.class,
            description = "Largest TTL a command request may ask for (default: ${DEFAULT-VALUE}).")
    Duration maxCommandTtl;

    @Option(names = "--workers", paramLabel = "N", description = "I/O threads (default: number of cores).")
    int workers;

    @Option(names = "--shutdown-timeout", paramLabel = "D", converter = DurationConverter.class,
            description = "Bound on a graceful shutdown (default: ${DEFAULT-VALUE}).")
    Duration shutdownTimeout;

    enum StoreKind { rocksdb, memory }

    @Option(names = "--store", paramLabel = "KIND",
            description = "rocksdb: durable, embedded, under --data-dir (default); memory: nothing survives a restart.")
    StoreKind store = StoreKind.rocksdb;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Where the durable store lives (default: ${DEFAULT-VALUE}).")
    Path dataDir = Path.of("data");

    @Option(names = "--sync", arity = "0..1", negatable = true, fallbackValue = "true",
            description = "fsync the store's write-ahead log before acknowledging (group commit; default: ${DEFAULT-VALUE}). "
                    + "--no-sync survives a crash of the process but not of the host.")
    boolean sync = true;

    @Option(names = "--min-free-disk", paramLabel = "SIZE", converter = FreeDiskConverter.class,
            description = "Refuse DATA (BYE STORE_UNAVAILABLE, /health 503) while the --data-dir filesystem has less free "
                    + "space than SIZE, before RocksDB runs out; resume above SIZE x 1.5. auto (default): 1%% of the "
                    + "filesystem or 512MiB, whichever is smaller; 0: off; else bytes, or with k, m, g (KiB, MiB, GiB).")
    long minFreeDisk = MessageStores.AUTO_MIN_FREE_DISK;

    /** {@code auto}, {@code 0}, {@code 1048576}, {@code 512m}, {@code 2g}: bytes, KiB-based suffixes. */
    static final class FreeDiskConverter implements picocli.CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            if (value.strip().equalsIgnoreCase("auto")) {
                return MessageStores.AUTO_MIN_FREE_DISK;
            }
            long n = parseSize(value);
            if (n < 0) {
                throw new picocli.CommandLine.TypeConversionException("--min-free-disk '" + value
                        + "': expected auto, 0 (off), or a size such as 512m or 2g");
            }
            return n;
        }
    }

    /** {@code 0}, {@code 1048576}, {@code 512m}, {@code 2g}: bytes, KiB-based suffixes. */
    static final class SizeConverter implements picocli.CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long n = parseSize(value);
            if (n < 0) {
                throw new picocli.CommandLine.TypeConversionException("'" + value
                        + "': expected 0 (off) or a size such as 512m or 2g (bytes, or k, m, g for KiB, MiB, GiB)");
            }
            return n;
        }
    }

    /** Bytes of {@code 0}, {@code 1048576}, {@code 512m}, {@code 2g} (KiB-based suffixes, optional "b"/"ib"); -1 if not a size. */
    static long parseSize(String value) {
        String v = value.strip().toLowerCase(java.util.Locale.ROOT);
        String digits = v.replaceAll("(i?b)$", "");
        long unit = 1;
        char last = digits.isEmpty() ? ' ' : digits.charAt(digits.length() - 1);
        if (last == 'k' || last == 'm' || last == 'g') {
            unit = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : 1L << 30;
            digits = digits.substring(0, digits.length() - 1);
        }
        try {
            long n = Long.parseLong(digits.strip());
            if (n >= 0 && n <= Long.MAX_VALUE / unit) {
                return n * unit;
            }
        } catch (NumberFormatException e) {
            // not a size
        }
        return -1;
    }

    @Option(names = "--feed", arity = "0..1", negatable = true, fallbackValue = "true",
            description = "Keep the application feed in the store: device messages, session events and command changes "
                    + "in one ordered log with stable cursors, read by --kafka and by GET /v1/messages and /v1/stream on "
                    + "--api (default: ${DEFAULT-VALUE}; --no-feed saves one small record per message).")
    boolean feed = true;

    @Option(names = "--kafka", paramLabel = "BOOTSTRAP",
            description = "Forward the feed to Apache Kafka (host:port[,host:port...]), exactly once for read_committed "
                    + "consumers; see docs/OPERATIONS.md, \"Forwarding to Kafka\".")
    String kafka;

    enum AckAfter { store, kafka }

    @Option(names = "--ack-after", paramLabel = "WHERE",
            description = "store (default): acknowledge a device's message once the local store has it (fsynced); "
                    + "kafka: only once Kafka has it too (acks=all; needs --kafka): a lost gateway disk loses nothing "
                    + "acknowledged, at the cost of latency and of ACKs stopping while Kafka is down.")
    AckAfter ackAfter = AckAfter.store;

    @Option(names = "--retention", paramLabel = "D", converter = DurationConverter.class,
            description = "Delete messages and feed entries older than D once forwarded to Kafka (without --kafka: once "
                    + "older than D); entries not yet forwarded are never deleted. 0 (default): keep everything.")
    Duration retention = Duration.ZERO;

    @Option(names = "--max-store-bytes", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "With --kafka: when data not yet forwarded reaches SIZE (Kafka down), stop acknowledging "
                    + "(devices keep their messages and resend; BYE STORE_UNAVAILABLE) instead of dropping anything; "
                    + "resume below 90%% of it. 0 (default): no limit. Bytes, or k, m, g.")
    long maxStoreBytes;

    @Option(names = "--events", paramLabel = "FILE",
            description = "Append session events (JSON lines) to FILE instead of stdout.")
    Path events;

    @Option(names = "--credentials", paramLabel = "FILE",
            description = "Device keys (tether credentials add). Re-read when it changes and on SIGHUP. Required unless "
                    + "--insecure-no-auth.")
    Path credentials;

    @Option(names = "--insecure-no-auth", arity = "0..1",
            description = "Accept every device without a credential: anyone can claim any device id. Local demos only.")
    boolean insecureNoAuth;

    @Option(names = "--max-connections", paramLabel = "N",
            description = "Open connections beyond which new ones get BYE SERVER_BUSY (default: ${DEFAULT-VALUE}; 0 = no cap).")
    int maxConnections;

    @Option(names = "--descriptor-reserve", paramLabel = "N",
            description = "File descriptors kept from devices for the store, the admin endpoint and the JVM: connections "
                    + "are capped at the open-files limit minus N (default: ${DEFAULT-VALUE}).")
    int descriptorReserve;

    @Option(names = "--connect-rate", paramLabel = "PER_SEC[,BURST]",
            description = "New connections per second per source address, with a burst (default: off). Mind carrier-grade "
                    + "NAT: many devices may share one address.")
    String connectRate;

    @Option(names = "--flapping", paramLabel = "N,WINDOW,BAN",
            description = "More than N connects of one device within WINDOW refuse it for BAN (default: ${DEFAULT-VALUE}), or off.")
    String flapping;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "TLS on the device port: PEM certificate chain, the server's certificate first (with --tls-key).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "TLS private key: unencrypted PKCS#8 PEM (with --tls-cert).")
    Path tlsKey;

    @Option(names = "--admin", paramLabel = "ADDR:PORT",
            description = "Serve the read-only admin endpoint over HTTP on ADDR:PORT, e.g. 127.0.0.1:7401: /dashboard, "
                    + "/metrics (Prometheus), /metrics.json, /sessions, /sockets, /closes, /health, /devices/ID/history "
                    + "(default: off). On an address other than loopback it needs --admin-keys FILE, or --insecure-admin.")
    String admin;

    @Option(names = "--admin-keys", paramLabel = "FILE",
            description = "Keys the admin endpoint requires (Authorization: Bearer; /health stays open): an API keys file "
                    + "(tether api-keys add), possibly the --api-keys one. Re-read when it changes and on SIGHUP.")
    Path adminKeys;

    @Option(names = "--insecure-admin", arity = "0..1",
            description = "Serve the admin endpoint without keys on an address other than loopback: anyone who reaches "
                    + "it sees every device id and address.")
    boolean insecureAdmin;

    @Option(names = "--history-sessions", paramLabel = "N",
            description = "Sessions kept in each device's history, in the store (default: ${DEFAULT-VALUE}; 0 = off; "
                    + "at most 1000).")
    int historySessions;

    @Option(names = "--api", paramLabel = "ADDR:PORT",
            description = "Serve the HTTP API (commands to devices, docs/API.md) on ADDR:PORT, e.g. 127.0.0.1:7480 "
                    + "(default: off). Needs --api-keys FILE, or --insecure-no-api-auth.")
    String api;

    @Option(names = "--api-keys", paramLabel = "FILE",
            description = "API keys, stored hashed (tether api-keys add). Re-read when it changes and on SIGHUP.")
    Path apiKeys;

    @Option(names = "--insecure-no-api-auth", arity = "0..1",
            description = "Serve the HTTP API without keys: anyone who reaches it can command every device. Local demos only.")
    boolean insecureNoApiAuth;

    @Option(names = "--api-tls-cert", paramLabel = "FILE",
            description = "TLS on the API port: PEM certificate chain, the server's certificate first (with --api-tls-key).")
    Path apiTlsCert;

    @Option(names = "--api-tls-key", paramLabel = "FILE",
            description = "TLS private key of the API port: unencrypted PKCS#8 PEM (with --api-tls-cert).")
    Path apiTlsKey;

    @Option(names = "--api-rate", paramLabel = "PER_SEC[,BURST]",
            description = "HTTP API requests per second per key, with a burst (default: ${DEFAULT-VALUE}; BURST defaults "
                    + "to 2 x PER_SEC; 0 = no limit). Beyond it: 429 with Retry-After.")
    String apiRate;

    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "Java properties for Tether's Kafka clients (SASL, TLS...: security.protocol, sasl.jaas.config, "
                    + "ssl.truststore.location...). Idempotence, acks, transactional.id and isolation stay Tether's.")
    Path kafkaConfig;

    @Option(names = "--kafka-topic-messages", paramLabel = "TOPIC",
            description = "Topic of device messages (default: tether.messages).")
    String kafkaTopicMessages;

    @Option(names = "--kafka-topic-events", paramLabel = "TOPIC",
            description = "Topic of session events, JSON (default: tether.events).")
    String kafkaTopicEvents;

    @Option(names = "--kafka-topic-command-results", paramLabel = "TOPIC",
            description = "Topic of command state changes and results, JSON (default: tether.command-results).")
    String kafkaTopicCommandResults;

    @Option(names = "--kafka-topic-offsets", paramLabel = "TOPIC",
            description = "Compacted topic of the forwarder's position, key = gateway id (default: tether.forwarder-offsets).")
    String kafkaTopicOffsets;

    @Option(names = "--kafka-commands", paramLabel = "TOPIC", arity = "0..1",
            fallbackValue = KafkaOptions.Topics.DEFAULT_COMMANDS,
            description = "Consume commands from TOPIC (default when given without a value: "
                    + KafkaOptions.Topics.DEFAULT_COMMANDS + ") into the command ledger: key = device id, value = "
                    + "payload, header idempotency-key required, header ttl optional (default: off).")
    String kafkaCommands;

    @Option(names = "--kafka-gateway-id", paramLabel = "ID",
            description = "This gateway's stable name to Kafka (transactional.id tether-ID). Default: the host name and a "
                    + "hash of the absolute --data-dir, so it survives restarts and differs between data directories.")
    String kafkaGatewayId;

    @Option(names = "--config", paramLabel = "FILE",
            description = "YAML file of key: value, each key a flag's name without the leading -- "
                    + "(heartbeat-multiplier: 2, keepalive: off, sync: false). Typed flags win; an unknown key is an error.")
    Path config;

    /**
     * SIGTERM, SIGINT and SIGHUP for {@code serve}. Installed by {@code main} before anything else
     * (start-up takes a second or more of class loading, and the JVM's default would exit 143 or
     * 130 without a word), and again before the server starts when run in-process. TERM and INT
     * ask for a graceful stop; HUP reloads credentials, or is logged when there are none.
     */
    static final class Signals {
        private static final CountDownLatch STOP = new CountDownLatch(1);
        private static volatile String received;
        private static volatile Runnable onHup =
                () -> log.info("SIGHUP: nothing to reload (serve runs without --credentials)");
        private static boolean installed;

        private Signals() {
        }

        static synchronized void install() {
            if (installed) {
                return;
            }
            installed = true;
            for (String name : new String[] {"TERM", "INT"}) {
                SignalHandler was = Signal.handle(new Signal(name), sig -> {
                    received = "SIG" + sig.getName();
                    STOP.countDown();
                });
                if (name.equals("TERM") && was == SignalHandler.SIG_IGN) {
                    log.warn("SIGTERM is ignored by this process (its parent started it so): it cannot be stopped"
                            + " gracefully with kill; SIGINT still stops it");
                }
            }
            // A signal ignored when the JVM starts stays ignored: HotSpot installs no handler for it.
            // nohup does that to SIGHUP, and a reload that silently never happens is worse than a line
            // saying so.
            if (Signal.handle(new Signal("HUP"), sig -> onHup.run()) == SignalHandler.SIG_IGN) {
                log.warn("SIGHUP is ignored by this process (started under nohup?): a SIGHUP will not reload"
                        + " --credentials or --api-keys; each is still re-read within seconds of a change to its file."
                        + " To have SIGHUP work, start it without nohup (setsid, or a service manager)");
            }
        }

        /** The stop signal received so far ("SIGTERM"), or null. */
        static String stopRequested() {
            return received;
        }
    }

    /** The exit of a start-up cut short by SIGTERM or SIGINT: say so, exit 0 as for any requested stop. */
    private static int stoppedDuringStartup(PrintWriter err) {
        err.println("tether serve: " + Signals.stopRequested() + " during start-up: stopped before serving");
        err.flush();
        return 0;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        TetherServer.Builder b;
        try {
            b = builder();
            b.config();
        } catch (IllegalArgumentException e) {
            err.println("tether serve: " + ConfigFile.blame(spec.commandLine(), e.getMessage()));
            return 2;
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            err.println("tether serve: --tls-cert and --tls-key go together");
            return 2;
        }
        if (tlsCert != null) {
            try {
                b.tls(ServerTls.fromPem(tlsCert, tlsKey));
            } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
                err.println("tether serve: TLS: " + e.getMessage());
                return 2;
            }
        }
        ApiKeys httpKeys;
        ApiKeys adminKeyFile;
        try {
            adminKeyFile = configureAdmin(b);
            httpKeys = configureApi(b);
            configureKafka(b);
        } catch (IllegalArgumentException e) {
            err.println("tether serve: " + ConfigFile.blame(spec.commandLine(), e.getMessage()));
            return 2;
        }
        Credentials keys = null;
        if (credentials != null) {
            try {
                CredentialsText.checkNotBinary(credentials);
                keys = Credentials.load(credentials);
            } catch (IllegalArgumentException | IOException e) {
                err.println("tether serve: " + e.getMessage());
                return 2;
            }
            b.authenticator(Authenticators.tokens(keys));
        } else if (!insecureNoAuth) {
            err.println("tether serve: no --credentials FILE. Devices must prove their identity, or anyone could take over "
                    + "any device's session. Create one with `tether credentials add`, or pass --insecure-no-auth for a "
                    + "local demo.");
            return 2;
        }
        OutputStream eventsOut;
        try {
            eventsOut = events == null ? System.out : openEvents(events);
        } catch (IllegalArgumentException e) {
            err.println("tether serve: " + e.getMessage());
            return 2;
        }
        if (Signals.stopRequested() != null) {
            return stoppedDuringStartup(err);
        }
        MessageStore messageStore;
        try {
            messageStore = openStore();
        } catch (IOException e) {
            err.println("tether serve: " + StoreLock.explain(dataDir, e));
            return 1;
        }
        b.store(messageStore);
        log.debug("store: {}{}; events to {}; config file {}; credentials {}", store,
                store == StoreKind.rocksdb ? " in " + dataDir.toAbsolutePath() + (sync ? " (fsync)" : " (no fsync)") : "",
                events == null ? "stdout" : events.toAbsolutePath(), config == null ? "none" : config.toAbsolutePath(),
                credentials == null ? "none (--insecure-no-auth)" : credentials.toAbsolutePath());
        // One registry for the server and its event log, so /metrics shows tether.events.dropped;
        // a Prometheus one, so --admin's /metrics can be scraped; with the JVM and process meters,
        // which only the program that owns the JVM should bind (a library binding them into an
        // application's registry would count GCs twice).
        io.micrometer.core.instrument.MeterRegistry meters = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        JvmMeters.bindTo(meters);
        b.meters(meters);
        EventLog eventLog = EventLogs.json(eventsOut, events != null, meters);
        b.listener(eventLog);
        TetherServer server = b.build();
        if (Signals.stopRequested() != null) {
            messageStore.close();
            eventLog.close();
            return stoppedDuringStartup(err);
        }
        try {
            server.start();
        } catch (java.io.UncheckedIOException e) {
            err.println("tether serve: " + e.getCause().getMessage());
            server.close();
            eventLog.close();
            return 1;
        }
        // SIGTERM and SIGINT end in a graceful shutdown and exit status 0: the signal is a
        // request, not a failure. (A JVM shutdown hook alone would exit 143.) The hook stays as
        // a fallback for any other way the JVM goes down.
        Signals.install();
        ScheduledExecutorService reloader = null;
        if (keys != null || httpKeys != null || adminKeyFile != null) {
            Credentials file = keys;
            Signals.onHup = () -> {
                reloadKeys(file, httpKeys, true, server);
                reloadAdminKeys(adminKeyFile, true);
            };
            reloader = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tether-credentials");
                t.setDaemon(true);
                return t;
            });
            reloader.scheduleWithFixedDelay(() -> {
                reloadKeys(file, httpKeys, false, server);
                reloadAdminKeys(adminKeyFile, false);
            }, 2, 2, TimeUnit.SECONDS);
            if (keys != null) {
                log.info("authenticating devices against {} ({} entries)", file.path(), file.size());
            }
        }
        Thread hook = new Thread(() -> {
            server.close();
            eventLog.close();
        }, "tether-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Signals.STOP.await();
        log.info("{}: stopping", Signals.stopRequested());
        if (reloader != null) {
            reloader.shutdownNow();
        }
        server.close();
        eventLog.close();
        return 0;
    }

    /** Re-reads the device credentials and the API keys, whichever there are. */
    private static void reloadKeys(Credentials credentials, ApiKeys apiKeys, boolean force, TetherServer server) {
        if (credentials != null) {
            reloadCredentials(credentials, force, server);
        }
        if (apiKeys != null) {
            try {
                if (apiKeys.reload(force)) {
                    log.info("API keys reloaded from {} ({} keys)", apiKeys.path(), apiKeys.size());
                    if (apiKeys.size() == 0) {
                        log.warn("{} has no keys: every HTTP API request is refused until one is added", apiKeys.path());
                    }
                }
            } catch (IOException e) {
                log.error("API keys not reloaded, previous keys stay in force: {}", e.getMessage());
            }
        }
    }

    private static void reloadAdminKeys(ApiKeys keys, boolean force) {
        if (keys == null) {
            return;
        }
        try {
            if (keys.reload(force)) {
                log.info("admin keys reloaded from {} ({} keys)", keys.path(), keys.size());
            }
        } catch (IOException e) {
            log.error("admin keys not reloaded, previous keys stay in force: {}", e.getMessage());
        }
    }

    /**
     * Applies the {@code --admin*} flags to {@code b}.
     *
     * @return the admin keys, to reload; null without an admin endpoint or without keys
     * @throws IllegalArgumentException naming the flag, what is wrong and the fix
     */
    ApiKeys configureAdmin(TetherServer.Builder b) {
        if (admin == null) {
            String stray = adminKeys != null ? "--admin-keys" : insecureAdmin ? "--insecure-admin" : null;
            if (stray != null) {
                throw new IllegalArgumentException(stray + " needs --admin ADDR:PORT (the admin endpoint is off without it)");
            }
            return null;
        }
        InetSocketAddress address = HostPort.resolve("--admin", admin);
        b.admin(address);
        if (adminKeys != null && insecureAdmin) {
            throw new IllegalArgumentException("--admin-keys and --insecure-admin: choose one");
        }
        if (adminKeys == null) {
            if (!address.getAddress().isLoopbackAddress() && !insecureAdmin) {
                // Loopback stays open: only this host's users reach it, as they could read /proc.
                throw new IllegalArgumentException("--admin " + admin + " is not a loopback address, and the admin endpoint "
                        + "names every device and its address. Give --admin-keys FILE (make a key with `tether api-keys add "
                        + "NAME --file FILE`; the --api-keys file works too), bind it to 127.0.0.1, or pass --insecure-admin "
                        + "on a network only operators reach.");
            }
            b.insecureAdmin(insecureAdmin);
            return null;
        }
        try {
            ApiKeys keys = ApiKeys.load(adminKeys);
            b.adminKeys(keys);
            return keys;
        } catch (IOException e) {
            throw new IllegalArgumentException("--admin-keys: " + e.getMessage());
        }
    }

    /**
     * Applies the {@code --api*} flags to {@code b}.
     *
     * @return the API keys, to reload; null without an API or without keys
     * @throws IllegalArgumentException naming the flag, what is wrong and the fix
     */
    /** The Kafka flags into {@link TetherServer.Builder#kafka}; IllegalArgumentException naming the flag. */
    void configureKafka(TetherServer.Builder b) {
        KafkaOptions k = kafkaOptions();
        if (k != null) {
            b.kafka(k);
        }
    }

    /** The Kafka flags as options, or null without --kafka. */
    KafkaOptions kafkaOptions() {
        if (kafka == null) {
            String stray = kafkaConfig != null ? "--kafka-config" : kafkaTopicMessages != null ? "--kafka-topic-messages"
                    : kafkaTopicEvents != null ? "--kafka-topic-events"
                    : kafkaTopicCommandResults != null ? "--kafka-topic-command-results"
                    : kafkaTopicOffsets != null ? "--kafka-topic-offsets"
                    : kafkaCommands != null ? "--kafka-commands" : kafkaGatewayId != null ? "--kafka-gateway-id" : null;
            if (stray != null) {
                throw new IllegalArgumentException(stray + " needs --kafka HOST:PORT (forwarding to Kafka is off without it)");
            }
            return null;
        }
        KafkaOptions.Builder k = KafkaOptions.builder(kafka);
        if (kafkaConfig != null) {
            k.properties(readKafkaConfig(kafkaConfig));
        }
        KafkaOptions.Topics topics = KafkaOptions.Topics.DEFAULT;
        if (kafkaTopicMessages != null) {
            topics = topics.withMessages(kafkaTopicMessages);
        }
        if (kafkaTopicEvents != null) {
            topics = topics.withEvents(kafkaTopicEvents);
        }
        if (kafkaTopicCommandResults != null) {
            topics = topics.withCommandResults(kafkaTopicCommandResults);
        }
        if (kafkaTopicOffsets != null) {
            topics = topics.withOffsets(kafkaTopicOffsets);
        }
        if (kafkaCommands != null) {
            topics = topics.withCommands(kafkaCommands);
        }
        k.topics(topics);
        k.gatewayId(kafkaGatewayId != null ? kafkaGatewayId : defaultGatewayId());
        return k.build();
    }

    private static java.util.Map<String, String> readKafkaConfig(Path file) {
        java.util.Properties p = new java.util.Properties();
        try (java.io.Reader r = java.nio.file.Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("--kafka-config " + file + ": no such file");
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("--kafka-config " + file + ": " + e.getMessage()
                    + " (expected: Java properties, key=value per line)");
        }
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String name : new java.util.TreeSet<>(p.stringPropertyNames())) {
            out.put(name, p.getProperty(name).strip());
        }
        return out;
    }

    /**
     * The host name, and for the durable store 8 hex digits of SHA-256 of the absolute data
     * directory: the same across restarts, different for two data directories on one host (two
     * gateways with one id would fence each other's producer).
     */
    String defaultGatewayId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            host = "tether";
        }
        host = host.replaceAll("[^A-Za-z0-9._-]", "");
        if (host.isEmpty()) {
            host = "tether";
        }
        if (store != StoreKind.rocksdb) {
            return host + "-memory";
        }
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(
                    dataDir.toAbsolutePath().normalize().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return host + "-" + java.util.HexFormat.of().formatHex(digest, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    ApiKeys configureApi(TetherServer.Builder b) {
        if (api == null) {
            String stray = apiKeys != null ? "--api-keys" : insecureNoApiAuth ? "--insecure-no-api-auth"
                    : apiTlsCert != null ? "--api-tls-cert" : apiTlsKey != null ? "--api-tls-key" : null;
            if (stray != null) {
                throw new IllegalArgumentException(stray + " needs --api ADDR:PORT (the HTTP API is off without it)");
            }
            return null;
        }
        b.api(HostPort.resolve("--api", api));
        b.apiRate(parseApiRate(apiRate));
        if ((apiTlsCert == null) != (apiTlsKey == null)) {
            throw new IllegalArgumentException("--api-tls-cert and --api-tls-key go together");
        }
        if (apiTlsCert != null) {
            try {
                b.apiTls(ServerTls.fromPem(apiTlsCert, apiTlsKey));
            } catch (java.io.UncheckedIOException e) {
                throw new IllegalArgumentException("API TLS: " + e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("API TLS: " + e.getMessage());
            }
        }
        if (apiKeys != null && insecureNoApiAuth) {
            throw new IllegalArgumentException("--api-keys and --insecure-no-api-auth: choose one");
        }
        if (apiKeys == null) {
            if (!insecureNoApiAuth) {
                throw new IllegalArgumentException("--api without --api-keys FILE: every application could command every "
                        + "device. Create a key with `tether api-keys add NAME --file FILE`, or pass --insecure-no-api-auth "
                        + "for a local demo.");
            }
            b.apiInsecureNoAuth(true);
            return null;
        }
        try {
            ApiKeys keys = ApiKeys.load(apiKeys);
            b.apiKeys(keys);
            return keys;
        } catch (IOException e) {
            throw new IllegalArgumentException("--api-keys: " + e.getMessage());
        }
    }

    /**
     * {@code PER_SEC[,BURST]} or {@code 0}; BURST defaults to twice the rate.
     *
     * @throws IllegalArgumentException naming --api-rate and the expected form
     */
    static ApiRate parseApiRate(String value) {
        String v = value.strip();
        if (v.equals("0") || v.equalsIgnoreCase("off")) {
            return ApiRate.OFF;
        }
        String[] f = v.split(",", -1);
        try {
            if (f.length <= 2) {
                double rate = Double.parseDouble(f[0].strip());
                int burst = f.length == 2 ? Integer.parseInt(f[1].strip()) : (int) Math.min(10_000_000, Math.max(1, Math.ceil(2 * rate)));
                return new ApiRate(rate, burst);
            }
        } catch (NumberFormatException e) {
            // reported below
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + e.getMessage());
        }
        throw new IllegalArgumentException("--api-rate '" + value + "' (expected: PER_SEC[,BURST], e.g. 1000,2000, or 0 for no limit)");
    }

    private static void reloadCredentials(Credentials file, boolean force, TetherServer server) {
        try {
            if (file.reload(force)) {
                log.info("credentials reloaded from {} ({} entries)", file.path(), file.size());
                // A device whose key was removed or replaced must not keep the session the old key opened.
                server.revalidate();
            }
        } catch (IOException e) {
            log.error("credentials not reloaded, previous keys stay in force: {}", e.getMessage());
        }
    }

    /**
     * Opens --events FILE for appending.
     *
     * @throws IllegalArgumentException naming the flag, what is wrong and the fix
     */
    static OutputStream openEvents(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null && !java.nio.file.Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--events " + file + ": directory " + dir + " does not exist "
                    + "(create it first: mkdir -p " + dir + ")");
        }
        if (java.nio.file.Files.isDirectory(file)) {
            throw new IllegalArgumentException("--events " + file + " is a directory (expected: a file to append to)");
        }
        try {
            return new FileOutputStream(file.toFile(), true);
        } catch (java.io.FileNotFoundException e) {
            throw new IllegalArgumentException("--events " + file + ": cannot open for appending ("
                    + (java.nio.file.Files.exists(file) ? "permission denied?" : "no write permission in " + dir + "?")
                    + ")");
        }
    }

    MessageStore openStore() throws IOException {
        if (store == StoreKind.memory) {
            if (kafka != null) {
                throw new IllegalArgumentException("--kafka forwards from the durable store: it needs --store rocksdb");
            }
            return MessageStores.inMemory();
        }
        boolean forwarding = kafka != null;
        if (!forwarding && ackAfter == AckAfter.kafka) {
            throw new IllegalArgumentException("--ack-after kafka needs --kafka BOOTSTRAP (the broker to wait for)");
        }
        if (!forwarding && maxStoreBytes > 0) {
            throw new IllegalArgumentException("--max-store-bytes bounds data not yet forwarded to Kafka: it needs --kafka");
        }
        if (forwarding && !feed) {
            throw new IllegalArgumentException("--kafka forwards the feed: it cannot be used with --no-feed");
        }
        return MessageStores.rocksDb(dataDir, sync, 65_536, minFreeDisk,
                new FeedOptions(feed, forwarding, ackAfter == AckAfter.kafka, retention, maxStoreBytes));
    }

    TetherServer.Builder builder() throws IOException {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("--port " + port + " (expected: 0 to 65535; 0 = any free port)");
        }
        InetSocketAddress listen = new InetSocketAddress(bind, port);
        if (listen.isUnresolved()) {
            throw new IllegalArgumentException("--bind " + bind + ": not a valid IP address, nor a host name that "
                    + "resolves (expected an address of this machine, e.g. 127.0.0.1, 0.0.0.0 or ::)");
        }
        TetherServer.Builder b = TetherServer.builder()
                .bindAddress(listen)
                .handshakeTimeout(handshakeTimeout)
                .heartbeat(heartbeat)
                .heartbeatRange(minHeartbeat, maxHeartbeat)
                .heartbeatMultiplier(heartbeatMultiplier)
                .drain(drain)
                .keepAlive(keepAlive)
                .quiet(quiet)
                .backlog(backlog)
                .tcpNoDelay(tcpNoDelay)
                .maxFrameLength(maxFrame)
                .writeBufferLimit(writeBufferLimit)
                .deviceMessageRate(deviceMessageRate)
                .deviceByteRate(deviceByteRate)
                .writeStallTimeout(writeStallTimeout)
                .commandLimits(new CommandLimits(maxCommandsPerDevice, commandTtl, maxCommandTtl,
                        CommandLimits.DEFAULTS.maxInFlight()))
                .workerThreads(workers)
                .historySessions(historySessions)
                .shutdownTimeout(shutdownTimeout);
        if (userTimeout != null) {
            b.userTimeout(userTimeout);
        }
        b.maxConnections(maxConnections);
        b.descriptorReserve(descriptorReserve);
        if (connectRate != null) {
            String[] f = connectRate.split(",");
            try {
                double rate = Double.parseDouble(f[0].trim());
                b.connectRate(rate, f.length > 1 ? Integer.parseInt(f[1].trim()) : (int) Math.max(1, Math.ceil(rate)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--connect-rate: '" + connectRate + "' (expected: PER_SEC[,BURST], e.g. 50,100)");
            }
        }
        if (flapping.equalsIgnoreCase("off")) {
            b.flapping(Flapping.OFF);
        } else {
            String[] f = flapping.split(",");
            if (f.length != 3) {
                throw new IllegalArgumentException("--flapping: '" + flapping + "' (expected: N,WINDOW,BAN e.g. 15,1m,5m, or off)");
            }
            try {
                b.flapping(Flapping.DEFAULT.withMaxConnects(Integer.parseInt(f[0].trim()))
                        .withWindow(DurationConverter.parse(f[1])).withBan(DurationConverter.parse(f[2])));
            } catch (NumberFormatException | CommandLine.TypeConversionException e) {
                throw new IllegalArgumentException("--flapping: '" + flapping + "' (expected: N,WINDOW,BAN e.g. 15,1m,5m, or off)");
            }
        }
        return b;
    }
}
