package io.tether.server.internal.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tether.protocol.Reason;
import io.tether.server.ServerConfig;
import io.tether.server.SessionClosed;
import io.tether.server.SessionListener;
import io.tether.server.SessionOpened;
import io.netty.channel.Channel;
import io.tether.server.internal.admission.Admission;
import io.tether.server.internal.commands.CommandLedger;
import io.tether.server.internal.commands.MemoryCommandJournal;
import io.tether.server.internal.admission.OpenFilesLimit;
import io.tether.server.internal.limits.DeviceThrottle;
import io.tether.server.Authenticator;
import io.tether.server.MessageStore;
import io.tether.server.SessionRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.List;

/**
 * What every connection of one server shares: configuration, registry, store, listeners and
 * meters. Immutable after construction and thread-safe.
 */
public final class ServerContext {
    private static final Logger log = LoggerFactory.getLogger(ServerContext.class);

    public final ServerConfig config;
    public final SessionRegistry registry;
    public final Authenticator authenticator;
    public final Admission admission;
    /** This process's open-files limit when the server was built; {@link Long#MAX_VALUE} if unlimited or unknown. */
    public final long openFilesLimit;
    /** Per-device rate limits and write-stall close. */
    public final DeviceThrottle throttle;
    public final MessageStore store;
    /** Durable commands to devices by id; connections of protocol version 2 attach to it. */
    public final CommandLedger commands;
    public final Clock clock;
    public final long handshakeTimeoutNanos;
    public final long drainNanos;
    private final List<SessionListener> listeners;
    private final Counter opened;
    private final Counter gaps;
    private final Counter takeovers;
    /** Closes without an errno, by reason: the common case, no map lookup. */
    private final Counter[] closedByReason;
    /** Closes with an errno, by reason and errno name; errno names are a small fixed set. */
    private final ConcurrentHashMap<String, Counter> closedByErrno = new ConcurrentHashMap<>();
    private final MeterRegistry meters;
    /** Detection lateness of deadline closes, by reason; null for reasons without a deadline. */
    private final Timer[] lateness;
    private final Counter[] authFailures;
    private final Counter[] refused;
    private final Counter internalErrors;
    /** Admitted connections in HANDSHAKE or WELCOMING; see {@link ConnectionState#enter}. */
    private final java.util.concurrent.atomic.AtomicInteger handshaking = new java.util.concurrent.atomic.AtomicInteger();

    public ServerContext(ServerConfig config, SessionRegistry registry, MessageStore store, Clock clock,
                         List<SessionListener> listeners, MeterRegistry meters) {
        this(config, registry, store, Authenticator.allowAll(), clock, listeners, meters);
    }

    public ServerContext(ServerConfig config, SessionRegistry registry, MessageStore store, Authenticator authenticator,
                         Clock clock, List<SessionListener> listeners, MeterRegistry meters) {
        this(config, registry, store, authenticator, clock, listeners, meters,
                new CommandLedger(new MemoryCommandJournal(), config.commandLimits(), config.maxFrameLength() - 10,
                        clock, store::health, listeners, meters));
    }

    public ServerContext(ServerConfig config, SessionRegistry registry, MessageStore store, Authenticator authenticator,
                         Clock clock, List<SessionListener> listeners, MeterRegistry meters, CommandLedger commands) {
        this.config = config;
        this.commands = commands;
        this.registry = registry;
        this.authenticator = authenticator;
        this.openFilesLimit = OpenFilesLimit.soft();
        this.admission = new Admission(config.maxConnections(), config.admission().connectionCap(openFilesLimit),
                config.connectRate(), config.connectBurst(),
                config.flapMaxConnects(), config.flapWindow().toNanos(), config.flapBan().toNanos(), TimeUnit.NANOSECONDS);
        this.throttle = new DeviceThrottle(config.deviceLimits(), Counter.builder("tether.devices.throttled")
                .description("times a device's socket stopped being read because it sent above its rate").register(meters));
        this.store = store;
        this.clock = clock;
        this.listeners = List.copyOf(listeners);
        this.handshakeTimeoutNanos = config.handshakeTimeout().toNanos();
        this.drainNanos = config.drain().toNanos();
        this.meters = meters;
        this.opened = Counter.builder("tether.sessions.opened").description("handshakes completed").register(meters);
        this.takeovers = Counter.builder("tether.sessions.takeovers")
                .description("sessions that displaced a live session of the same device").register(meters);
        this.gaps = Counter.builder("tether.sequence.gaps").description("DATA that skipped seq numbers").register(meters);
        Reason[] reasons = Reason.values();
        this.closedByReason = new Counter[reasons.length];
        this.lateness = new Timer[reasons.length];
        for (Reason r : reasons) {
            // Every series of a name carries the same tag keys (Prometheus requires it): errno
            // "none" when no I/O error caused the close.
            closedByReason[r.ordinal()] = closedCounter(r, "none");
        }
        for (Reason r : new Reason[] {Reason.HEARTBEAT_TIMEOUT, Reason.HANDSHAKE_TIMEOUT}) {
            // Fixed buckets, not percentiles: Prometheus aggregates buckets across scrapes and
            // servers; lateness is a few ms when all is well and grows with event-loop stalls.
            lateness[r.ordinal()] = Timer.builder("tether.detection.lateness")
                    .description("time from a missed deadline to its detection, by reason")
                    .tag("reason", r.name())
                    .serviceLevelObjectives(LATENESS_BUCKETS)
                    .register(meters);
        }
        meters.gauge("tether.sessions.live", registry, SessionRegistry::size);
        meters.gauge("tether.store.healthy", store, s -> s.health().isHealthy() ? 1 : 0);
        FunctionCounter.builder("tether.store.failures", store, s -> s.health().failures())
                .description("times the message store entered the failed state (disk full, no descriptors)")
                .register(meters);
        this.internalErrors = Counter.builder("tether.internal.errors")
                .description("exceptions that were neither I/O nor protocol errors: bugs").register(meters);
        Admission.Refusal[] refusals = Admission.Refusal.values();
        this.refused = new Counter[refusals.length];
        for (Admission.Refusal r : refusals) {
            if (r == Admission.Refusal.NONE) {
                continue;   // not a refusal: no counter that is always 0
            }
            refused[r.ordinal()] = Counter.builder("tether.connections.refused")
                    .description("connections refused at accept, by cause").tag("cause", r.name()).register(meters);
        }
        Authenticator.Verdict[] verdicts = Authenticator.Verdict.values();
        this.authFailures = new Counter[verdicts.length];
        for (Authenticator.Verdict v : verdicts) {
            if (v == Authenticator.Verdict.OK) {
                continue;   // not a failure
            }
            authFailures[v.ordinal()] = Counter.builder("tether.auth.failures")
                    .description("HELLOs refused, by cause").tag("cause", v.name()).register(meters);
        }
    }

    private static final Duration[] LATENESS_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};

    private Counter closedCounter(Reason r, String errno) {
        return Counter.builder("tether.connections.closed")
                .description("connections closed, by reason and errno (none when no I/O error caused it)")
                .tag("reason", r.name()).tag("errno", errno).register(meters);
    }

    public ServerConfig config() {
        return config;
    }

    public SessionRegistry registry() {
        return registry;
    }

    public MessageStore store() {
        return store;
    }

    public void fireOpen(SessionOpened event) {
        opened.increment();
        if (event.tookOver()) {
            takeovers.increment();
        }
        for (SessionListener l : listeners) {
            try {
                l.onOpen(event);
            } catch (RuntimeException e) {
                log.warn("session listener {} failed on open", l, e);
            }
        }
    }

    public void fireClose(SessionClosed event) {
        Reason reason = event.reason();
        if (event.errnoName() == null) {
            closedByReason[reason.ordinal()].increment();
        } else {
            closedByErrno.computeIfAbsent(reason.name() + ' ' + event.errnoName(),
                    k -> closedCounter(reason, event.errnoName())).increment();
        }
        Timer late = lateness[reason.ordinal()];
        if (late != null && event.lateMillis() >= 0) {
            late.record((long) (event.lateMillis() * 1e6), TimeUnit.NANOSECONDS);
        }
        for (SessionListener l : listeners) {
            try {
                l.onClose(event);
            } catch (RuntimeException e) {
                log.warn("session listener {} failed on close", l, e);
            }
        }
    }

    /**
     * Admission at accept time. An admitted connection holds a slot until it closes: its
     * connection gives it back in channelInactive.
     *
     * @return why the connection is refused, or NONE
     */
    public Admission.Refusal admit(Channel ch) {
        SocketAddress a = ch.remoteAddress();
        Admission.Refusal r = admission.admit(a instanceof InetSocketAddress isa ? isa.getAddress() : null,
                ch.eventLoop().ticker().nanoTime());
        if (r != Admission.Refusal.NONE) {
            refused[r.ordinal()].increment();
        }
        return r;
    }

    /** An admitted connection became active: it is handshaking until {@link #handshakeEnded}. */
    public void handshakeStarted() {
        handshaking.incrementAndGet();
    }

    /** A connection left the handshake: a session, or closing. */
    public void handshakeEnded() {
        handshaking.decrementAndGet();
    }

    /** Admitted connections that are not yet sessions. */
    public int handshaking() {
        return handshaking.get();
    }

    /** Open connections that were admitted. */
    public int admittedConnections() {
        return admission.open();
    }

    public void internalError(Throwable t) {
        internalErrors.increment();
        log.error("internal error; closing the connection it happened on", t);
    }

    /** An authenticator, registry or store answered a handshake with an error (not a refusal). */
    public void handshakeDependencyFailed(String what, Throwable t) {
        log.warn("{} failed during a handshake; the device is told to come back later", what, t);
    }

    public void authFailed(Authenticator.Verdict verdict) {
        if (verdict != Authenticator.Verdict.OK) {
            authFailures[verdict.ordinal()].increment();
        }
    }

    public void fireGap(String deviceId, long sessionId, long seq) {
        gaps.increment();
        for (SessionListener l : listeners) {
            try {
                l.onSequenceGap(deviceId, sessionId, seq);
            } catch (RuntimeException e) {
                log.warn("session listener {} failed on gap", l, e);
            }
        }
    }
}
