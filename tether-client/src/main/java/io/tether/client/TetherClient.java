package io.tether.client;

import io.netty.channel.Channel;
import io.netty.util.NetUtil;
import io.tether.protocol.Protocol;
import io.tether.protocol.auth.DeviceToken;
import io.tether.transport.HostPort;
import io.tether.transport.KeepAlive;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongUnaryOperator;
import java.util.random.RandomGenerator;

/**
 * A device's connection to a Tether gateway: one session, kept alive and re-established until
 * {@link #close()}, with an outbox that delivers every message exactly once to the server's store.
 *
 * <pre>{@code
 * TetherClient client = TetherClient.builder()
 *         .target("gateway.example", 7400)           // the gateway's default port
 *         .deviceId("truck-42")
 *         .secret(System.getenv("TRUCK42_SECRET"))   // its entry: tether credentials add --device truck-42 ...
 *         .build();
 * client.connect().get(30, TimeUnit.SECONDS);        // first session; reconnects on its own after that
 * client.send(reading).thenAccept(seq -> ...);       // completes when the server has stored it
 * ...
 * client.close();
 * }</pre>
 *
 * <h2>Credentials</h2>
 * A gateway started with {@code --credentials FILE} admits a device only with a token made from
 * the secret its entry was made from. One call gives the client its credential:
 * <ul>
 *   <li>{@link Builder#secret secret("...")} for a device entry
 *       ({@code tether credentials add --device truck-42 --secret ...});</li>
 *   <li>{@link Builder#groupSecret groupSecret("sim-", "...")} for a group entry, which covers
 *       every id starting with the prefix ({@code tether credentials add --group sim- --secret ...});</li>
 *   <li>{@link Builder#deviceKey deviceKey(key)} if the device stores the derived 32-byte key
 *       rather than the secret.</li>
 * </ul>
 * If the server refuses the credential (BYE AUTH_FAILED), the client does not retry: it logs one
 * warning saying which credential it presented and what to check, calls
 * {@link ClientListener#onAuthenticationFailed}, fails {@link #connect()}'s future with
 * {@link AuthenticationFailedException} and stops.
 *
 * <h2>Delivery</h2>
 * Every message gets a sequence number (from 1, per device) and stays in the outbox until the
 * server acknowledges it, by an ACK or by the {@code last_seq} of a later WELCOME; after a
 * reconnect everything unacknowledged is resent in order, and the server drops what it already
 * stored. A message sent while no session is up is numbered only when the next session starts,
 * after the server has said which number it stored last. By default the outbox lives in memory: a
 * process that dies loses what was not yet acknowledged (the futures tell the application which).
 * With {@link Builder#outboxFile} it lives in a file as well, and the next client built on the file
 * resends it.
 *
 * <h2>Commands</h2>
 * With {@link Builder#onCommand onCommand(handler)} the client speaks protocol version 2 and takes
 * the commands the gateway queued for its device id: the handler runs on a thread of its own, each
 * command once (across reconnects, and with an outbox file across restarts), in order; the client
 * acknowledges each and sends its result until the gateway has stored it. Without a handler the
 * client speaks version 1 and the gateway keeps the device's commands queued.
 *
 * <h2>Dead-server detection</h2>
 * After the handshake the client writes a PING whenever it wrote nothing for the heartbeat
 * interval granted in WELCOME ({@code heartbeat_ms}, times {@link Builder#pingIntervalFactor}).
 * How soon a server or path that vanished without a FIN or RST is noticed:
 * <ul>
 *   <li><b>Normal mode</b> (the server answers PINGs): {@code timeout_ms} after the last frame of
 *       any kind received; the connection is then aborted with {@code HEARTBEAT_TIMEOUT}.</li>
 *   <li><b>Quiet mode</b> (WELCOME's quiet flag: the server does not answer PINGs, so silence
 *       proves nothing): at most {@code heartbeat_ms} (the next PING) plus the user timeout (the
 *       kernel fails a socket whose sent data stays unacknowledged that long, ETIMEDOUT, reported as
 *       {@code KEEPALIVE_TIMEOUT}), plus up to one retransmission interval of the kernel's timer.
 *       The user timeout is {@link Builder#userTimeout}, by default {@code timeout_ms}. Requires the
 *       epoll transport; on NIO only TCP keepalive remains.</li>
 *   <li><b>Heartbeats off</b> ({@code heartbeat_ms} 0): TCP keepalive only, {@code idle + interval ×
 *       count} (default 60 + 20 × 3 s) on an idle connection; while sent data is unacknowledged the
 *       user timeout bounds it instead (keepalive does not probe then).</li>
 * </ul>
 * Before the handshake, {@link Builder#connectTimeout} bounds TCP connect plus the wait for WELCOME.
 *
 * <h2>Reconnect</h2>
 * After any loss the client waits a delay drawn uniformly from {@code [0, min(cap, base × 2^n))},
 * n counting the failed attempts since the last WELCOME (full jitter), but at least the server's
 * BYE {@code reconnect_after_ms} hint plus a jitter below {@code base}.
 *
 * <h2>Threading</h2>
 * All methods are thread-safe. The client runs on one thread of its event loop group; futures are
 * completed and {@link ClientListener} methods called on that thread, so dependent stages and
 * listeners must not block (use the {@code *Async} stages to run elsewhere). Thousands of clients
 * can share the threads of one {@link ClientGroup} ({@link Builder#group}); each then costs a few
 * kilobytes plus its outbox and socket.
 */
public final class TetherClient implements AutoCloseable {

    /** Largest payload {@link #send} accepts, in bytes; the server may announce a smaller limit. */
    public static final int MAX_PAYLOAD_LENGTH = ClientCore.MAX_PAYLOAD_LENGTH;

    private final ClientCore core;

    private TetherClient(ClientConfig config) {
        this.core = new ClientCore(config);
    }

    /** A builder with the defaults listed on its setters. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts connecting, in the background, and keeps reconnecting after every loss until
     * {@link #close()}. Calling it again has no further effect.
     *
     * @return completes on the first WELCOME; fails with {@link AuthenticationFailedException} if
     *         the server refuses the credential (the client then stops), or with
     *         {@link ClientClosedException} if the client is closed first (or the connection is lost
     *         with reconnecting disabled). Completing or cancelling it does not affect the client.
     */
    public CompletableFuture<Void> connect() {
        return core.connect().copy();
    }

    /**
     * Queues a message for the server. It is written at once if a session is up, otherwise when the
     * next one starts. Thread-safe; messages sent from one thread keep their order. With an
     * {@link Builder#outboxFile outbox file} this method blocks until the message is appended to
     * the file (and forced, with {@link Builder#outboxSync}); do not call it from a callback then.
     *
     * @param payload the message, up to {@link #MAX_PAYLOAD_LENGTH} bytes; not copied, so it must not
     *                be modified afterwards
     * @return completes with the message's sequence number once the server has acknowledged storing
     *         it; fails with {@link ClientClosedException} if the client is or gets closed first, or
     *         with {@link IllegalArgumentException} if the payload exceeds the server's announced
     *         maximum. Completing or cancelling it does not withdraw the message.
     * @throws OutboxFullException      if {@link Builder#outboxCapacity} messages are already
     *                                  unacknowledged; nothing was queued
     * @throws IllegalArgumentException if the payload is longer than {@link #MAX_PAYLOAD_LENGTH}
     * @throws NullPointerException     if the payload is null
     */
    public CompletableFuture<Long> send(byte[] payload) {
        return core.send(payload);
    }

    /** Whether a session is established (WELCOME received, connection not yet lost). */
    public boolean isConnected() {
        return core.isConnected();
    }

    /** The current session id from WELCOME; 0 when not connected. */
    public long sessionId() {
        return core.sessionId();
    }

    /** Messages sent and not yet acknowledged or failed, whether numbered or not. */
    public int pendingCount() {
        return core.pendingCount();
    }

    /** A snapshot of this client's counters. */
    public ClientStats stats() {
        return core.stats();
    }

    /** The device id this client presents. */
    public String deviceId() {
        return core.config.deviceId();
    }

    /**
     * Says goodbye and stops: writes BYE NORMAL if connected, closes the connection, cancels any
     * pending reconnect, and fails every unacknowledged send with {@link ClientClosedException}. A
     * client-owned event loop group is shut down; a caller-supplied one is not. With an
     * {@link Builder#outboxFile outbox file}, the unacknowledged messages stay in the file (their
     * futures fail all the same) for the next client built on it, and the file is closed and
     * unlocked. Returns at once; {@link #closeFuture()} tells when it is done. Idempotent and
     * thread-safe.
     */
    @Override
    public void close() {
        core.close();
    }

    /**
     * Completes once the client is closed and its owned resources (socket, own group, outbox file
     * and its lock) are released.
     */
    public CompletableFuture<Void> closeFuture() {
        return core.closeFuture().copy();
    }

    /** For tests in this package: the outbox journal, or null. */
    io.tether.client.internal.OutboxFile outboxFile() {
        return core.outboxFile();
    }

    /** For tests in this package: the current connection's channel, or null. */
    Channel currentChannel() {
        return core.currentChannel();
    }

    @Override
    public String toString() {
        return "TetherClient[" + deviceId() + ", session " + sessionId() + "]";
    }

    /**
     * Configures a {@link TetherClient}. Each setter validates its argument
     * ({@link IllegalArgumentException}, with the value and the expectation); {@link #build()}
     * checks that the required settings are present and consistent ({@link IllegalStateException}).
     * Required: {@link #target} and {@link #deviceId}. Not thread-safe; may build several clients.
     */
    public static final class Builder {
        private static final Duration DEFAULT_BACKOFF_BASE = Duration.ofSeconds(1);
        private static final Duration DEFAULT_BACKOFF_CAP = Duration.ofSeconds(60);
        private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
        private static final int DEFAULT_OUTBOX_CAPACITY = 10_000;
        private static final Duration MAX_MILLIS = Duration.ofMillis(Integer.MAX_VALUE);
        private static final LongUnaryOperator DEFAULT_RANDOM = bound -> ThreadLocalRandom.current().nextLong(bound);

        private InetSocketAddress target;
        private String deviceId;
        private byte[] credential = new byte[0];
        private byte[] deviceKey;
        private String secret;
        private String groupPrefix;
        private Duration heartbeat = Duration.ZERO;
        private Duration backoffBase = DEFAULT_BACKOFF_BASE;
        private Duration backoffCap = DEFAULT_BACKOFF_CAP;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration userTimeout;
        private KeepAlive keepAlive = KeepAlive.DEFAULT;
        private int outboxCapacity = DEFAULT_OUTBOX_CAPACITY;
        private ClientGroup group;
        private InetAddress localAddress;
        private ClientListener listener = new ClientListener() { };
        private LongUnaryOperator random = DEFAULT_RANDOM;
        private double pingIntervalFactor = 1.0;
        private boolean reconnect = true;
        private Path outboxFile;
        private boolean outboxSync = true;
        private ClientTls tls;
        private CommandHandler commandHandler;
        private java.util.concurrent.Executor commandExecutor;

        private Builder() {
        }

        /**
         * The server's address. An IP literal is used as is; a host name is resolved again on every
         * connection attempt (on the event loop, through the JDK resolver and its cache).
         *
         * @throws IllegalArgumentException if the host is empty or the port is not 1 to 65535
         */
        public Builder target(String host, int port) {
            Objects.requireNonNull(host, "host");
            if (host.isEmpty()) {
                throw new IllegalArgumentException("host: \"\" (expected: a host name or IP address)");
            }
            checkPort(port);
            target = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)
                    ? new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host), port)
                    : InetSocketAddress.createUnresolved(host, port);
            return this;
        }

        /**
         * The server's address as {@code host:port}, the form of the command line and config files
         * ({@code gateway.example:7878}, {@code 10.0.0.7:7878}, {@code [2001:db8::7]:7878}); see
         * {@link #target(String, int)}.
         *
         * @throws IllegalArgumentException naming {@code target}, the value and the expected form, if
         *                                  it is not {@code HOST:PORT} (an IPv6 address in brackets)
         *                                  or the port is not 1 to 65535
         */
        public Builder target(String hostPort) {
            InetSocketAddress parsed = HostPort.parse("target", hostPort);
            if (parsed.getPort() == 0 || !parsed.isUnresolved()) {
                // ":7878" or a bare port means "any address" to a server; a client needs a host.
                throw new IllegalArgumentException("target '" + hostPort + "': expected HOST:PORT with a host and a"
                        + " port 1 to 65535, e.g. gateway.example:7878 or [::1]:7878");
            }
            return target(parsed.getHostString(), parsed.getPort());
        }

        /**
         * The server's address; an unresolved one is resolved on every connection attempt.
         *
         * @throws IllegalArgumentException if the port is not 1 to 65535
         */
        public Builder target(InetSocketAddress address) {
            Objects.requireNonNull(address, "address");
            checkPort(address.getPort());
            target = address;
            return this;
        }

        private static void checkPort(int port) {
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
            }
        }

        /**
         * The device's identity, sent in HELLO: 1 to 128 printable ASCII characters.
         *
         * @throws IllegalArgumentException if it does not meet {@link Protocol#checkDeviceId}
         */
        public Builder deviceId(String deviceId) {
            Protocol.checkDeviceId(deviceId);
            this.deviceId = deviceId;
            return this;
        }

        /**
         * The credential sent in HELLO (copied). Default: empty.
         *
         * @throws IllegalArgumentException if longer than {@link Protocol#MAX_CREDENTIAL_LENGTH} bytes
         */
        public Builder credential(byte[] credential) {
            Objects.requireNonNull(credential, "credential");
            if (credential.length > Protocol.MAX_CREDENTIAL_LENGTH) {
                throw new IllegalArgumentException("credential: " + credential.length + " bytes (expected: <= "
                        + Protocol.MAX_CREDENTIAL_LENGTH + ")");
            }
            this.credential = credential.clone();
            return this;
        }

        /**
         * Authenticates with the device's 32-byte key: every HELLO carries a fresh single-use
         * token (docs/PROTOCOL.md, "Authentication"); the key itself is never sent. Overrides
         * {@link #credential}, and replaces an earlier {@link #secret} or {@link #groupSecret}.
         *
         * @throws IllegalArgumentException if the key is not 32 bytes
         */
        public Builder deviceKey(byte[] key) {
            Objects.requireNonNull(key, "deviceKey");
            if (key.length != 32) {
                throw new IllegalArgumentException("deviceKey: " + key.length + " bytes (expected: 32)");
            }
            this.deviceKey = key.clone();
            this.secret = null;
            this.groupPrefix = null;
            return this;
        }

        /**
         * Authenticates with the device's own secret, the one its entry in the gateway's
         * credentials file was made from ({@code tether credentials add --device ID --secret ...}).
         * The key is derived from it once, in {@link #build()} (PBKDF2, tens of milliseconds); every
         * HELLO then carries a fresh token, as with {@link #deviceKey}. Overrides
         * {@link #credential}, and replaces an earlier {@link #deviceKey} or {@link #groupSecret}.
         *
         * @throws IllegalArgumentException if the secret is empty
         */
        public Builder secret(String secret) {
            this.secret = checkSecret(secret);
            this.groupPrefix = null;
            this.deviceKey = null;
            return this;
        }

        /**
         * Authenticates with a group's provisioning secret, for a device covered by a group entry
         * of the gateway's credentials file ({@code tether credentials add --group PREFIX --secret
         * ...}, every id starting with {@code idPrefix}). In {@link #build()} the client derives
         * the group key and from it this device's key,
         * {@code DeviceToken.memberKey(DeviceToken.groupKey(idPrefix, secret), deviceId)} (PBKDF2,
         * tens of milliseconds per build). Overrides {@link #credential}, and replaces an earlier
         * {@link #secret} or {@link #deviceKey}.
         *
         * @param idPrefix the group's prefix exactly as in the credentials file, e.g. {@code "sim-"};
         *                 the {@link #deviceId} must start with it ({@link #build()} checks)
         * @throws IllegalArgumentException if the prefix or the secret is empty
         */
        public Builder groupSecret(String idPrefix, String secret) {
            Objects.requireNonNull(idPrefix, "idPrefix");
            if (idPrefix.isEmpty()) {
                throw new IllegalArgumentException("groupSecret prefix: empty (expected: the group's id prefix as in"
                        + " the credentials file, e.g. \"sim-\")");
            }
            this.secret = checkSecret(secret);
            this.groupPrefix = idPrefix;
            this.deviceKey = null;
            return this;
        }

        private static String checkSecret(String secret) {
            Objects.requireNonNull(secret, "secret");
            if (secret.isEmpty()) {
                throw new IllegalArgumentException("secret: empty (expected: a non-empty secret)");
            }
            return secret;
        }

        /**
         * The heartbeat interval to ask the server for (millisecond resolution); the server may
         * clamp it, and WELCOME says what was granted. Default {@link Duration#ZERO}: the server's
         * default.
         *
         * @throws IllegalArgumentException if negative or above 2^31-1 ms
         */
        public Builder heartbeat(Duration requested) {
            heartbeat = checkMillis("heartbeat", requested, Duration.ZERO);
            return this;
        }

        /**
         * Reconnect backoff: the delay ceiling starts at {@code base} and doubles per failed attempt
         * up to {@code cap}; the delay is drawn uniformly below it. Defaults 1 s and 60 s.
         * Millisecond resolution.
         *
         * @throws IllegalArgumentException if base is below 1 ms or cap below base
         */
        public Builder backoff(Duration base, Duration cap) {
            checkMillis("backoff base", base, Duration.ofMillis(1));
            Objects.requireNonNull(cap, "cap");
            if (cap.compareTo(base) < 0) {
                throw new IllegalArgumentException("backoff cap: " + cap + " (expected: >= base " + base + ")");
            }
            checkMillis("backoff cap", cap, Duration.ofMillis(1));
            backoffBase = base;
            backoffCap = cap;
            return this;
        }

        /**
         * Bound on one connection attempt: TCP connect plus the wait for WELCOME, counted from the
         * attempt's start. Default 10 s.
         *
         * @throws IllegalArgumentException if below 1 ms or above 2^31-1 ms
         */
        public Builder connectTimeout(Duration timeout) {
            connectTimeout = checkMillis("connectTimeout", timeout, Duration.ofMillis(1));
            return this;
        }

        /**
         * TCP_USER_TIMEOUT, set on the socket after each WELCOME: how long sent data may stay
         * unacknowledged by the server's kernel before this side's kernel fails the connection. It is
         * what detects a dead server in quiet mode. Default: the {@code timeout_ms} negotiated in
         * WELCOME (not set if that is 0). {@link Duration#ZERO}: never set (the kernel's default, up
         * to about 15 minutes of retransmissions). Epoll transport only.
         *
         * @throws IllegalArgumentException if negative or above 2^31-1 ms
         */
        public Builder userTimeout(Duration timeout) {
            userTimeout = checkMillis("userTimeout", timeout, Duration.ZERO);
            return this;
        }

        /**
         * TCP keepalive: SO_KEEPALIVE with TCP_KEEPIDLE {@code idle}, TCP_KEEPINTVL {@code interval},
         * TCP_KEEPCNT {@code count}, checked by the same validator as the gateway's
         * ({@link KeepAlive#of}), so a value the kernel would refuse fails here, with the same
         * message. Defaults 60 s, 20 s, 3 ({@link KeepAlive#DEFAULT}). {@code idle}
         * {@link Duration#ZERO} turns keepalive off.
         *
         * @throws IllegalArgumentException if idle is not 0 or whole seconds from 1 s to 32767 s,
         *                                  interval not whole seconds from 1 s to 32767 s, or count
         *                                  not 1 to 127 (the Linux kernel's limits)
         */
        public Builder keepAlive(Duration idle, Duration interval, int count) {
            Objects.requireNonNull(idle, "idle");
            keepAlive = idle.isZero() ? KeepAlive.OFF : KeepAlive.of(idle, interval, count);
            return this;
        }

        /**
         * Most messages held unacknowledged (numbered or not) before {@link TetherClient#send} throws
         * {@link OutboxFullException}. Default 10,000.
         *
         * @throws IllegalArgumentException if below 1
         */
        public Builder outboxCapacity(int capacity) {
            if (capacity < 1) {
                throw new IllegalArgumentException("outboxCapacity: " + capacity + " (expected: >= 1)");
            }
            outboxCapacity = capacity;
            return this;
        }

        /**
         * Keeps the outbox in {@code file}, so that unacknowledged messages survive a crash or
         * restart of the application (and, with {@link #outboxSync} on, of the device). Default:
         * none, the outbox lives in memory only.
         *
         * <p><b>Guarantees.</b>
         * <ul>
         *   <li>A message is appended to the file before {@link TetherClient#send} returns, unless the
         *       future it returns is already failed (client closed, or the file failed: then nothing
         *       was stored). An application that crashes right after send() returned finds the
         *       message again at the next start.</li>
         *   <li>It stays in the file until the server acknowledges it (ACK, or the {@code last_seq} of
         *       a WELCOME). A lost connection, {@link TetherClient#close()} or a crash do not remove
         *       it: close() fails its future, but the message is resent by the next client built on
         *       the file.</li>
         *   <li>A client built on an existing file reloads its unacknowledged messages and the next
         *       sequence number, and resends them after WELCOME in order, under the numbers they
         *       had (messages covered by WELCOME's {@code last_seq} are dropped as stored). Messages
         *       that had no number yet (sent before any WELCOME) get theirs after the WELCOME, from
         *       {@code last_seq + 1}, like in memory. A message's number is written to the file before
         *       the message goes on the wire, so a restart never stores a message twice under two
         *       numbers. Reloaded messages count in {@link TetherClient#pendingCount()} and against
         *       {@link #outboxCapacity} (if they exceed it, send() throws {@link OutboxFullException}
         *       until enough are acknowledged); no future of the earlier run reports on them.</li>
         *   <li>Every record carries a CRC-32C. A write torn by a crash (the file's last record) is
         *       discarded on load, and everything before it is kept; a damaged record further in
         *       (storage corruption) is discarded with everything after it, with a warning in the log.
         *       If writing fails (disk full, I/O error), the client closes itself: futures fail with
         *       {@link ClientClosedException} carrying the {@link java.io.IOException}.</li>
         * </ul>
         *
         * <p><b>Costs.</b> {@code send()} blocks its calling thread until the message is written,
         * and with {@link #outboxSync} until it is forced to storage (one {@code fdatasync}: from well
         * under a millisecond to tens of milliseconds, depending on the storage and its load);
         * calls from several threads meanwhile share one force. Calling send() from a future's callback or a {@link ClientListener} therefore
         * blocks the client's event loop for that time. A message goes on the wire only after a
         * second force that records its sequence number, so each message costs about two forces of
         * latency (fewer under load, where forces are shared). Each client runs one writer thread
         * with a 128 KiB buffer; the file holds a copy of every unacknowledged payload.
         *
         * <p><b>The file's lifetime.</b> The parent directory must exist; the file is created if
         * absent and is never deleted by the client. It is appended to, and rewritten (to
         * {@code <file>.compact}, then renamed over it atomically) once acknowledged records take at
         * least 1 MiB and at least half of it, so it stays within about twice the size of what is
         * unacknowledged, plus 1 MiB. A companion {@code <file>.lock} (empty, also never deleted) is
         * locked while a client uses the file: a second client on the same file, in this or another
         * process, fails in {@link #build()} with {@link IllegalStateException}.
         * The lock is released when {@link TetherClient#closeFuture()} completes. A file belongs to one
         * device id (it is recorded in it): the sequence numbers are that device's.
         */
        public Builder outboxFile(Path file) {
            outboxFile = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * Whether the {@link #outboxFile} is forced to storage ({@code FileChannel.force}) after each
         * batch of appends, so that accepted messages survive a power loss or kernel crash, not
         * only a crash of the application. Default true. False saves the force (send() then waits
         * only for the write into the operating system's cache), but a power loss may lose what the
         * kernel had not written yet, or store a message twice (its number was lost, so it is sent
         * again under a new one). No effect without an outbox file.
         */
        public Builder outboxSync(boolean sync) {
            outboxSync = sync;
            return this;
        }

        /**
         * Speaks TLS (1.3 or 1.2) to the server, trusting the PEM certificates in
         * {@code trustedCertPem}: the gateway's CA, or the gateway's own certificate if it is
         * self-signed. Reads the file now; for many clients in one process, build a
         * {@link ClientTls} once and pass it to {@link #tls(ClientTls)}. See there for what is
         * verified. Default: plaintext TCP.
         *
         * @throws java.io.UncheckedIOException if the file is missing or unreadable
         * @throws IllegalArgumentException     if it holds no PEM certificate
         */
        public Builder tls(Path trustedCertPem) {
            return tls(ClientTls.trusting(Objects.requireNonNull(trustedCertPem, "trustedCertPem")));
        }

        /**
         * Speaks TLS to the server, trusting what {@code tls} trusts (shared by any number of
         * clients). The server's certificate chain must be trusted, and the certificate must name
         * the {@link #target} host (a DNS name for a host name, an IP address entry for an IP
         * literal). The TLS handshake counts in {@link #connectTimeout}. A failed verification ends
         * the attempt like any lost connection (reason {@code IO_ERROR}, and a reconnect after the
         * backoff); the cause passed to {@link ClientListener#onDisconnected} is an
         * {@link javax.net.ssl.SSLHandshakeException} that says what was wrong (not trusted, wrong
         * name, not TLS), and the first failure after a success is logged as a warning. Default:
         * plaintext TCP.
         */
        public Builder tls(ClientTls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * Takes commands from the server: the client then speaks protocol version 2 (its HELLO says
         * so), and the server sends it the commands queued for its device id, in order. Default:
         * none; the client speaks version 1 and the server keeps the device's commands queued.
         *
         * <p><b>Processing.</b> {@code handler} runs on a thread of its own (one per client, never
         * the event loop), one command at a time, in seq order. When it returns (or throws: the
         * result is then FAILED with the exception's message), the client records the command as
         * processed, acknowledges it (COMMAND_ACK) and sends the result (RESULT) unless it is
         * {@link CommandResult#none()}. A result is resent after every reconnect until the server
         * acknowledges storing it, like an uplink message.
         *
         * <p><b>Each command once.</b> The client remembers the highest seq processed; a command the
         * server sends again (its acknowledgement was lost, or a connection ended first) is
         * acknowledged again without calling the handler. In memory, that holds for the life of the
         * client. With {@link #outboxFile} it holds across restarts of the application: the
         * processed seq and the unacknowledged results are written (and forced, with
         * {@link #outboxSync}) to the file <em>before</em> the acknowledgement goes out, so a crash
         * after the server may have seen it never runs the command again. A crash while the
         * handler runs, or before that write completes, runs the command again on the next start
         * (the server resends it): handlers that matter should be idempotent for that window. The
         * file format becomes version 2 (an SDK without commands can no longer open it).
         *
         * <p><b>An older server</b>, which does not speak version 2, refuses the HELLO (BYE
         * UNSUPPORTED_VERSION): the client logs a warning and continues with version 1, without
         * commands, until it is closed.
         *
         * <p>{@link TetherClient#close()} waits up to 5 s for a running handler to return before closing the
         * outbox file; commands not yet started are dropped unacknowledged (the server resends
         * them to the next session).
         */
        public Builder onCommand(CommandHandler handler) {
            commandHandler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * Processes commands as {@link #onCommand} says, but on {@code executor} instead of a
         * thread of the client's own: for an application with many clients in one process (a
         * simulator, a protocol bridge) whose handlers are quick, so that a few threads serve them
         * all. The client's commands still run one at a time and in order; never give an event
         * loop of the client's {@link #group group} here, and size the executor for handlers
         * that block.
         */
        public Builder onCommand(CommandHandler handler, java.util.concurrent.Executor executor) {
            commandHandler = Objects.requireNonNull(handler, "handler");
            commandExecutor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * Processes commands as {@link #onCommand} says, but on the client's event loop, as each
         * COMMAND frame is read: no thread hand-off, and the COMMAND_ACK and RESULT of the commands
         * of one read go out in one write. Only for a handler that returns at once and never
         * blocks (a canned answer, a value put in a queue): while it runs, this client (and every
         * client sharing its event loop) reads, writes and keeps its heartbeats waiting. Not with
         * {@link #outboxFile}, whose write the acknowledgement waits for.
         *
         * @throws IllegalStateException from {@link #build()} if an {@link #outboxFile} is set too
         */
        public Builder onCommandInline(CommandHandler handler) {
            commandHandler = Objects.requireNonNull(handler, "handler");
            commandExecutor = ClientCore.INLINE;
            return this;
        }

        /**
         * Runs the client on a group of threads shared with other clients; the client picks one of
         * its event loops and stays there, and never closes the group. Default: the client runs
         * its own one-thread group and stops it on close.
         */
        public Builder group(ClientGroup group) {
            this.group = Objects.requireNonNull(group, "group");
            return this;
        }

        /**
         * The source address to bind before connecting (port chosen by the kernel), e.g.
         * {@code 127.0.0.2} to spread a load test over several loopback addresses. Default: none.
         */
        public Builder localAddress(InetAddress address) {
            localAddress = Objects.requireNonNull(address, "address");
            return this;
        }

        /** Callbacks; see {@link ClientListener} for the threading rules. Default: none. */
        public Builder listener(ClientListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * The random source for reconnect jitter (tests inject a seeded one). Called on the client's
         * event loop; if shared by clients on different threads it must be thread-safe. Default:
         * {@link ThreadLocalRandom}.
         */
        public Builder random(RandomGenerator random) {
            Objects.requireNonNull(random, "random");
            this.random = random::nextLong;
            return this;
        }

        /**
         * The random source for reconnect jitter, as a function from a bound {@code > 0} to a value
         * in {@code [0, bound)} (values outside are reduced modulo the bound). Same threading rule as
         * {@link #random(RandomGenerator)}. Pass a lambda such as {@code bound -> bound - 1}; a method
         * reference like {@code rng::nextLong} also fits the other overload, so pass {@code rng} there.
         */
        public Builder random(LongUnaryOperator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /**
         * <b>For testing.</b> Writes PINGs every granted heartbeat × {@code factor} instead of every
         * heartbeat, to simulate devices that are late ({@code > 1}: the server should time them
         * out once past its tolerance) or eager ({@code < 1}). Default 1.0.
         *
         * @throws IllegalArgumentException if not a finite number {@code > 0}
         */
        public Builder pingIntervalFactor(double factor) {
            if (!(factor > 0) || Double.isInfinite(factor)) {
                throw new IllegalArgumentException("pingIntervalFactor: " + factor + " (expected: > 0, finite)");
            }
            pingIntervalFactor = factor;
            return this;
        }

        /**
         * Whether to reconnect after a connection is lost or an attempt fails. Default true. When
         * false, the first loss closes the client: pending sends fail with
         * {@link ClientClosedException} (carrying the cause) and {@link TetherClient#closeFuture()}
         * completes.
         */
        public Builder reconnect(boolean reconnect) {
            this.reconnect = reconnect;
            return this;
        }

        /**
         * Builds a client; it does nothing until {@link TetherClient#connect()}. With an
         * {@link #outboxFile}, it locks and reads the file here, on the calling thread.
         *
         * @throws IllegalStateException if the target or device id is missing, the device id does
         *                               not start with the {@link #groupSecret} prefix, the local address is
         *                               of a different IP family than a resolved target, the
         *                               group is closed, or the outbox file is in use
         *                               by another client, belongs to another device id or is not
         *                               an outbox file
         * @throws java.io.UncheckedIOException if the outbox file cannot be created, read or locked
         */
        public TetherClient build() {
            if (target == null) {
                throw new IllegalStateException("target is not set (call target(host, port))");
            }
            if (deviceId == null) {
                throw new IllegalStateException("deviceId is not set (call deviceId(id))");
            }
            if (localAddress != null && !target.isUnresolved()
                    && (localAddress instanceof Inet4Address) != (target.getAddress() instanceof Inet4Address)) {
                throw new IllegalStateException("localAddress " + localAddress.getHostAddress()
                        + " and target " + target.getAddress().getHostAddress() + " are of different IP families");
            }
            if (commandExecutor == ClientCore.INLINE && outboxFile != null) {
                throw new IllegalStateException("onCommandInline cannot be used with outboxFile: recording a command in "
                        + "the file waits for the disk, which an event loop must not do (use onCommand(handler) or "
                        + "onCommand(handler, executor))");
            }
            if (group != null && group.isClosed()) {
                throw new IllegalStateException("group is closed (close clients before their ClientGroup)");
            }
            if (groupPrefix != null && !deviceId.startsWith(groupPrefix)) {
                throw new IllegalStateException("deviceId '" + deviceId + "' does not start with the groupSecret"
                        + " prefix '" + groupPrefix + "' (a group entry covers only ids starting with its prefix)");
            }
            byte[] key;
            if (secret == null) {
                key = deviceKey;
            } else if (groupPrefix == null) {
                key = DeviceToken.deviceKey(deviceId, secret);
            } else {
                key = DeviceToken.memberKey(DeviceToken.groupKey(groupPrefix, secret), deviceId);
            }
            return new TetherClient(new ClientConfig(target, deviceId, credential, key, credentialSource(), heartbeat,
                    backoffBase, backoffCap,
                    connectTimeout, userTimeout, keepAlive, outboxCapacity,
                    group == null ? null : group.eventLoops(), localAddress, listener, random, pingIntervalFactor,
                    reconnect, outboxFile, outboxSync, tls == null ? null : tls.context(), commandHandler, commandExecutor));
        }

        /** Which credential the client presents, and what the gateway needs to accept it. */
        private String credentialSource() {
            String clock = "; also check that the device's clock is within a few minutes of the gateway's"
                    + " (tokens carry an expiry)";
            if (secret != null && groupPrefix == null) {
                return "a token from its device secret (secret(...)): the gateway's credentials file needs an entry"
                        + " for '" + deviceId + "' made from this secret (tether credentials add --device "
                        + deviceId + " --secret ...), in the file the gateway was started with" + clock;
            }
            if (secret != null) {
                return "a token from the secret of group '" + groupPrefix + "' (groupSecret(...)): the gateway's"
                        + " credentials file needs a group entry '" + groupPrefix + "' made from the same secret"
                        + " (tether credentials add --group " + groupPrefix + " --secret ...), and no device entry"
                        + " for '" + deviceId + "' (a device entry wins over a group)" + clock;
            }
            if (deviceKey != null) {
                return "a token from the key given to deviceKey(...): the gateway's credentials file needs an entry"
                        + " for '" + deviceId + "' with that key" + clock;
            }
            if (credential.length > 0) {
                return "the raw " + credential.length + "-byte credential given to credential(...), which a gateway"
                        + " started with --credentials does not accept: use secret(...) for a device entry or"
                        + " groupSecret(prefix, secret) for a group entry";
            }
            return "no credential: a gateway started with --credentials needs one; call secret(...) for a device"
                    + " entry (tether credentials add --device " + deviceId + ") or groupSecret(prefix, secret)"
                    + " for a group entry (tether credentials add --group PREFIX)";
        }

        private static Duration checkMillis(String name, Duration d, Duration min) {
            return checkRange(name, d, min, MAX_MILLIS);
        }

        private static Duration checkRange(String name, Duration d, Duration min, Duration max) {
            Objects.requireNonNull(d, name);
            if (d.compareTo(min) < 0) {
                throw new IllegalArgumentException(name + ": " + d + " (expected: >= " + describe(min) + ")");
            }
            if (d.compareTo(max) > 0) {
                throw new IllegalArgumentException(name + ": " + d + " (expected: <= " + describe(max) + ")");
            }
            return d;
        }

        private static String describe(Duration d) {
            if (d.isZero()) {
                return "0";
            }
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
        }
    }
}
