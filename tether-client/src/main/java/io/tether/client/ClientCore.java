package io.tether.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.tether.client.internal.Backoff;
import io.tether.client.internal.Liveness;
import io.tether.client.internal.Outbox;
import io.tether.client.internal.SerialExecutor;
import io.tether.client.internal.OutboxFile;
import io.tether.protocol.Frame;
import io.tether.protocol.auth.DeviceToken;
import io.tether.protocol.FrameDecoder;
import io.tether.protocol.FrameEncoder;
import io.tether.protocol.Protocol;
import io.tether.protocol.Reason;
import io.tether.transport.HostPort;
import io.tether.transport.Transport;
import io.tether.transport.tls.Tls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client's engine: connection attempts, reconnect with backoff, the outbox, the session.
 *
 * <p>Threading. The client is pinned to one event loop of its group; every channel it opens is
 * registered there, and all engine state (outbox, current connection, timers, backoff attempt) is
 * touched only on that thread, so there are no locks. Public entry points running on other threads
 * hand work over through {@link #incoming} (a lock-free queue drained by one task per batch) or
 * {@code execute()}; the only state shared across threads is the outbox slot count
 * ({@link #pending}, so a full outbox fails fast on the caller's thread), the closed flag, and the
 * volatile fields read by accessors. Work is never run inline from a public method, even on the
 * event loop: a user callback (a future's dependent, a listener) that calls {@code send()} or
 * {@code close()} therefore never re-enters the engine half-way through an update.
 *
 * <p>Outbox file. With {@link ClientConfig#outboxFile()} the outbox is journaled by an
 * {@link OutboxFile}, which has its own writer thread: {@code send()} queues the message's record
 * and waits on the caller's thread until it is written; the event loop only queues records
 * (numbering, ACKs) and writes a message on the wire once its number is durable, resuming when the
 * writer reports progress ({@link #onJournalDurable}). The event loop never waits for the disk.
 */
final class ClientCore {
    private static final Logger log = LoggerFactory.getLogger(TetherClient.class);

    /** DATA body: 8-byte seq + payload, after the 2-byte header. */
    private static final int DATA_OVERHEAD = Protocol.HEADER_SIZE + 8;
    static final int MAX_PAYLOAD_LENGTH = Protocol.DEFAULT_MAX_FRAME_LENGTH - DATA_OVERHEAD;
    /** RESULT body: 8-byte seq + 1-byte status + payload, after the 2-byte header. */
    private static final int RESULT_OVERHEAD = Protocol.HEADER_SIZE + 9;
    static final int MAX_RESULT_PAYLOAD_LENGTH = Protocol.DEFAULT_MAX_FRAME_LENGTH - RESULT_OVERHEAD;
    /** How long close() waits for a running command handler before closing the outbox file anyway. */
    private static final long COMMAND_STOP_WAIT_MILLIS = 5_000;

    final ClientConfig config;
    final Counters counters = new Counters();
    private final ClientListener listener;
    private final Transport transport;
    private final EventLoopGroup ownedGroup;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final Backoff backoff;
    private final Runnable pingCounter;

    // Shared with other threads.
    private final Queue<Outbox.Entry> incoming = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drainIncoming;
    /** Outbox slots taken: entries in {@link #incoming} plus entries in {@link #outbox}. */
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closing = new AtomicBoolean();
    /** Non-null once the client is closed: the exception pending and later sends fail with. */
    private volatile ClientClosedException closedBy;
    private volatile boolean connected;
    private volatile long sessionId;
    private final CompletableFuture<Void> connectFuture = new CompletableFuture<>();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();

    /** The outbox journal, or null for an outbox in memory only. */
    private final OutboxFile outboxFile;
    private final Runnable writeDurable = this::writeDurable;

    // Event loop only.
    private final Outbox outbox;
    private ConnectionHandler connection;
    private Future<?> reconnectTimer;
    private int attempt;
    private long lastSessionId;
    private long lastDownlinkSeq;
    private int maxPayload = MAX_PAYLOAD_LENGTH;
    private boolean writing;
    private boolean finished;
    private boolean tlsFailureLogged;

    // Commands (protocol version 2); all null/unused without a handler.
    private final CommandHandler commandHandler;
    /** One worker at most, so commands run in order; it exits when idle, so idle clients hold no thread. */
    /** Runs the handler: the client's own thread, or a {@link SerialExecutor} over the application's executor. */
    private final Executor commandExecutor;
    /** The handler runs on the event loop ({@link TetherClient.Builder#onCommandInline}). */
    private final boolean commandInline;
    private volatile boolean commandsStopping;
    /** The RESULT payload the current server takes (its WELCOME's maximum frame length). */
    private volatile int maxResultPayload = MAX_RESULT_PAYLOAD_LENGTH;
    // Event loop only.
    /** Highest command seq handed to the handler thread (queued, running or done). */
    private long lastAccepted;
    /** Highest command seq processed and recorded: what COMMAND_ACK says. */
    private long lastProcessed;
    /** Results the server has not acknowledged, by seq: resent after every WELCOME. */
    private final NavigableMap<Long, Frame.Result> pendingResults = new TreeMap<>();
    /** The server refused version 2 (BYE UNSUPPORTED_VERSION): speak version 1 from now on. */
    private boolean versionFallback;

    ClientCore(ClientConfig config) {
        this.config = config;
        this.listener = config.listener();
        this.commandHandler = config.commandHandler();
        // The file first: a locked or foreign file should fail build() before any thread starts.
        outboxFile = openOutboxFile(config);
        if (outboxFile != null) {
            outbox = new Outbox(outboxFile);
            int restored = outboxFile.restoreInto(outbox);
            pending.set(restored);
            if (restored > 0) {
                log.info("{}: {} unacknowledged messages reloaded from {}", config.deviceId(), restored,
                        outboxFile.path());
            }
            lastProcessed = outboxFile.lastProcessedCommand();
            lastAccepted = lastProcessed;
            for (OutboxFile.StoredResult r : outboxFile.unackedResults()) {
                pendingResults.put(r.seq(), new Frame.Result(r.seq(), r.status(), r.payload()));
            }
        } else {
            outbox = new Outbox();
        }
        EventLoopGroup group = config.eventLoopGroup();
        try {
            if (group != null) {
                transport = Transport.of(group);
                ownedGroup = null;
                loop = group.next();
            } else {
                transport = Transport.best();
                ownedGroup = new MultiThreadIoEventLoopGroup(1,
                        new DefaultThreadFactory("tether-client-" + config.deviceId()), transport.ioHandlerFactory());
                loop = ownedGroup.next();
            }
        } catch (RuntimeException | Error e) {
            if (outboxFile != null) {
                outboxFile.close();
            }
            throw e;
        }
        if (commandHandler != null && config.commandExecutor() == INLINE) {
            commandExecutor = null; // onCommand runs the handler itself
        } else if (commandHandler != null && config.commandExecutor() != null) {
            commandExecutor = new SerialExecutor(config.commandExecutor());
        } else if (commandHandler != null) {
            String name = "tether-commands-" + config.deviceId();
            ThreadPoolExecutor own = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
            own.allowCoreThreadTimeOut(true);
            commandExecutor = own;
        } else {
            commandExecutor = null;
        }
        commandInline = commandHandler != null && config.commandExecutor() == INLINE;
        if (outboxFile != null) {
            outboxFile.start("tether-outbox-" + config.deviceId(), this::onJournalDurable, this::onJournalFailed);
        }
        backoff = new Backoff(config.backoffBase().toMillis(), config.backoffCap().toMillis(), config.random());
        pingCounter = counters::pingSent;
        bootstrap = new Bootstrap()
                .group(loop)
                .channel(transport.channel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis());
        if (config.keepAlive().enabled()) {
            transport.applyKeepAlive(bootstrap, config.keepAlive());
        }
        if (config.localAddress() != null) {
            transport.bindWithoutPort(bootstrap);
        }
    }

    private static OutboxFile openOutboxFile(ClientConfig config) {
        if (config.outboxFile() == null) {
            return null;
        }
        try {
            return OutboxFile.open(config.outboxFile(), config.deviceId(), config.outboxSync(),
                    OutboxFile.DEFAULT_COMPACT_BYTES, config.commandHandler() != null);
        } catch (IOException e) {
            throw new UncheckedIOException("outboxFile " + config.outboxFile() + " cannot be opened: " + e, e);
        }
    }

    // ---------------------------------------------------------------- public entry points, any thread

    CompletableFuture<Void> connect() {
        if (started.compareAndSet(false, true) && closedBy == null) {
            try {
                loop.execute(this::doConnect);
            } catch (RejectedExecutionException e) {
                connectFuture.completeExceptionally(
                        new ClientClosedException("the client's ClientGroup was closed", e));
            }
        }
        return connectFuture;
    }

    CompletableFuture<Long> send(byte[] payload) {
        Objects.requireNonNull(payload, "payload");
        if (payload.length > MAX_PAYLOAD_LENGTH) {
            throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: <= "
                    + MAX_PAYLOAD_LENGTH + ")");
        }
        ClientClosedException closed = closedBy;
        if (closed != null) {
            return CompletableFuture.failedFuture(closed);
        }
        int capacity = config.outboxCapacity();
        for (;;) {
            int p = pending.get();
            if (p >= capacity) {
                throw new OutboxFullException(capacity, p);
            }
            if (pending.compareAndSet(p, p + 1)) {
                break;
            }
        }
        Outbox.Entry e = new Outbox.Entry(payload, new CompletableFuture<>());
        long ticket = 0;
        if (outboxFile != null) {
            // Queued before the entry becomes visible to the event loop, so that its MSG record
            // always precedes the SEQ record the event loop writes when it numbers it.
            ticket = outboxFile.append(e);
            if (ticket < 0) {
                pending.decrementAndGet();
                closed = closedBy;
                return CompletableFuture.failedFuture(closed != null ? closed
                        : new ClientClosedException("the outbox file is closed; the message was not stored"));
            }
        }
        incoming.offer(e);
        closed = closedBy;
        if (closed != null) {
            // close() ran after our first check; its drain may have missed this entry.
            failIncoming(closed);
        } else {
            scheduleDrain();
        }
        if (outboxFile != null) {
            // The documented cost of the outbox file: the caller waits for the append (and force).
            // If the write fails, the client closes itself and the future fails with the cause.
            outboxFile.awaitWritten(ticket);
        }
        return e.future();
    }

    void close() {
        closeWith(new ClientClosedException("client closed"));
    }

    private void closeWith(ClientClosedException cause) {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        closedBy = cause;
        try {
            loop.execute(this::doClose);
        } catch (RejectedExecutionException e) {
            // The event loop is gone (a shared group shut down by its owner): nothing runs there any
            // more, so the engine state can be settled from this thread.
            outbox.drainAll(this::failClosed);
            failIncoming(closedBy);
            connectFuture.completeExceptionally(closedBy);
            finished = true;
            stopCommands().thenCompose(v -> closeOutboxFile()).whenComplete((v, t) -> closeFuture.complete(null));
        }
    }

    boolean isConnected() {
        return connected;
    }

    long sessionId() {
        return sessionId;
    }

    int pendingCount() {
        return pending.get();
    }

    ClientStats stats() {
        return counters.snapshot();
    }

    CompletableFuture<Void> closeFuture() {
        return closeFuture;
    }

    /** For tests: the outbox journal, or null. */
    OutboxFile outboxFile() {
        return outboxFile;
    }

    /** For tests: the current connection's channel, or null. Blocks until the event loop answers. */
    Channel currentChannel() {
        return loop.submit(() -> connection == null ? null : connection.channel()).syncUninterruptibly().getNow();
    }

    // ---------------------------------------------------------------- outbox, event loop

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(drainTask);
            } catch (RejectedExecutionException ex) {
                drainScheduled.set(false);
                failIncoming(new ClientClosedException("the client's ClientGroup was closed", ex));
            }
        }
    }

    /** Moves what send() queued into the outbox, in arrival order, and writes it if connected. */
    private void drainIncoming() {
        drainScheduled.set(false);
        ClientClosedException closed = closedBy;
        ConnectionHandler conn = connection;
        boolean live = conn != null && conn.isWelcomed();
        Outbox.Entry e;
        while ((e = incoming.poll()) != null) {
            if (closed != null) {
                fail(e, closed);
            } else if (!live) {
                outbox.addUnsequenced(e);
            } else if (e.payload().length > maxPayload) {
                outbox.reject(e);
                fail(e, tooLarge(e));
            } else {
                outbox.addSequenced(e);
            }
        }
        if (live) {
            writePending(conn);
        }
    }

    /**
     * Writes numbered messages while the channel is writable, flushing once per batch. When the
     * channel's outbound buffer passes its high-water mark the rest waits in the outbox for
     * {@code channelWritabilityChanged}, so a backlog never piles up in Netty's buffer.
     */
    void writePending(ConnectionHandler conn) {
        if (writing || conn != connection || !conn.isWelcomed()) {
            return;
        }
        // A flush can make the channel writable again synchronously and re-enter from
        // channelWritabilityChanged; the guard turns that into another turn of this loop.
        writing = true;
        try {
            for (;;) {
                boolean wrote = false;
                Outbox.Entry e;
                while (conn.isWritable() && (e = outbox.pollToWrite()) != null) {
                    if (e.written()) {
                        counters.messagesResent++;
                    }
                    Outbox.markWritten(e);
                    counters.messagesSent++;
                    conn.write(new Frame.Data(e.seq(), e.payload()));
                    wrote = true;
                }
                if (!wrote) {
                    break;
                }
                conn.flush();
            }
        } finally {
            writing = false;
        }
    }

    /** Writer thread: numbers became durable, so messages held back may go on the wire now. */
    private void onJournalDurable() {
        try {
            loop.execute(writeDurable);
        } catch (RejectedExecutionException ignored) {
            // The client is gone; nothing waits to be written.
        }
    }

    private void writeDurable() {
        ConnectionHandler conn = connection;
        if (conn != null) {
            writePending(conn);
        }
    }

    /** Writer thread: the file can no longer promise durability, so the client stops. */
    private void onJournalFailed(IOException e) {
        closeWith(new ClientClosedException("outbox file " + outboxFile.path() + " could not be written (" + e
                + "); the client stopped; messages already in the file stay there for the next start", e));
    }

    private CompletableFuture<Void> closeOutboxFile() {
        return outboxFile == null ? CompletableFuture.completedFuture(null) : outboxFile.close();
    }

    private void acked(Outbox.Entry e) {
        pending.decrementAndGet();
        counters.messagesAcked++;
        e.future().complete(e.seq());
    }

    private void fail(Outbox.Entry e, Throwable cause) {
        pending.decrementAndGet();
        e.future().completeExceptionally(cause);
    }

    private void failClosed(Outbox.Entry e) {
        fail(e, closedBy);
    }

    /** Any thread: fails everything still queued by send(). */
    private void failIncoming(ClientClosedException cause) {
        Outbox.Entry e;
        while ((e = incoming.poll()) != null) {
            fail(e, cause);
        }
    }

    private IllegalArgumentException tooLarge(Outbox.Entry e) {
        return new IllegalArgumentException("payload: " + e.payload().length + " bytes (expected: <= "
                + maxPayload + ", the server's maximum frame length less the DATA header)");
    }

    // ---------------------------------------------------------------- connection lifecycle, event loop

    private void doConnect() {
        reconnectTimer = null;
        if (closedBy != null) {
            return;
        }
        long deadline = loop.ticker().nanoTime() + config.connectTimeout().toNanos();
        Liveness liveness = new Liveness(pingCounter);
        int version = commandHandler != null && !versionFallback ? Protocol.VERSION_COMMANDS : Protocol.VERSION;
        ConnectionHandler conn = new ConnectionHandler(this, liveness, deadline, version);
        connection = conn;
        bootstrap.handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (config.tls() != null) {
                    // First: everything after it reads and writes plaintext frames. HELLO, written
                    // on channelActive, waits in the handler until the TLS handshake is done.
                    ch.pipeline().addLast("tls", Tls.clientHandler(config.tls(), ch, config.target()));
                }
                ch.pipeline().addLast(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_LENGTH),
                        FrameEncoder.forVersion(version), liveness, conn);
            }
        });
        ChannelFuture f = config.localAddress() == null
                ? bootstrap.connect(config.target())
                : bootstrap.connect(config.target(), new InetSocketAddress(config.localAddress(), 0));
        conn.channel(f.channel());
        f.addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                onConnectFailed(conn, cf.cause());
            }
        });
    }

    Frame.Hello hello(int version) {
        // A token is single-use (the server remembers its nonce), so every HELLO gets a new one.
        // Its expiry is wall-clock time by nature; it only has to outlive the handshake.
        byte[] credential = config.deviceKey() == null ? config.credential()
                : DeviceToken.create(config.deviceKey(), config.deviceId(), System.currentTimeMillis() + TOKEN_LIFETIME_MILLIS);
        return new Frame.Hello(version, (int) config.heartbeat().toMillis(), lastSessionId, config.deviceId(),
                credential);
    }

    /** How long a HELLO token is valid; servers refuse tokens valid much longer (replay memory). */
    static final long TOKEN_LIFETIME_MILLIS = 120_000;

    void onWelcome(ConnectionHandler conn, Frame.Welcome w) {
        if (conn != connection || closedBy != null) {
            return;
        }
        attempt = 0;
        tlsFailureLogged = false;
        lastSessionId = w.sessionId();
        sessionId = w.sessionId();
        connected = true;
        counters.connects++;
        if (!w.resumed()) {
            // A new session may number downlink messages afresh; dropping them as duplicates of the
            // old session's would lose them. Redelivery is the lesser harm.
            lastDownlinkSeq = 0;
        }
        maxPayload = Math.min(MAX_PAYLOAD_LENGTH, w.maxFrameLength() - DATA_OVERHEAD);
        maxResultPayload = Math.min(MAX_RESULT_PAYLOAD_LENGTH, w.maxFrameLength() - RESULT_OVERHEAD);

        Duration ut = config.userTimeout();
        long userTimeoutMillis = ut == null ? w.timeoutMillis() : ut.toMillis();
        if (userTimeoutMillis > 0) {
            transport.setUserTimeout(conn.channel(), Duration.ofMillis(userTimeoutMillis));
        }
        long pingNanos = w.heartbeatMillis() == 0 ? 0
                : Math.max(1, Math.round(w.heartbeatMillis() * 1_000_000.0 * config.pingIntervalFactor()));
        // In quiet mode the server never answers a PING, so silence proves nothing: TCP_USER_TIMEOUT
        // and keepalive watch the link instead. Without heartbeats the same holds.
        long silenceMillis = w.quiet() || w.heartbeatMillis() == 0 ? 0 : w.timeoutMillis();
        conn.startLiveness(pingNanos, silenceMillis);

        if (outbox.sequencedCount() > 0 && w.lastSeq() >= outbox.nextSeq()) {
            log.warn("{}: server's last_seq {} is beyond the highest sequence number this client assigned ({});"
                    + " is another client using the same device id?", config.deviceId(), w.lastSeq(),
                    outbox.nextSeq() - 1);
        }
        outbox.onWelcome(w.lastSeq(), maxPayload, this::acked, e -> fail(e, tooLarge(e)));
        writePending(conn);
        resendResults(conn);
        drainIncoming();
        log.debug("{}: session {} established (heartbeat {} ms, timeout {} ms, last_seq {}, quiet {}, resumed {})",
                config.deviceId(), w.sessionId(), w.heartbeatMillis(), w.timeoutMillis(), w.lastSeq(), w.quiet(),
                w.resumed());
        try {
            listener.onConnected(new SessionInfo(w.sessionId(), w.resumed(), Duration.ofMillis(w.heartbeatMillis()),
                    Duration.ofMillis(w.timeoutMillis()), w.quiet(), w.lastSeq(), maxPayload));
        } catch (RuntimeException e) {
            log.warn("{}: listener.onConnected threw", config.deviceId(), e);
        }
        connectFuture.complete(null);
    }

    void onAck(long seq) {
        outbox.ackUpTo(seq, this::acked);
    }

    /** Delivers a downlink message unless it is a redelivery; returns the sequence number to ACK. */
    long onDownlink(Frame.Data d) {
        if (d.seq() > lastDownlinkSeq) {
            lastDownlinkSeq = d.seq();
            counters.messagesReceived++;
            try {
                listener.onMessage(d.seq(), d.payload());
            } catch (RuntimeException e) {
                log.warn("{}: listener.onMessage threw for seq {}; the message is acknowledged anyway",
                        config.deviceId(), d.seq(), e);
            }
        }
        return lastDownlinkSeq;
    }

    void onBye(ConnectionHandler conn, Frame.Bye bye) {
        if (bye.reason() == Reason.UNSUPPORTED_VERSION && conn.version() >= Protocol.VERSION_COMMANDS
                && conn == connection && !versionFallback) {
            versionFallback = true;
            log.warn("{}: {} does not speak protocol version 2 (BYE UNSUPPORTED_VERSION): continuing with version 1,"
                    + " without commands, until the client is closed; upgrade the gateway to receive commands",
                    config.deviceId(), HostPort.format(config.target()));
        }
        log.debug("{}: BYE {} (reconnect after {} ms) {}", config.deviceId(), bye.reason(),
                bye.reconnectAfterMillis(), bye.text());
        try {
            listener.onBye(new Goodbye(bye.reason(), Duration.ofMillis(bye.reconnectAfterMillis()), bye.text()));
        } catch (RuntimeException e) {
            log.warn("{}: listener.onBye threw", config.deviceId(), e);
        }
    }

    // ---------------------------------------------------------------- commands, event loop unless noted

    /**
     * A COMMAND arrived: hands a new one to the handler thread; a duplicate (seq already handed
     * over) is not processed again, and is acknowledged again if already processed (else its
     * acknowledgement follows when the handler is done).
     *
     * @return the COMMAND_ACK to write now, or null
     */
    /** Marks {@link TetherClient.Builder#onCommandInline}: never runs a task. */
    static final Executor INLINE = task -> {
        throw new UnsupportedOperationException("runs nothing: a marker for onCommandInline");
    };

    Frame.CommandAck onCommand(Frame.Command c) {
        counters.commandsReceived++;
        if (c.seq() <= lastAccepted) {
            counters.commandsDuplicate++;
            return c.seq() <= lastProcessed ? new Frame.CommandAck(lastProcessed) : null;
        }
        lastAccepted = c.seq();
        DeviceCommand command = new DeviceCommand(c.seq(), c.payload());
        if (commandInline) {
            Optional<Frame.Result> result = run(command);
            if (result != null) {
                // Written now, flushed with the rest of this read (channelReadComplete).
                commandDone(command.seq(), result.orElse(null), false);
            }
            return null;
        }
        try {
            commandExecutor.execute(() -> process(command));
        } catch (RejectedExecutionException e) {
            // The client is closing: nothing is acknowledged, the server resends it to the next session.
        }
        return null;
    }

    /** Command thread: runs the handler, records the outcome durably, then acknowledges on the event loop. */
    private void process(DeviceCommand command) {
        Optional<Frame.Result> result = run(command);
        if (result == null) {
            return;
        }
        Frame.Result frame = result.orElse(null);
        try {
            loop.execute(() -> commandDone(command.seq(), frame, true));
        } catch (RejectedExecutionException ignored) {
            // The client is gone; with a file, the next one knows the command was processed.
        }
    }

    /**
     * Runs the handler and records the outcome (durably, with an outbox file): the RESULT to send,
     * empty for none, or null if the command must not be acknowledged (closing, or not recorded).
     */
    private Optional<Frame.Result> run(DeviceCommand command) {
        if (commandsStopping) {
            return null;
        }
        CommandResult result;
        try {
            result = commandHandler.handle(command);
            if (result == null) {
                result = CommandResult.none();
            }
        } catch (Throwable t) {
            log.debug("{}: command {} failed in the handler", config.deviceId(), command.seq(), t);
            String message = t.getMessage() != null ? t.getMessage() : t.getClass().getName();
            result = CommandResult.failed(utf8Prefix(message, maxResultPayload));
        }
        int limit = maxResultPayload;
        if (result.status() != CommandResult.Status.NONE && result.payload().length > limit) {
            log.warn("{}: the result of command {} has {} bytes, more than the server takes ({}); sending FAILED",
                    config.deviceId(), command.seq(), result.payload().length, limit);
            result = CommandResult.failed(utf8Prefix("result payload of " + result.payload().length
                    + " bytes is larger than the server's limit of " + limit + " bytes", limit));
        }
        int status = switch (result.status()) {
            case SUCCEEDED -> Frame.Result.SUCCEEDED;
            case FAILED -> Frame.Result.FAILED;
            case NONE -> -1;
        };
        byte[] payload = result.payload();
        if (outboxFile != null) {
            // Durable before the COMMAND_ACK: once the server may hold the ACK, a restart must know.
            long ticket = outboxFile.processed(command.seq(), status, payload);
            if (ticket < 0 || !outboxFile.awaitWritten(ticket)) {
                return null; // closing or failed: unacknowledged, so the server sends it again
            }
        }
        return status < 0 ? Optional.empty() : Optional.of(new Frame.Result(command.seq(), status, payload));
    }

    /** Event loop: the command is processed; acknowledges it and sends its result (flushed now, or with the read). */
    private void commandDone(long seq, Frame.Result result, boolean flush) {
        lastProcessed = Math.max(lastProcessed, seq);
        counters.commandsProcessed++;
        if (result != null) {
            pendingResults.put(seq, result);
        }
        ConnectionHandler conn = connection;
        if (conn != null && conn.isWelcomed() && conn.version() >= Protocol.VERSION_COMMANDS) {
            conn.write(new Frame.CommandAck(lastProcessed));
            if (result != null) {
                conn.write(result);
                counters.resultsSent++;
            }
            if (flush) {
                conn.flush();
            } else {
                conn.flushLater();
            }
        }
        // Not connected: the server resends the command to the next session, which acknowledges it
        // as a duplicate; the result goes out after that session's WELCOME.
    }

    private void resendResults(ConnectionHandler conn) {
        if (pendingResults.isEmpty() || conn.version() < Protocol.VERSION_COMMANDS) {
            return;
        }
        for (Frame.Result r : pendingResults.values()) {
            conn.write(r);
            counters.resultsSent++;
        }
        conn.flush();
    }

    void onResultAck(long seq) {
        if (pendingResults.remove(seq) != null) {
            counters.resultsAcked++;
            if (outboxFile != null) {
                outboxFile.resultAcked(seq);
            }
        }
    }

    /** The longest prefix of {@code s} in UTF-8 that fits {@code max} bytes, cut between characters. */
    static byte[] utf8Prefix(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) {
            return b;
        }
        int end = max;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--; // b[end] continues a character that starts before it
        }
        return Arrays.copyOf(b, end);
    }

    /**
     * Stops taking commands: queued ones are dropped (unacknowledged, so the server resends them);
     * completes once a running handler returned, or after {@link #COMMAND_STOP_WAIT_MILLIS}.
     */
    private CompletableFuture<Void> stopCommands() {
        commandsStopping = true;
        if (commandExecutor == null) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> idle = new CompletableFuture<>();
        try {
            commandExecutor.execute(() -> idle.complete(null));
        } catch (RejectedExecutionException e) {
            idle.complete(null);
        }
        if (commandExecutor instanceof SerialExecutor serial) {
            serial.shutdown();
        } else {
            ((ThreadPoolExecutor) commandExecutor).shutdown();
        }
        return idle.completeOnTimeout(null, COMMAND_STOP_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** A TLS handshake failed: a configuration fault, so say it once, not at every reconnect. */
    void logTlsFailure(Throwable why) {
        if (!tlsFailureLogged) {
            tlsFailureLogged = true;
            log.warn("{}: {}{}", config.deviceId(), why.getMessage(), config.reconnect()
                    ? " (retrying with backoff; further TLS failures are logged at DEBUG until a session is established)"
                    : "");
        } else {
            log.debug("{}: {}", config.deviceId(), why.getMessage());
        }
    }

    void logProtocolError(Reason reason, Throwable why) {
        log.warn("{}: closing on {}: {}", config.deviceId(), reason, why.getMessage());
    }

    void onConnectionClosed(ConnectionHandler conn, Reason reason, Throwable cause, int hintMillis) {
        if (conn != connection) {
            return;
        }
        connection = null;
        connected = false;
        sessionId = 0;
        outbox.rewind();
        counters.disconnected(reason);
        log.debug("{}: disconnected: {}", config.deviceId(), reason, cause);
        try {
            listener.onDisconnected(reason, cause);
        } catch (RuntimeException e) {
            log.warn("{}: listener.onDisconnected threw", config.deviceId(), e);
        }
        if (reason == Reason.AUTH_FAILED && closedBy == null) {
            authenticationFailed();
            return;
        }
        afterLoss(cause, hintMillis);
    }

    /**
     * The server refused the credential. Every retry would present the same credential and be
     * refused the same way, a reconnect loop nobody sees; so the client says why, once, and stops.
     */
    private void authenticationFailed() {
        String message = HostPort.format(config.target()) + " refused device '" + config.deviceId()
                + "' (BYE AUTH_FAILED). This client presents " + config.credentialSource()
                + ". The client stopped; build a new one once the credential is fixed.";
        AuthenticationFailedException failure = new AuthenticationFailedException(config.deviceId(), message);
        log.warn("{}: {}", config.deviceId(), message);
        try {
            listener.onAuthenticationFailed(failure);
        } catch (RuntimeException e) {
            log.warn("{}: listener.onAuthenticationFailed threw", config.deviceId(), e);
        }
        ClientClosedException closed = new ClientClosedException("authentication failed: " + message, failure);
        closing.set(true);
        closedBy = closed;
        outbox.drainAll(e -> fail(e, closed));
        failIncoming(closed);
        connectFuture.completeExceptionally(failure);
        finish();
    }

    private void onConnectFailed(ConnectionHandler conn, Throwable cause) {
        if (conn != connection) {
            return;
        }
        connection = null;
        if (closedBy == null) {
            counters.connectFailures++;
            log.debug("{}: connect to {} failed", config.deviceId(), HostPort.format(config.target()), cause);
        }
        afterLoss(cause, 0);
    }

    private void afterLoss(Throwable cause, int hintMillis) {
        if (closedBy != null) {
            finish();
            return;
        }
        if (!config.reconnect()) {
            shutDown(new ClientClosedException("connection lost and reconnect is disabled", cause));
            return;
        }
        int a = attempt;
        if (attempt < Integer.MAX_VALUE) {
            attempt++;
        }
        long delay = backoff.delayMillis(a, hintMillis);
        try {
            listener.onReconnectScheduled(a + 1, Duration.ofMillis(delay));
        } catch (RuntimeException e) {
            log.warn("{}: listener.onReconnectScheduled threw", config.deviceId(), e);
        }
        reconnectTimer = loop.schedule(this::reconnect, delay, TimeUnit.MILLISECONDS);
    }

    private void reconnect() {
        if (closedBy == null) {
            counters.reconnectAttempts++;
            doConnect();
        }
    }

    private void doClose() {
        if (reconnectTimer != null) {
            reconnectTimer.cancel(false);
            reconnectTimer = null;
        }
        ClientClosedException closed = closedBy;
        outbox.drainAll(this::failClosed);
        failIncoming(closed);
        connectFuture.completeExceptionally(closed);
        ConnectionHandler conn = connection;
        if (conn != null) {
            // finish() follows from channelInactive, or from the failed connect of a channel still connecting.
            conn.closeByClient();
        } else {
            finish();
        }
    }

    /** Reconnect disabled and the connection is gone: the client closes itself. */
    private void shutDown(ClientClosedException cause) {
        closing.set(true);
        closedBy = cause;
        outbox.drainAll(e -> fail(e, cause));
        failIncoming(cause);
        connectFuture.completeExceptionally(cause);
        finish();
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        connected = false;
        sessionId = 0;
        log.debug("{}: closed", config.deviceId());
        // The file closes after the connection: ACKs that arrived until then are recorded. Its
        // writer finishes what is queued off the event loop; the lock is released before closeFuture.
        CompletableFuture<Void> fileClosed = stopCommands().thenCompose(v -> closeOutboxFile());
        if (ownedGroup != null) {
            ownedGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS)
                    .addListener(f -> fileClosed.whenComplete((v, t) -> closeFuture.complete(null)));
        } else {
            fileClosed.whenComplete((v, t) -> closeFuture.complete(null));
        }
    }
}
