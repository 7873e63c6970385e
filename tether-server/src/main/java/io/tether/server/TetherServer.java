package io.tether.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.FrameEncoder;
import io.tether.protocol.Reason;
import io.tether.server.Authenticator;
import io.tether.server.internal.admin.AdminServer;
import io.tether.server.internal.admin.RecentCloses;
import io.tether.server.internal.admission.Admission;
import io.tether.server.internal.api.ApiServer;
import io.tether.server.internal.api.DeviceDirectory;
import io.tether.server.internal.connection.Connection;
import io.tether.server.internal.close.ConnectionClose;
import io.tether.server.internal.connection.RefusedConnection;
import io.tether.server.internal.commands.CommandJournal;
import io.tether.server.internal.commands.CommandLedger;
import io.tether.server.internal.commands.MemoryCommandJournal;
import io.tether.server.internal.core.ServerContext;
import io.tether.server.internal.delivery.RocksDbMessageStore;
import io.tether.server.internal.delivery.InMemoryMessageStore;
import io.tether.server.internal.history.MemorySessionHistory;
import io.tether.server.internal.feed.Feed;
import io.tether.server.internal.feed.FeedEvents;
import io.tether.server.internal.kafka.KafkaGateway;
import io.tether.server.internal.history.SessionHistory;
import io.tether.server.internal.limits.DeviceThrottle;
import io.tether.server.MessageStore;
import io.tether.server.internal.session.LocalSessionRegistry;
import io.tether.server.Session;
import io.tether.server.SessionRegistry;
import io.tether.transport.tls.Tls;
import io.tether.transport.HostPort;
import io.tether.transport.KeepAlive;
import io.tether.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The Tether gateway. Build with {@link #builder()}, then {@link #start()}; {@link #close()}
 * shuts down gracefully (BYE SERVER_SHUTDOWN to every device, drain, close) within the configured
 * bound. Thread-safe.
 */
public final class TetherServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TetherServer.class);

    private final ServerConfig config;
    private final Transport transport;
    private final SessionRegistry registry;
    private final MessageStore store;
    private final MeterRegistry meters;
    private final Authenticator authenticator;
    private final SslContext tls;
    /** For the "listening" line: the certificate and key files, or null without TLS. */
    private final String tlsDescription;
    private final ServerContext context;
    private final CommandLedger commands;
    private final ChannelGroup connections = new DefaultChannelGroup("tether-connections", GlobalEventExecutor.INSTANCE);
    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private Channel serverChannel;
    private final InetSocketAddress adminAddress;
    /** Keys the admin endpoint requires, or null when it is open (loopback, or insecureAdmin). */
    private final ApiKeys adminKeys;
    private AdminServer admin;
    /**
     * The application feed (messages, session events, command changes in one ordered log), or
     * null when the store keeps none (a store of the application's own, or the feed turned off).
     */
    private final Feed feed;
    /** Each device's last sessions; {@link SessionHistory#OFF} with historySessions(0). */
    private final SessionHistory history;
    /** The admin dashboard's last closes of each reason; fed only when there is an admin endpoint. */
    private final RecentCloses recentCloses = new RecentCloses();
    /** The HTTP API's settings and its device directory, or null without {@link Builder#api}. */
    private final ApiConfig apiConfig;
    private ApiServer api;
    private volatile boolean closed;
    /** Forwarding the feed to Kafka ({@link Builder#kafka}), or null; the gateway runs from start() to close(). */
    private final KafkaOptions kafkaOptions;
    private volatile KafkaGateway kafka;

    private TetherServer(Builder b, ServerConfig config) {
        this.config = config;
        this.transport = b.transport;
        this.registry = b.registry;
        this.store = b.store;
        this.meters = b.meters;
        this.authenticator = b.authenticator;
        this.tls = b.tls;
        this.tlsDescription = b.tlsDescription;
        this.adminAddress = b.adminAddress;
        this.adminKeys = b.adminKeys;
        this.kafkaOptions = b.kafka;
        this.apiConfig = b.apiAddress == null ? null : new ApiConfig(b.apiAddress, b.apiKeys, b.apiTls, b.apiRate, new DeviceDirectory());
        int keep = config.historySessions();
        this.history = keep == 0 ? SessionHistory.OFF
                : store instanceof RocksDbMessageStore rocks ? rocks.sessionHistory(keep, meters) : new MemorySessionHistory(keep);
        List<SessionListener> listeners = withApi(b.listeners);
        this.feed = store instanceof RocksDbMessageStore rocks ? rocks.feed()
                : store instanceof InMemoryMessageStore memory ? memory.feed() : null;
        if (feed != null) {
            listeners = new ArrayList<>(listeners);
            listeners.add(new FeedEvents(feed));
        }
        if (keep > 0) {
            listeners = new ArrayList<>(listeners);
            listeners.add(history);
        }
        if (adminAddress != null) {
            listeners = new ArrayList<>(listeners);
            listeners.add(recentCloses);
        }
        CommandJournal journal = store instanceof RocksDbMessageStore rocks ? rocks.commandJournal() : new MemoryCommandJournal();
        this.commands = new CommandLedger(journal, config.commandLimits(), config.maxFrameLength() - 10, b.clock,
                store::health, listeners, meters);
        this.context = new ServerContext(config, registry, store, authenticator, b.clock, listeners, meters, commands);
        registerMeters();
    }

    /** Meters that read this object's state when scraped; nothing is counted on the event loops. */
    private void registerMeters() {
        Gauge.builder("tether.connections.open", connections, g -> g.size())
                .description("TCP connections held: handshaking, sessions and draining").register(meters);
        Gauge.builder("tether.connections.handshaking", context, ServerContext::handshaking)
                .description("connections accepted that are not yet sessions").register(meters);
        Gauge.builder("tether.devices.flapping", context.admission, a -> a.flapEntries())
                .description("devices held by flapping detection: reconnected within the window, or banned").register(meters);
        if (store instanceof RocksDbMessageStore rocks) {
            FunctionCounter.builder("tether.store.appends", rocks, RocksDbMessageStore::appended)
                    .description("messages written to the store").register(meters);
            FunctionCounter.builder("tether.store.commits", rocks, RocksDbMessageStore::commits)
                    .description("write batches committed (group commit: many appends each)").register(meters);
            FunctionCounter.builder("tether.store.fsyncs", rocks, r -> r.syncs() ? r.commits() : 0)
                    .description("write batches fsynced (0 with sync off)").register(meters);
            Gauge.builder("tether.store.queue", rocks, RocksDbMessageStore::pending)
                    .description("appends waiting for the store's writer").register(meters);
            FunctionCounter.builder("tether.feed.events.lost", rocks, RocksDbMessageStore::feedEventsLost)
                    .description("session events and command changes not put in the feed: the store was failed or closing")
                    .register(meters);
        }
        if (feed != null) {
            Gauge.builder("tether.feed.head", feed, Feed::head)
                    .description("offset of the newest durable feed entry").register(meters);
            Gauge.builder("tether.feed.unforwarded", feed, Feed::unforwardedBytes).baseUnit("bytes")
                    .description("message and event bytes in the feed not yet forwarded to Kafka").register(meters);
        }
    }

    private static final Authenticator NO_AUTH = Authenticator.allowAll();

    /** The HTTP API as built: keys null when it runs without authentication (explicitly chosen). */
    private record ApiConfig(InetSocketAddress address, ApiKeys keys, ServerTls tls, ApiRate rate, DeviceDirectory directory) {
    }

    /** The listeners, and the API's device directory, which learns sessions from the same events. */
    private List<SessionListener> withApi(List<SessionListener> listeners) {
        if (apiConfig == null) {
            return listeners;
        }
        List<SessionListener> all = new ArrayList<>(listeners);
        all.add(apiConfig.directory());
        return all;
    }

    private ApiServer startApi() {
        ApiServer.Settings s = new ApiServer.Settings(apiConfig.address(), apiConfig.tls() == null ? null : apiConfig.tls().context(),
                apiConfig.keys() == null ? null : apiConfig.keys().file(), apiConfig.rate(), config.maxFrameLength(),
                this::commands, apiConfig.directory(), transport, meters, context.clock, System::nanoTime,
                ApiServer.Limits.DEFAULT);
        return ApiServer.start(feed == null ? s : s.withFeed(feed, ApiServer.FeedLimits.DEFAULT));
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds and starts accepting devices.
     *
     * @throws IllegalStateException if already started
     * @throws java.io.UncheckedIOException if the address cannot be bound
     */
    public synchronized TetherServer start() {
        if (serverChannel != null || closed) {
            throw new IllegalStateException("server already started");
        }
        long cap = config.admission().connectionCap(context.openFilesLimit);
        if (cap < 1) {
            throw new java.io.UncheckedIOException(new java.io.IOException("the open-files limit " + context.openFilesLimit
                    + " leaves no descriptor for devices beyond the descriptor-reserve of "
                    + config.admission().descriptorReserve() + ": raise the limit (ulimit -n, systemd LimitNOFILE=) or "
                    + "lower --descriptor-reserve"));
        }
        try {
            commands.start();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        bossGroup = transport.newGroup(1, "tether-accept");
        workerGroup = transport.newGroup(config.workerThreads(), "tether-io");
        ServerBootstrap b = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, config.backlog())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(config.writeBufferLimit() / 2, config.writeBufferLimit()))
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        Admission.Refusal refusal = context.admit(ch);
                        if (tls != null) {
                            // First: every handler after it reads and writes plaintext frames. A
                            // refused connection has no handshake deadline, so TLS's own timer bounds
                            // the wait for the handshake its BYE needs.
                            ch.pipeline().addLast("tls", Tls.handler(tls, ch,
                                    refusal == Admission.Refusal.NONE ? Duration.ZERO : config.handshakeTimeout()));
                        }
                        if (refusal != Admission.Refusal.NONE && !context.admission.startRefusal()) {
                            // Too many are being told SERVER_BUSY already; each holds a descriptor
                            // for its drain, and a flood must not spend the reserve on goodbyes.
                            // Accepting also pauses for a moment, so the flood waits in the kernel's
                            // backlog instead of taking descriptors only to be reset (a burst of 300
                            // under a 300-file limit reached EMFILE on accept without this).
                            pauseAccepting(ch.parent());
                            ConnectionClose.abortiveClose(ch);
                            return;
                        }
                        if (refusal != Admission.Refusal.NONE) {
                            ch.pipeline().addLast("encoder", FrameEncoder.INSTANCE)
                                    .addLast("refused", new RefusedConnection(context, refusal));
                            return;
                        }
                        ch.pipeline().addLast("decoder", new FrameDecoder(config.maxFrameLength()).firstFrameHello())
                                .addLast("connection", new Connection(context));
                    }
                });
        if (!config.tcpNoDelay()) {
            // Netty's socket channels turn TCP_NODELAY on when they are created; only "off" costs a call.
            b.childOption(ChannelOption.TCP_NODELAY, false);
        }
        // On epoll these go on the listener, and the kernel copies them into each accepted socket.
        BiConsumer<ChannelOption<?>, Object> accepted = transport.acceptedSocketOptions(b);
        DeviceThrottle.applyTo(accepted, transport, config.deviceLimits());
        transport.applyKeepAlive(accepted, config.keepAlive());
        transport.applyUserTimeout(accepted, config.userTimeout());
        try {
            serverChannel = b.bind(config.bindAddress()).syncUninterruptibly().channel();
        } catch (Exception e) {
            bossGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            workerGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new java.io.UncheckedIOException(new java.io.IOException(
                    "cannot listen on " + config.bindAddress() + ": " + e.getMessage(), e));
        }
        if (adminAddress != null) {
            try {
                admin = AdminServer.start(this, adminAddress, AdminServer.Limits.DEFAULT,
                        adminKeys == null ? null : new AdminServer.Keys() {
                            @Override
                            public String authenticate(String presented) {
                                return adminKeys.file().authenticate(presented);
                            }

                            @Override
                            public String source() {
                                return adminKeys.path().toString();
                            }
                        }, recentCloses);
            } catch (java.io.UncheckedIOException e) {
                serverChannel.close().syncUninterruptibly();
                workerGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                bossGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                serverChannel = null;
                throw e;
            }
        }
        if (apiConfig != null) {
            try {
                api = startApi();
            } catch (java.io.UncheckedIOException e) {
                if (admin != null) {
                    admin.close();
                }
                serverChannel.close().syncUninterruptibly();
                workerGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                bossGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                serverChannel = null;
                throw e;
            }
        }
        startKafka();
        if (authenticator == NO_AUTH) {
            log.warn("AUTHENTICATION IS OFF: any client can claim any device id, take over its session and "
                    + "send data in its name. Use only for local demos and tests.");
        }
        log.info("listening on {}, {} ({} transport; {})", HostPort.format(serverChannel.localAddress()),
                tlsDescription == null ? "plaintext (no TLS)" : "TLS on (" + tlsDescription + ")", transport, config);
        log.info("connection cap {}: {}", cap == Long.MAX_VALUE ? "none" : cap, capReason(cap));
        return this;
    }

    /**
     * Kafka (issue 14): after the store opened and everything else started, so a failure before
     * leaves nothing to undo; its threads connect by themselves, start() never waits for Kafka.
     * Stopped in close() before the store: the command consumer first, then the forwarder.
     */
    private void startKafka() {
        if (kafkaOptions == null) {
            return;
        }
        Feed f = feed();
        if (f == null) {
            log.warn("kafka {}: this server's store keeps no application feed, so nothing is forwarded",
                    kafkaOptions.bootstrap());
            return;
        }
        kafka = KafkaGateway.start(kafkaOptions, f, commands, meters, context.clock);
        if (admin != null) {
            admin.forwarder(kafka.forwarder()::status);
        }
    }

    private void stopKafka() {
        KafkaGateway k = kafka;
        kafka = null;
        if (k != null) {
            k.close();
        }
    }

    private String capReason(long cap) {
        long limit = context.openFilesLimit;
        int reserve = config.admission().descriptorReserve();
        String files = limit == Long.MAX_VALUE ? "open-files limit unlimited or unknown"
                : "open-files limit " + limit + " - descriptor-reserve " + reserve + " (store, admin, JVM) = " + (limit - reserve);
        int max = config.maxConnections();
        if (max == 0) {
            return files + "; --max-connections not set";
        }
        return cap < max ? files + ", below --max-connections " + max + ": raise the open-files limit to at least "
                + ((long) max + reserve) + " to reach it" : "--max-connections " + max + " (" + files + ")";
    }

    /** Stops reading the listening socket for 100 ms, as Netty's own acceptor does after EMFILE. */
    private static void pauseAccepting(Channel listener) {
        if (listener != null && listener.config().isAutoRead()) {
            listener.config().setAutoRead(false);
            listener.eventLoop().schedule(() -> listener.config().setAutoRead(true), 100, TimeUnit.MILLISECONDS);
        }
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    public ServerConfig config() {
        return config;
    }

    /**
     * The bound address of the admin endpoint ({@link Builder#admin}), or null when there is none
     * or the server is not started.
     */
    public synchronized InetSocketAddress adminAddress() {
        return admin == null ? null : admin.address();
    }

    /**
     * The bound address of the HTTP API ({@link Builder#api}), or null when there is none or the
     * server is not started.
     */
    public synchronized InetSocketAddress apiAddress() {
        return api == null ? null : api.address();
    }

    /** The application feed, or null when the store keeps none. */
    Feed feed() {
        return feed;
    }

    /**
     * The device's last sessions, newest first: at most {@link ServerConfig#historySessions()},
     * kept in the store (they survive a restart with the RocksDB store; with the memory store, for
     * the 100,000 devices seen most recently). A session still open here is marked
     * {@link SessionRecord#live()}. Sessions that never completed a handshake are not kept (the
     * event log has them). An event is recorded within milliseconds, by the store's history
     * writer: a read right after a close may not show it yet.
     *
     * <p>Thread-safe. Reads the store, so it may touch the disk: do not call it on an event loop
     * that serves devices.
     *
     * @return empty when the history is off or the device has none
     * @throws IllegalArgumentException if the device id is not 1 or more printable ASCII characters
     * @throws java.io.UncheckedIOException if the store cannot be read
     */
    public List<SessionRecord> history(String deviceId) {
        Objects.requireNonNull(deviceId, "deviceId");
        // The same rule as the wire's (PROTOCOL.md 4.1), whichever store keeps the history.
        if (deviceId.isEmpty()) {
            throw new IllegalArgumentException("deviceId: empty (expected: 1 or more printable ASCII characters)");
        }
        for (int i = 0; i < deviceId.length(); i++) {
            char c = deviceId.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException("deviceId: character 0x" + Integer.toHexString(c) + " at " + i
                        + " (expected: printable ASCII 0x21-0x7E)");
            }
        }
        List<SessionRecord> records;
        try {
            records = history.read(deviceId);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Session live = registry.lookup(deviceId);
        long liveEpoch = live == null ? 0 : live.epoch();
        List<SessionRecord> out = new ArrayList<>(records.size());
        for (SessionRecord r : records) {
            out.add(r.withLive(!r.closed() && r.sessionId() == liveEpoch));
        }
        return out;
    }

    public Transport transport() {
        return transport;
    }

    public SessionRegistry registry() {
        return registry;
    }

    public MessageStore store() {
        return store;
    }

    /** The command ledger: durable, acknowledged commands to devices by id. */
    public Commands commands() {
        return commands;
    }

    /** The registry of this server's meters ({@link Builder#meters}). */
    public MeterRegistry meters() {
        return meters;
    }

    /** Open TCP connections, handshaken or not. */
    public int connectionCount() {
        return connections.size();
    }

    /** The open connections' channels: the server's tests read the accepted sockets' options. */
    Iterable<Channel> acceptedChannels() {
        return connections;
    }

    /** A snapshot of every open connection (handshaken or not), for audits. Thread-safe. */
    public List<ConnectionInfo> connections() {
        List<ConnectionInfo> out = new ArrayList<>(connections.size());
        for (Channel ch : connections) {
            Connection h = ch.pipeline().get(Connection.class);
            if (h != null && ch.isOpen()) {
                out.add(h.info());
            }
        }
        return out;
    }

    /**
     * Checks every live session against the authenticator ({@link Authenticator#stillValid}) and
     * ends those it no longer admits, with BYE AUTH_FAILED "credentials revoked" (close event
     * reason AUTH_FAILED). Call it after the credentials changed, e.g. after a successful
     * {@link Credentials#reload}. Thread-safe; does not wait for the closes.
     *
     * @return the number of sessions told to end
     */
    public int revalidate() {
        int revoked = 0;
        for (Channel ch : connections) {
            Connection h = ch.pipeline().get(Connection.class);
            if (h == null || !ch.isOpen()) {
                continue;
            }
            ConnectionInfo info = h.info();
            if (info.deviceId() != null && "OPEN".equals(info.state()) && !authenticator.stillValid(info.deviceId())) {
                h.revoke("credentials revoked");
                revoked++;
            }
        }
        if (revoked > 0) {
            log.info("credentials changed: {} session(s) whose device key was removed or replaced are ending", revoked);
        }
        return revoked;
    }

    /**
     * Queues a downlink message to a connected device.
     *
     * @return false if the device has no live session here
     */
    public boolean send(String deviceId, byte[] payload) {
        Session s = registry.lookup(deviceId);
        return s != null && s.send(payload);
    }

    /**
     * Graceful shutdown: stops accepting, sends BYE SERVER_SHUTDOWN (with a jittered
     * reconnect-after hint) to every connection, lets each drain, and closes what is left when
     * the configured shutdown timeout expires. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (serverChannel == null) {
            stopKafka();
            commands.close();
            history.close();
            store.close();
            return;
        }
        if (api != null) {
            api.close();
        }
        if (admin != null) {
            admin.close();
        }
        serverChannel.close().syncUninterruptibly();
        long deadline = System.nanoTime() + config.shutdownTimeout().toNanos();
        for (Channel ch : connections) {
            Connection h = ch.pipeline().get(Connection.class);
            if (h != null) {
                h.kick(Reason.SERVER_SHUTDOWN);
            }
        }
        while (!connections.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!connections.isEmpty()) {
            log.warn("{} connections still open after {}; closing them", connections.size(), config.shutdownTimeout());
            connections.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        stopKafka();
        commands.close();
        // After the event loops: the close events of the shutdown are recorded, then written.
        history.close();
        store.close();
        log.info("stopped");
    }

    /**
     * Builds a {@link TetherServer}. Setters validate their argument and throw
     * {@link IllegalArgumentException} naming the setting as {@code tether serve} spells it;
     * {@link #build()} checks the combination. The initial values here and the {@code DEFAULT}
     * constants of the value types are the defaults, and the only copy of them: README and
     * {@code tether serve --help} read them from {@link #config()}. Not thread-safe.
     */
    public static final class Builder {
        private InetSocketAddress bindAddress = new InetSocketAddress(7400);
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private Duration drain = Duration.ofSeconds(2);
        private Heartbeat heartbeat = Heartbeat.DEFAULT;
        private KeepAlive keepAlive = KeepAlive.DEFAULT;
        private Duration userTimeout;
        private int backlog = 4096;
        private boolean tcpNoDelay = true;
        private int workerThreads;
        private Limits limits = Limits.DEFAULT;
        private Shutdown shutdown = Shutdown.DEFAULT;
        private io.tether.server.Admission admission = io.tether.server.Admission.DEFAULT;
        private Flapping flapping = Flapping.DEFAULT;
        private DeviceLimits deviceLimits = DeviceLimits.DEFAULT;
        private CommandLimits commandLimits = CommandLimits.DEFAULTS;
        private Transport transport = Transport.best();
        private InetSocketAddress adminAddress;
        private ApiKeys adminKeys;
        private boolean insecureAdmin;
        private int historySessions = 20;
        private InetSocketAddress apiAddress;
        private ApiKeys apiKeys;
        private boolean apiInsecureNoAuth;
        private ServerTls apiTls;
        private ApiRate apiRate = ApiRate.DEFAULT;
        private SessionRegistry registry;
        private MessageStore store;
        private Authenticator authenticator = NO_AUTH;
        private SslContext tls;
        private String tlsDescription;
        private MeterRegistry meters;
        private Clock clock = Clock.systemUTC();
        private final List<SessionListener> listeners = new ArrayList<>();
        private KafkaOptions kafka;

        private Builder() {
        }

        /** Listen on all interfaces at {@code port} (0 = any free port). Default 7400. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " (expected: 0 to 65535)");
            }
            this.bindAddress = new InetSocketAddress(port);
            return this;
        }

        /** Address and port to listen on. Default: all interfaces, port 7400. */
        public Builder bindAddress(InetSocketAddress address) {
            this.bindAddress = Objects.requireNonNull(address, "bindAddress");
            return this;
        }

        /** Time from accept to a complete HELLO. Default 10 s. */
        public Builder handshakeTimeout(Duration d) {
            this.handshakeTimeout = Checks.positive("handshake-timeout", d);
            return this;
        }

        /** All heartbeat settings at once. Default {@link Heartbeat#DEFAULT}. */
        public Builder heartbeats(Heartbeat h) {
            this.heartbeat = Objects.requireNonNull(h, "heartbeats");
            return this;
        }

        /** Default heartbeat interval; {@link Duration#ZERO} turns application heartbeats off. Default 30 s. */
        public Builder heartbeat(Duration d) {
            this.heartbeat = heartbeat.withInterval(d);
            return this;
        }

        /** Range a device's requested interval is clamped to. Default 1 s to 30 min. */
        public Builder heartbeatRange(Duration min, Duration max) {
            this.heartbeat = heartbeat.withRange(min, max);
            return this;
        }

        /** Tolerance: silence of interval x multiplier kills a session. Default 1.5. */
        public Builder heartbeatMultiplier(double m) {
            this.heartbeat = heartbeat.withMultiplier(m);
            return this;
        }

        /** Do not answer PINGs (less traffic); devices must detect a dead server on their own. */
        public Builder quiet(boolean quiet) {
            this.heartbeat = heartbeat.withQuiet(quiet);
            return this;
        }

        /** How long a graceful close keeps reading after half-closing. Default 2 s; 0 = RST at once. */
        public Builder drain(Duration d) {
            this.drain = Checks.nonNegative("drain", d);
            return this;
        }

        /**
         * TCP keepalive of device sockets, validated against the kernel's limits by
         * {@link KeepAlive#of}. Default {@link KeepAlive#DEFAULT} (60 s, 20 s, 3);
         * {@link KeepAlive#OFF} (or any count of 0) leaves SO_KEEPALIVE unset.
         *
         * @throws IllegalArgumentException naming the kernel's limit, if the kernel would refuse it
         */
        public Builder keepAlive(KeepAlive k) {
            Objects.requireNonNull(k, "keepalive");
            // Checked again: the record's constructor is public and does not know the kernel's
            // limits, and a value the kernel refuses would make Netty warn on every accepted
            // socket and run it without keepalive.
            this.keepAlive = k.enabled() ? KeepAlive.of(k.idle(), k.interval(), k.count()) : KeepAlive.OFF;
            return this;
        }

        /** TCP_USER_TIMEOUT; default idle + interval x count of the keepalive; {@link Duration#ZERO} = kernel default. */
        public Builder userTimeout(Duration d) {
            this.userTimeout = Checks.nonNegative("user-timeout", d);
            return this;
        }

        /** Listen backlog (SO_BACKLOG). Default 4096. */
        public Builder backlog(int backlog) {
            this.backlog = Checks.atLeast("backlog", backlog, 1);
            return this;
        }

        /** TCP_NODELAY on device sockets. Default on. */
        public Builder tcpNoDelay(boolean on) {
            this.tcpNoDelay = on;
            return this;
        }

        /** Frame and write-buffer limits at once. Default {@link Limits#DEFAULT}. */
        public Builder limits(Limits l) {
            this.limits = Objects.requireNonNull(l, "limits");
            return this;
        }

        /** Largest accepted frame length field, in bytes. Default {@link io.tether.protocol.Protocol#DEFAULT_MAX_FRAME_LENGTH}. */
        public Builder maxFrameLength(int bytes) {
            this.limits = limits.withMaxFrameLength(bytes);
            return this;
        }

        /** Bytes queued to one device beyond which it is closed as SLOW_CONSUMER. Default 256 KiB. */
        public Builder writeBufferLimit(int bytes) {
            this.limits = limits.withWriteBufferLimit(bytes);
            return this;
        }

        /**
         * Per-device rates and write-stall bound at once. Default {@link DeviceLimits#DEFAULT}
         * (1,000 messages/s, 1 MiB/s, 30 s); {@link DeviceLimits#OFF} turns them off.
         */
        /** Bounds of the command ledger ({@link CommandLimits#DEFAULTS}). */
        public Builder commandLimits(CommandLimits c) {
            this.commandLimits = Objects.requireNonNull(c, "commandLimits");
            return this;
        }

        public Builder deviceLimits(DeviceLimits d) {
            this.deviceLimits = Objects.requireNonNull(d, "deviceLimits");
            return this;
        }

        /**
         * Uplink DATA messages per second one session may send; beyond it the gateway stops
         * reading that device until it is within the rate again (nothing is lost). Default 1,000; 0 = no limit.
         */
        public Builder deviceMessageRate(int perSecond) {
            this.deviceLimits = deviceLimits.withMessageRate(perSecond);
            return this;
        }

        /** Uplink payload bytes per second one session may send, enforced as above. Default 1 MiB; 0 = no limit. */
        public Builder deviceByteRate(long perSecond) {
            this.deviceLimits = deviceLimits.withByteRate(perSecond);
            return this;
        }

        /**
         * A session whose outbound data has not moved for this long, with more queued, is closed
         * as SLOW_CONSUMER (a device that sends but never reads). Default 30 s; 0 = never.
         */
        public Builder writeStallTimeout(Duration d) {
            this.deviceLimits = deviceLimits.withWriteStallTimeout(d);
            return this;
        }

        /** I/O threads; 0 (default) = number of cores. */
        public Builder workerThreads(int n) {
            this.workerThreads = Checks.atLeast("workers", n, 0);
            return this;
        }

        /** Shutdown bound and reconnect spread at once. Default {@link Shutdown#DEFAULT}. */
        public Builder shutdown(Shutdown s) {
            this.shutdown = Objects.requireNonNull(s, "shutdown");
            return this;
        }

        /** Bound on a graceful shutdown. Default 10 s. */
        public Builder shutdownTimeout(Duration d) {
            this.shutdown = shutdown.withTimeout(d);
            return this;
        }

        /** Spread of the reconnect hint in BYE SERVER_SHUTDOWN. Default 30 s. */
        public Builder shutdownReconnectSpread(Duration d) {
            this.shutdown = shutdown.withReconnectSpread(d);
            return this;
        }

        /** Connection cap and connect rate at once. Default {@link io.tether.server.Admission#DEFAULT} (no cap, no rate limit). */
        public Builder admission(io.tether.server.Admission a) {
            this.admission = Objects.requireNonNull(a, "admission");
            return this;
        }

        /** Open connections beyond which new ones get BYE SERVER_BUSY; 0 (default) = no cap. */
        public Builder maxConnections(int n) {
            this.admission = admission.withMaxConnections(n);
            return this;
        }

        /**
         * File descriptors never given to device connections, kept for the store, the admin
         * endpoint and the JVM: connections are capped at the open-files limit minus this. Default
         * {@link io.tether.server.Admission#DEFAULT_DESCRIPTOR_RESERVE}.
         */
        public Builder descriptorReserve(int descriptors) {
            this.admission = admission.withDescriptorReserve(descriptors);
            return this;
        }

        /**
         * New connections per second allowed from one source address, with a burst. Default off:
         * mobile devices often share one address behind carrier-grade NAT.
         */
        public Builder connectRate(double perSecond, int burst) {
            this.admission = admission.withConnectRate(perSecond, burst);
            return this;
        }

        /**
         * Flapping detection. Default {@link Flapping#DEFAULT} (more than 15 connects in 1 min ban
         * the device for 5 min); {@link Flapping#OFF} turns it off.
         */
        public Builder flapping(Flapping f) {
            this.flapping = Objects.requireNonNull(f, "flapping");
            return this;
        }

        /**
         * Serve the read-only admin endpoint (JSON over HTTP: {@code /sessions}, {@code /sockets},
         * {@code /metrics}, {@code /health}, {@code /devices/{id}/history}) on {@code address}
         * while the server runs; port 0 picks a free port ({@link TetherServer#adminAddress()}).
         * It names devices and their addresses: a loopback address may go without keys (only this
         * host's users reach it); any other address needs {@link #adminKeys} or, knowingly,
         * {@link #insecureAdmin}. Default: none.
         */
        public Builder admin(InetSocketAddress address) {
            this.adminAddress = Objects.requireNonNull(address, "admin");
            return this;
        }

        /**
         * Keys the admin endpoint requires ({@code Authorization: Bearer tk_...}, 401 otherwise;
         * {@code /health} stays open for load balancers). The same file format and tool as
         * {@link #apiKeys} (the same file may serve both). Reload it with {@link ApiKeys#reload}.
         * Default: none.
         */
        public Builder adminKeys(ApiKeys keys) {
            this.adminKeys = Objects.requireNonNull(keys, "adminKeys");
            return this;
        }

        /**
         * Serve the admin endpoint without keys on an address other than loopback: anyone who
         * reaches it sees every device id and address. Refused together with {@link #adminKeys}.
         * Default off.
         */
        public Builder insecureAdmin(boolean on) {
            this.insecureAdmin = on;
            return this;
        }

        /**
         * Sessions kept in each device's history ({@link TetherServer#history}), in the store:
         * with the RocksDB store they survive restarts. Default 20; 0 turns the history off.
         *
         * @throws IllegalArgumentException if out of 0 to {@value SessionHistory#MAX_KEEP}
         */
        public Builder historySessions(int n) {
            if (n < 0 || n > SessionHistory.MAX_KEEP) {
                throw new IllegalArgumentException("history-sessions " + n + " (expected: 0 to " + SessionHistory.MAX_KEEP
                        + "; 0 = off)");
            }
            this.historySessions = n;
            return this;
        }

        /**
         * Serve the HTTP API (docs/API.md: commands to devices through {@link #commands()}, devices'
         * sessions) on {@code address} while the server runs; port 0 picks a free port
         * ({@link TetherServer#apiAddress()}). Requires {@link #apiKeys} or, for demos only,
         * {@link #apiInsecureNoAuth}. Default: none.
         */
        public Builder api(InetSocketAddress address) {
            this.apiAddress = Objects.requireNonNull(address, "api");
            return this;
        }

        /**
         * The keys applications must present to the HTTP API ({@code Authorization: Bearer tk_...}).
         * The server reads them as they are in force: call {@link ApiKeys#reload} to pick up a
         * changed file ({@code tether serve} does every 2 s and on SIGHUP).
         */
        public Builder apiKeys(ApiKeys keys) {
            this.apiKeys = Objects.requireNonNull(keys, "apiKeys");
            return this;
        }

        /**
         * Serve the HTTP API without keys: anyone who can reach it can command every device. For
         * local demos and tests only; refused together with {@link #apiKeys}. Default off.
         */
        public Builder apiInsecureNoAuth(boolean on) {
            this.apiInsecureNoAuth = on;
            return this;
        }

        /** TLS on the HTTP API's port; off by default. */
        public Builder apiTls(ServerTls tls) {
            this.apiTls = Objects.requireNonNull(tls, "apiTls");
            return this;
        }

        /** Requests per API key. Default {@link ApiRate#DEFAULT} (1,000 per second, bursts of 2,000); {@link ApiRate#OFF}. */
        public Builder apiRate(ApiRate rate) {
            this.apiRate = Objects.requireNonNull(rate, "apiRate");
            return this;
        }

        /**
         * Forward the application feed (device messages, session events, command changes) to
         * Kafka while the server runs, exactly once for read_committed consumers, and consume
         * commands from Kafka if {@link KafkaOptions.Topics#commands()} names a topic. Kafka being
         * down never stops the gateway: the feed's lag grows and is reported. Default: none.
         */
        public Builder kafka(KafkaOptions options) {
            this.kafka = Objects.requireNonNull(options, "kafka");
            return this;
        }

        public Builder transport(Transport t) {
            this.transport = Objects.requireNonNull(t, "transport");
            return this;
        }

        public Builder registry(SessionRegistry r) {
            this.registry = Objects.requireNonNull(r, "registry");
            return this;
        }

        /**
         * Who may open a session. Default: everyone, with a warning at start (fine for tests and
         * demos; {@code tether serve} requires credentials unless told {@code --insecure-no-auth}).
         */
        public Builder authenticator(Authenticator a) {
            this.authenticator = Objects.requireNonNull(a, "authenticator");
            return this;
        }

        /** TLS on the device port; off by default. */
        public Builder tls(ServerTls tls) {
            this.tls = Objects.requireNonNull(tls, "tls").context();
            this.tlsDescription = tls.description();
            return this;
        }

        public Builder store(MessageStore s) {
            this.store = Objects.requireNonNull(s, "store");
            return this;
        }

        /**
         * The registry the server's meters go to. Default: a new {@code PrometheusMeterRegistry},
         * so the admin endpoint's {@code /metrics} is the Prometheus text format. A
         * {@code PrometheusMeterRegistry}, or a {@code CompositeMeterRegistry} holding one, keeps
         * that (with the application's own meters in it); any other registry makes {@code /metrics}
         * answer the JSON of {@code /metrics.json}. The server binds no JVM or process meters: the
         * program that owns the JVM does ({@code tether serve} does).
         */
        public Builder meters(MeterRegistry m) {
            this.meters = Objects.requireNonNull(m, "meters");
            return this;
        }

        /** Wall clock for event timestamps only; deadlines use the event loop's ticker. */
        public Builder clock(Clock c) {
            this.clock = Objects.requireNonNull(c, "clock");
            return this;
        }

        public Builder listener(SessionListener l) {
            this.listeners.add(Objects.requireNonNull(l, "listener"));
            return this;
        }

        /** The validated configuration this builder would produce. */
        public ServerConfig config() {
            Duration ut = userTimeout != null ? userTimeout : keepAlive.detectionBound();
            int threads = workerThreads == 0 ? Runtime.getRuntime().availableProcessors() : workerThreads;
            return new ServerConfig(bindAddress, handshakeTimeout, drain, heartbeat, keepAlive, ut, backlog, tcpNoDelay,
                    threads, limits, shutdown, admission, flapping, deviceLimits, commandLimits, historySessions);
        }

        /**
         * @throws IllegalStateException if the HTTP API has neither keys nor the insecure choice,
         *                               or both, or API options were given without {@link #api};
         *                               if the admin endpoint is on an address other than loopback
         *                               without {@link #adminKeys} or {@link #insecureAdmin}, or
         *                               with both, or they were given without {@link #admin}
         */
        public TetherServer build() {
            ServerConfig c = config();
            if (apiAddress != null && (apiKeys == null) == !apiInsecureNoAuth) {
                throw new IllegalStateException(apiKeys == null
                        ? "api: no API keys: every application could command every device. Give apiKeys(...) "
                        + "(tether serve --api-keys FILE), or apiInsecureNoAuth(true) (--insecure-no-api-auth) for a local demo"
                        : "api: both API keys and apiInsecureNoAuth(true) (--api-keys and --insecure-no-api-auth): choose one");
            }
            if (apiAddress == null && (apiKeys != null || apiInsecureNoAuth || apiTls != null)) {
                throw new IllegalStateException("api keys, TLS or insecure mode given without an API address (--api ADDR:PORT)");
            }
            if (adminAddress == null && (adminKeys != null || insecureAdmin)) {
                throw new IllegalStateException("admin keys or insecure mode given without an admin address (--admin ADDR:PORT)");
            }
            if (adminKeys != null && insecureAdmin) {
                throw new IllegalStateException("admin: both admin keys and insecureAdmin(true) (--admin-keys and "
                        + "--insecure-admin): choose one");
            }
            if (adminAddress != null && adminKeys == null && !insecureAdmin && !adminAddress.getAddress().isLoopbackAddress()) {
                throw new IllegalStateException("admin: " + HostPort.format(adminAddress) + " is not a loopback address, and "
                        + "the admin endpoint names every device and its address. Give adminKeys(...) (tether serve "
                        + "--admin-keys FILE), bind it to 127.0.0.1, or pass insecureAdmin(true) (--insecure-admin) on a "
                        + "network only operators reach");
            }
            if (registry == null) {
                registry = new LocalSessionRegistry();
            }
            if (store == null) {
                store = new InMemoryMessageStore();
            }
            if (meters == null) {
                // Prometheus by default, so the admin endpoint's /metrics can be scraped as is.
                meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            }
            return new TetherServer(this, c);
        }
    }
}
