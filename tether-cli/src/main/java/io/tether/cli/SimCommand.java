package io.tether.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.tether.client.ClientGroup;
import io.tether.client.ClientListener;
import io.tether.client.ClientStats;
import io.tether.client.CommandResult;
import io.tether.client.ClientTls;
import io.tether.client.TetherClient;
import io.tether.protocol.Reason;
import io.tether.protocol.auth.DeviceToken;
import io.tether.transport.HostPort;
import io.tether.transport.Transport;
import io.tether.transport.errno.IoFailure;
import io.tether.transport.tls.Tls;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code tether sim}: simulated devices against a running gateway. Ends with one JSON summary
 * line on stdout.
 */
@Command(name = "sim", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs N simulated devices against a gateway and prints one JSON summary line.",
                "The summary has devices, connected, messages sent and acked, closes seen by reason (plus detection "
                        + "lateness for silent). Exit 1 (and why, on stderr) when no device completed a handshake.",
                "Behaviours:",
                "  normal  the SDK: heartbeat, send --messages, reconnect with backoff",
                "  late    like normal, but PINGs come at 1.3 x the interval (inside the 1.5 x tolerance)",
                "  silent  handshake, then nothing more (or after --silent-after); never closes",
                "  fin     send --messages, then close gracefully (FIN)",
                "  rst     send --messages, then close with RST",
                "  flap    reconnect in a loop without closing the old socket (the reboot storm)",
                "With --command-reply, normal and late devices take commands (protocol version 2) and answer them."})
public final class SimCommand implements Callable<Integer> {

    enum Behaviour { normal, silent, late, fin, rst, flap }

    /** How a device answers a command: SUCCEEDED "ok", FAILED "fail", or acknowledge only. */
    enum CommandReply { ok, fail, ignore }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--target", required = true, paramLabel = "HOST:PORT", description = "The gateway.")
    String target;

    @Option(names = "--devices", paramLabel = "N", description = "Number of devices (default: ${DEFAULT-VALUE}).")
    int devices = 10;

    @Option(names = "--behaviour", paramLabel = "B", description = "normal|silent|late|fin|rst|flap (default: ${DEFAULT-VALUE}).")
    Behaviour behaviour = Behaviour.normal;

    @Option(names = "--heartbeat", paramLabel = "D", converter = DurationConverter.class,
            description = "Heartbeat interval to ask for; 0 = the server's default (default: ${DEFAULT-VALUE}).", defaultValue = "0")
    Duration heartbeat;

    @Option(names = "--duration", paramLabel = "D", converter = DurationConverter.class,
            description = "How long to run before the summary (default: ${DEFAULT-VALUE}). fin and rst end earlier "
                    + "when every device is done.", defaultValue = "10s")
    Duration duration;

    @Option(names = "--messages", paramLabel = "M", description = "DATA messages per device (default: ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--payload-size", paramLabel = "BYTES", description = "Bytes per message (default: ${DEFAULT-VALUE}).")
    int payloadSize = 100;

    @Option(names = "--id-prefix", paramLabel = "S", description = "Device ids are S0, S1, ... (default: ${DEFAULT-VALUE}).")
    String idPrefix = "sim-";

    @Option(names = "--id-offset", paramLabel = "N", description = "First device number (default: ${DEFAULT-VALUE}); "
            + "lets several sim processes share one id space.")
    int idOffset;

    @Option(names = "--source", split = ",", paramLabel = "ADDR",
            description = "Local source addresses to spread connections over (e.g. 127.0.0.2,127.0.0.3): "
                    + "each address has its own ~28,000 ephemeral ports.")
    List<String> sources = new ArrayList<>();

    @Option(names = "--secret", paramLabel = "S",
            description = "Authenticate: S is the secret of the group --id-prefix in the server's credentials file "
                    + "(tether credentials add --group PREFIX). Each device derives its own key from it.")
    String secret;

    @Option(names = "--secret-env", paramLabel = "VAR", description = "Like --secret, read from environment variable VAR.")
    String secretEnv;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = "Connect with TLS, trusting the certificates in FILE (PEM); the server's name or IP is verified.")
    Path tlsCa;

    @Option(names = "--concurrency", paramLabel = "N", description = "Handshakes in flight at once (default: ${DEFAULT-VALUE}).")
    int concurrency = 256;

    @Option(names = "--silent-after", paramLabel = "D", converter = DurationConverter.class,
            description = "With --behaviour silent: heartbeat normally until D after the start, then all devices "
                    + "go silent at that same moment.")
    Duration silentAfter;

    @Option(names = "--flap-interval", paramLabel = "D", converter = DurationConverter.class,
            description = "With --behaviour flap: time between reconnects of one device (default: ${DEFAULT-VALUE}).", defaultValue = "1s")
    Duration flapInterval;

    @Option(names = "--threads", paramLabel = "N", description = "Event loop threads (default: number of cores).")
    int threads;

    @Option(names = "--window", paramLabel = "W",
            description = "normal/late: at most W unacknowledged messages per device (default: all --messages at once).")
    int window;

    @Option(names = "--command-reply", paramLabel = "R",
            description = "Take commands (normal/late devices): ok = SUCCEEDED with payload \"ok\", fail = FAILED with "
                    + "payload \"fail\", ignore = acknowledge without a result. Default: no commands (protocol version 1).")
    CommandReply commandReply;

    @Option(names = "--command-delay", paramLabel = "D", converter = DurationConverter.class,
            description = "With --command-reply: processing time of each command before it is acknowledged "
                    + "(default: ${DEFAULT-VALUE}).", defaultValue = "0")
    Duration commandDelay;

    @Option(names = "--interval", paramLabel = "D", converter = DurationConverter.class,
            description = "normal/late: each device sends one message every D (paced, a random phase per device) "
                    + "instead of as fast as --window allows; 0 = unpaced (default: ${DEFAULT-VALUE}).", defaultValue = "0")
    Duration interval;

    @Option(names = "--stop-when-acked", arity = "0..1",
            description = "normal/late: end as soon as every message is acknowledged instead of waiting for --duration.")
    boolean stopWhenAcked;

    /**
     * Keeps up to {@code window} messages of one device in flight: each acknowledgement sends the
     * next. Records the ack latency of each message.
     */
    static final class Sender {
        private final Run run;
        private final TetherClient client;
        private final int total;
        private final int window;
        private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();

        Sender(Run run, TetherClient client, int total, int window) {
            this.run = run;
            this.client = client;
            this.total = total;
            this.window = window;
        }

        void start() {
            for (int i = 0; i < Math.min(window, total); i++) {
                sendNext();
            }
        }

        /** One message every {@code interval}, the first after a random part of it; stops after the last. */
        void startPaced(java.util.concurrent.ScheduledExecutorService pacer, Duration interval) {
            long period = interval.toNanos();
            long phase = java.util.concurrent.ThreadLocalRandom.current().nextLong(period);
            java.util.concurrent.atomic.AtomicReference<java.util.concurrent.Future<?>> task =
                    new java.util.concurrent.atomic.AtomicReference<>();
            task.set(pacer.scheduleAtFixedRate(() -> {
                if (next.get() >= total || run.stopping()) {
                    java.util.concurrent.Future<?> t = task.get();
                    if (t != null) {
                        t.cancel(false);
                    }
                    return;
                }
                send(false);
            }, phase, period, TimeUnit.NANOSECONDS));
        }

        private void sendNext() {
            send(true);
        }

        /** Sends the next message, if any is left; {@code chain}: its ACK sends the one after (window mode). */
        private void send(boolean chain) {
            if (next.getAndIncrement() >= total || run.stopping()) {
                return;
            }
            long sentAt = System.nanoTime();
            CompletableFuture<Long> f;
            try {
                f = client.send(run.payload);
            } catch (RuntimeException e) {
                run.sendFailed();
                return;
            }
            run.sent(1);
            f.whenComplete((seq, e) -> {
                if (e == null) {
                    run.ackedAfter(System.nanoTime() - sentAt);
                    if (chain) {
                        sendNext();
                    }
                }
            });
        }
    }

    @Override
    public Integer call() throws Exception {
        InetSocketAddress addr;
        try {
            addr = parseTarget(target);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        atLeast("--devices", devices, 1);
        atLeast("--payload-size", payloadSize, 0);
        atLeast("--threads", threads, 0);
        atLeast("--concurrency", concurrency, 1);
        atLeast("--messages", messages, 0);
        atLeast("--window", window, 0);
        if (interval.isNegative()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--interval " + interval + " (expected: >= 0)");
        }
        atLeast("--id-offset", idOffset, 0);
        checkCommandFlags();
        try {
            // Every id the run will use must be valid: fail here, not once per connection.
            CredentialsText.checkId("--id-prefix (device id " + idPrefix + idOffset + ")", idPrefix + idOffset);
            CredentialsText.checkId("--id-prefix (device id " + idPrefix + (idOffset + devices - 1) + ")",
                    idPrefix + (idOffset + devices - 1));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Run run = new Run(this, addr);
        try {
            if (behaviour == Behaviour.normal || behaviour == Behaviour.late) {
                runClients(run);
            } else {
                runRaw(run);
            }
        } finally {
            run.stop();
        }
        spec.commandLine().getOut().println(run.summary());
        spec.commandLine().getOut().flush();
        String why = run.whyNothingWorked();
        if (why != null) {
            spec.commandLine().getErr().println("tether sim: no device completed a handshake with " + target + ": " + why);
            spec.commandLine().getErr().flush();
            return 1;
        }
        return 0;
    }

    /** @throws CommandLine.ParameterException if the command flags do not fit the behaviour or each other */
    private void checkCommandFlags() {
        if (commandReply != null && behaviour != Behaviour.normal && behaviour != Behaviour.late) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--command-reply " + commandReply
                    + ": only --behaviour normal or late devices take commands (not " + behaviour + ")");
        }
        if (commandDelay.isNegative()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--command-delay " + commandDelay
                    + ": expected 0 or more");
        }
        if (commandReply == null && !commandDelay.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--command-delay " + commandDelay
                    + ": needs --command-reply ok|fail|ignore (devices take commands only with it)");
        }
    }

    /** A device's command handler: waits --command-delay, then answers as --command-reply says. */
    static io.tether.client.CommandHandler commandHandler(CommandReply reply, Duration delay) {
        byte[] ok = "ok".getBytes(StandardCharsets.US_ASCII);
        byte[] fail = "fail".getBytes(StandardCharsets.US_ASCII);
        long delayNanos = delay.toNanos();
        return command -> {
            if (delayNanos > 0) {
                TimeUnit.NANOSECONDS.sleep(delayNanos); // the handler's own thread, never an event loop
            }
            return switch (reply) {
                case ok -> CommandResult.succeeded(ok);
                case fail -> CommandResult.failed(fail);
                case ignore -> CommandResult.none();
            };
        };
    }

    /** @throws CommandLine.ParameterException naming the flag, the value and the least it may be */
    private void atLeast(String flag, long value, long min) {
        if (value < min) {
            throw new CommandLine.ParameterException(spec.commandLine(), flag + " " + value + ": expected " + min
                    + " or more" + (flag.equals("--threads") ? " (0 = number of cores)" : ""));
        }
    }

    private InetSocketAddress source(int i) throws IOException {
        if (sources.isEmpty()) {
            return null;
        }
        return new InetSocketAddress(InetAddress.getByName(sources.get(i % sources.size())), 0);
    }

    private void runClients(Run run) throws Exception {
        List<TetherClient> clients = new ArrayList<>(devices);
        java.util.concurrent.ScheduledExecutorService pacer = interval.isZero() ? null
                : java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "sim-pacer");
                    t.setDaemon(true);
                    return t;
                });
        // Handlers that answer at once run on the devices' event loops: a hand-off to another thread
        // and back cost more than the answer (in bench/commands, the simulator's CPU per command
        // was most of that). With --command-delay each device has its own thread, as independent
        // devices would (a sleeping handler must not hold up the others).
        boolean commandsInline = commandReply != null && commandDelay.isZero();
        Semaphore inFlight = new Semaphore(concurrency);
        long end = System.nanoTime() + duration.toNanos();
        for (int i = 0; i < devices; i++) {
            if (!inFlight.tryAcquire(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                break;   // --duration is over while handshakes still wait: the devices not started stay out
            }
            InetSocketAddress src = source(i);
            TetherClient.Builder b = TetherClient.builder()
                    .target(run.target)
                    .deviceId(idPrefix + (idOffset + i))
                    .credential(new byte[0])
                    .heartbeat(heartbeat)
                    .group(run.clients)
                    .outboxCapacity(Math.max(1, messages))
                    .pingIntervalFactor(behaviour == Behaviour.late ? 1.3 : 1.0)
                    .listener(new ClientListener() {
                        @Override
                        public void onDisconnected(Reason reason, Throwable cause) {
                            run.countClose(reason);
                        }

                        @Override
                        public void onBye(io.tether.client.Goodbye bye) {
                            run.refused(bye.reason());
                        }
                    });
            if (src != null) {
                b.localAddress(src.getAddress());
            }
            if (run.groupKey != null) {
                b.deviceKey(run.keyOf(idPrefix + (idOffset + i)));
            }
            if (run.clientTls != null) {
                b.tls(run.clientTls);
            }
            if (commandsInline) {
                b.onCommandInline(commandHandler(commandReply, commandDelay));
            } else if (commandReply != null) {
                b.onCommand(commandHandler(commandReply, commandDelay));
            }
            TetherClient c = b.build();
            clients.add(c);
            Sender sender = new Sender(run, c, messages, window > 0 ? window : messages);
            c.connect().whenComplete((v, e) -> {
                inFlight.release();
                if (e == null) {
                    run.handshake();
                    // From the session on: an ack latency is the DATA's round trip, not the
                    // connect and handshake before it.
                    if (pacer != null) {
                        sender.startPaced(pacer, interval);
                    } else {
                        sender.start();
                    }
                }
            });
        }
        while (System.nanoTime() < end && !(stopWhenAcked && messages > 0 && run.allAcked())) {
            Thread.sleep(Math.min(100, Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime()))));
        }
        run.connectedAtEnd = clients.stream().filter(TetherClient::isConnected).count();
        run.sdkConnectFailures = clients.stream().mapToLong(c -> c.stats().connectFailures()).sum();
        run.stopping = true;
        List<CompletableFuture<Void>> closed = new ArrayList<>(clients.size());
        for (TetherClient c : clients) {
            c.close();
            closed.add(c.closeFuture());
        }
        // Each BYE NORMAL must be written before the event loops go away.
        try {
            CompletableFuture.allOf(closed.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            spec.commandLine().getErr().println("tether sim: some devices did not close within 10 s");
        }
        if (commandReply != null) {
            run.commandStats = clients.stream().map(TetherClient::stats).reduce(ClientStats.ZERO, ClientStats::plus);
        }
        if (pacer != null) {
            pacer.shutdownNow();
        }
    }

    private void runRaw(Run run) throws Exception {
        CountDownLatch finished = new CountDownLatch(devices);
        Semaphore inFlight = new Semaphore(concurrency);
        long end = System.nanoTime() + duration.toNanos();
        for (int i = 0; i < devices; i++) {
            if (!inFlight.tryAcquire(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                break;
            }
            RawSimDevice d = new RawSimDevice(run, idPrefix + (idOffset + i), source(i));
            connectLoop(run, d, inFlight, finished);
        }
        long left = end - System.nanoTime();
        if (behaviour == Behaviour.fin || behaviour == Behaviour.rst) {
            finished.await(Math.max(0, left), TimeUnit.NANOSECONDS);
        } else {
            TimeUnit.NANOSECONDS.sleep(Math.max(0, left));
        }
        run.connectedAtEnd = run.open.get();
        run.stopping = true;
    }

    /** One raw device: connect; on flap, connect again when told, until the run stops. */
    private void connectLoop(Run run, RawSimDevice d, Semaphore inFlight, CountDownLatch finished) {
        boolean[] released = new boolean[1];
        Runnable releaseOnce = () -> {
            if (!released[0]) {
                released[0] = true;
                inFlight.release();
            }
        };
        d.connect(releaseOnce, () -> {
            releaseOnce.run();
            if (behaviour == Behaviour.flap && !run.stopping()) {
                run.group.next().execute(() -> connectLoopAgain(run, d));
            } else {
                finished.countDown();
            }
        });
    }

    private void connectLoopAgain(Run run, RawSimDevice d) {
        d.connect(() -> { }, () -> {
            if (!run.stopping()) {
                connectLoopAgain(run, d);
            }
        });
    }

    /**
     * {@code --target}: {@code HOST:PORT} or {@code [v6]:PORT}, resolved once for the whole run.
     *
     * @throws IllegalArgumentException naming {@code --target}, the value and the expected form
     */
    static InetSocketAddress parseTarget(String t) {
        InetSocketAddress a = HostPort.parse("--target", t);
        if (a.getPort() == 0 || !a.isUnresolved()) {
            throw new IllegalArgumentException("--target '" + t + "': expected HOST:PORT with a host and a port"
                    + " 1 to 65535, e.g. 127.0.0.1:7400 or [::1]:7400");
        }
        return HostPort.resolve("--target", t);
    }

    /** Shared state of one simulation run. Thread-safe. */
    static final class Run {
        final Behaviour behaviour;
        final InetSocketAddress target;
        final Duration heartbeat;
        final Duration silentAfter;
        final Duration flapInterval;
        final long messages;
        final byte[] payload;
        /** TLS of the SDK's devices (normal, late), or null for plaintext or raw devices. */
        final ClientTls clientTls;
        /** TLS of the raw devices (the same trust), or null for plaintext or SDK devices. */
        final SslContext rawTls;
        /** Key of the --id-prefix group when authenticating, else null. */
        final byte[] groupKey;
        final Transport transport = Transport.best();
        /** Threads of the SDK's devices, or null when the devices are raw. */
        final ClientGroup clients;
        /** Event loops of the raw devices (silent, fin, rst, flap), or null for SDK devices. */
        final EventLoopGroup group;
        final int devices;
        private final long startNanos = System.nanoTime();
        final long silentAtNanos;
        private final LongAdder handshakes = new LongAdder();
        private final LongAdder sent = new LongAdder();
        private final LongAdder acked = new LongAdder();
        private final LongAdder flaps = new LongAdder();
        private final Map<String, LongAdder> closes = new ConcurrentHashMap<>();
        private final Map<String, LongAdder> connectFailures = new ConcurrentHashMap<>();
        /** Lateness of each detected death, ms; negative when the BYE came before the device's own estimate. */
        private final List<Double> detection = java.util.Collections.synchronizedList(new ArrayList<>());
        private final Map<String, LongAdder> refusals = new ConcurrentHashMap<>();
        volatile long sdkConnectFailures;
        private final Recorder ackLatency = new Recorder(3);
        private final AtomicLong firstAckNanos = new AtomicLong();
        private final AtomicLong lastAckNanos = new AtomicLong();
        private final LongAdder sendFailures = new LongAdder();
        private final LongAdder detections = new LongAdder();
        final AtomicLong open = new AtomicLong();
        volatile boolean stopping;
        long connectedAtEnd;
        /** The SDK devices' counters at the end, when they took commands; else null. */
        volatile ClientStats commandStats;

        Run(SimCommand c, InetSocketAddress target) {
            this.behaviour = c.behaviour;
            this.target = target;
            this.heartbeat = c.heartbeat;
            this.silentAfter = c.silentAfter;
            this.flapInterval = c.flapInterval;
            this.silentAtNanos = c.silentAfter == null ? Long.MAX_VALUE : startNanos + c.silentAfter.toNanos();
            this.messages = c.messages;
            this.payload = new byte[c.payloadSize];
            byte[] pattern = "tether-sim ".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < payload.length; i++) {
                payload[i] = pattern[i % pattern.length];
            }
            this.devices = c.devices;
            boolean sdk = c.behaviour == Behaviour.normal || c.behaviour == Behaviour.late;
            this.clientTls = c.tlsCa == null || !sdk ? null : ClientTls.trusting(c.tlsCa);
            this.rawTls = c.tlsCa == null || sdk ? null : Tls.clientContext(c.tlsCa);
            String secret = c.secret != null ? c.secret : c.secretEnv != null ? System.getenv(c.secretEnv) : null;
            this.groupKey = secret == null || secret.isEmpty() ? null : DeviceToken.groupKey(c.idPrefix, secret);
            this.clients = sdk ? ClientGroup.create(c.threads > 0 ? c.threads : Runtime.getRuntime().availableProcessors(), "tether-sim") : null;
            this.group = sdk ? null : transport.newGroup(c.threads, "tether-sim");
        }

        boolean stopping() {
            return stopping;
        }

        byte[] keyOf(String deviceId) {
            return DeviceToken.memberKey(groupKey, deviceId);
        }

        /** The HELLO credential for one connection: a fresh token, or nothing without a secret. */
        byte[] credential(String deviceId) {
            return groupKey == null ? new byte[0]
                    : DeviceToken.create(keyOf(deviceId), deviceId, System.currentTimeMillis() + 120_000);
        }

        void handshake() {
            handshakes.increment();
            open.incrementAndGet();
        }

        void sent(long n) {
            sent.add(n);
        }

        void acked(long n) {
            acked.add(n);
        }

        /** One SDK message acknowledged, {@code nanos} after send(). */
        void ackedAfter(long nanos) {
            long now = System.nanoTime();
            firstAckNanos.compareAndSet(0, now);
            lastAckNanos.accumulateAndGet(now, Math::max);
            acked.increment();
            ackLatency.recordValue(Math.max(1, nanos / 1000));
        }

        void sendFailed() {
            sendFailures.increment();
        }

        boolean allAcked() {
            return acked.sum() >= messages * devices;
        }

        void flapped() {
            flaps.increment();
        }

        /** A connection that had completed its handshake ended; counted by reason unless we ended it. */
        void closed(Reason reason, boolean byUs) {
            open.decrementAndGet();
            if (!byUs) {
                countClose(reason);
            }
        }

        /** A close the devices saw and did not cause, by reason; our own closes at the end are not counted. */
        void countClose(Reason reason) {
            if (!stopping) {
                closes.computeIfAbsent(reason.name(), k -> new LongAdder()).increment();
            }
        }

        void connectFailed(IoFailure f) {
            String key = f.errno() != null ? f.errnoName() : f.reason().name();
            connectFailures.computeIfAbsent(key, k -> new LongAdder()).increment();
        }

        void detected(double lateMillis) {
            detections.increment();
            detection.add(lateMillis);
        }

        /** The server sent BYE (before or after a WELCOME). */
        void refused(Reason reason) {
            if (!stopping) {
                refusals.computeIfAbsent(reason.name(), k -> new LongAdder()).increment();
            }
        }

        /** Why no device got a session, for stderr; null when at least one did. */
        String whyNothingWorked() {
            if (handshakes.sum() > 0) {
                return null;
            }
            Map<String, Long> byes = new java.util.TreeMap<>();
            refusals.forEach((k, v) -> byes.put(k, v.sum()));
            closes.forEach((k, v) -> byes.merge(k, v.sum(), Math::max));
            Map<String, Long> failures = new java.util.TreeMap<>();
            connectFailures.forEach((k, v) -> failures.put(k, v.sum()));
            if (!byes.isEmpty() && failures.isEmpty()) {
                return "every HELLO was refused " + byes + (byes.containsKey("AUTH_FAILED")
                        ? " (check --secret and --id-prefix against the server's credentials file)" : "");
            }
            if (!failures.isEmpty()) {
                return "connecting failed " + failures + (failures.containsKey("ECONNREFUSED")
                        ? " (is a server listening there?)" : "");
            }
            if (sdkConnectFailures > 0) {
                return sdkConnectFailures + " connection attempts failed before TCP connected (is a server listening "
                        + "there, and reachable?)" + (byes.isEmpty() ? "" : "; closes " + byes);
            }
            return byes.isEmpty() ? "no connection got an answer within --duration (is a server listening there, and "
                    + "reachable? a longer --duration waits longer)"
                    : "connections closed before a WELCOME " + byes;
        }

        void stop() {
            stopping = true;
            if (clients != null) {
                clients.close(Duration.ofSeconds(5));
            }
            if (group != null) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }

        /** The nearest-rank percentile of sorted {@code values}. */
        static double percentile(double[] values, double p) {
            int rank = (int) Math.ceil(p / 100 * values.length);
            return values[Math.max(0, Math.min(values.length - 1, rank - 1))];
        }

        private static double round3(double v) {
            return Math.round(v * 1000) / 1000.0;
        }

        String summary() throws IOException {
            StringWriter w = new StringWriter();
            try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
                g.writeStartObject();
                g.writeStringField("behaviour", behaviour.name());
                g.writeNumberField("devices", devices);
                g.writeNumberField("connected", Math.min(devices, handshakes.sum()));
                g.writeNumberField("handshakes", handshakes.sum());
                g.writeNumberField("connectedAtEnd", connectedAtEnd);
                g.writeNumberField("messagesSent", sent.sum());
                g.writeNumberField("messagesAcked", acked.sum());
                if (behaviour == Behaviour.flap) {
                    g.writeNumberField("flaps", flaps.sum());
                }
                ClientStats cs = commandStats;
                if (cs != null) {
                    g.writeNumberField("commandsReceived", cs.commandsReceived());
                    g.writeNumberField("commandsProcessed", cs.commandsProcessed());
                    g.writeNumberField("commandsDuplicate", cs.commandsDuplicate());
                    g.writeNumberField("resultsAcked", cs.resultsAcked());
                }
                g.writeObjectFieldStart("closes");
                for (Map.Entry<String, LongAdder> e : new java.util.TreeMap<>(closes).entrySet()) {
                    g.writeNumberField(e.getKey(), e.getValue().sum());
                }
                g.writeEndObject();
                if (!connectFailures.isEmpty()) {
                    g.writeObjectFieldStart("connectFailures");
                    for (Map.Entry<String, LongAdder> e : new java.util.TreeMap<>(connectFailures).entrySet()) {
                        g.writeNumberField(e.getKey(), e.getValue().sum());
                    }
                    g.writeEndObject();
                }
                if (sendFailures.sum() > 0) {
                    g.writeNumberField("sendFailures", sendFailures.sum());
                }
                Histogram lat = ackLatency.getIntervalHistogram();
                if (lat.getTotalCount() > 0) {
                    long spanNanos = lastAckNanos.get() - firstAckNanos.get();
                    g.writeNumberField("ackedPerSecond",
                            spanNanos > 0 ? Math.round(lat.getTotalCount() * 1e9 / spanNanos) : 0);
                    g.writeObjectFieldStart("ackLatencyMs");
                    g.writeNumberField("p50", lat.getValueAtPercentile(50) / 1000.0);
                    g.writeNumberField("p99", lat.getValueAtPercentile(99) / 1000.0);
                    g.writeNumberField("max", lat.getMaxValue() / 1000.0);
                    g.writeEndObject();
                }
                if (detections.sum() > 0) {
                    double[] late;
                    synchronized (detection) {
                        late = detection.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                    }
                    g.writeObjectFieldStart("detectionLateMs");
                    g.writeNumberField("count", late.length);
                    g.writeNumberField("min", round3(late[0]));
                    g.writeNumberField("p50", round3(percentile(late, 50)));
                    g.writeNumberField("p99", round3(percentile(late, 99)));
                    g.writeNumberField("max", round3(late[late.length - 1]));
                    g.writeEndObject();
                }
                g.writeNumberField("elapsedMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
                g.writeEndObject();
            }
            return w.toString();
        }
    }
}
