package io.tether.server.internal.commands;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tether.protocol.Frame;
import io.tether.server.Command;
import io.tether.server.CommandException;
import io.tether.server.CommandLimits;
import io.tether.server.CommandRequest;
import io.tether.server.CommandState;
import io.tether.server.Commands;
import io.tether.server.SessionListener;
import io.tether.server.StoreHealth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The command ledger ({@link Commands}): per device, an ordered queue of durable commands, and
 * the state machine of docs/API.md and docs/PROTOCOL.md (commands, version 2).
 *
 * <p><b>One thread.</b> Every change of state happens on the ledger's own thread, in the order the
 * events arrived: API calls, connections attaching and detaching, acknowledgements, results,
 * expiry. So the state machine needs no locks and the event loops never wait: they hand an event
 * over and go on. Durable writes go through the {@link CommandJournal}'s group commit.
 *
 * <p><b>What is in memory.</b> The open commands (QUEUED and SENT) of every device, its highest
 * seq, and the connection it is attached to. Everything else is read from the journal, whose
 * reads see every write offered before them.
 *
 * <p><b>Rules that keep the ledger honest.</b>
 * <ul>
 * <li>A command is sent only once its QUEUED record is durable, in seq order: a command a device
 *     processed can never be lost by a crash, and its seq never reused.</li>
 * <li>DELIVERED only for a command sent on the device's current connection and covered by its
 *     cumulative COMMAND_ACK; acknowledgements from an older connection are ignored (the device
 *     acknowledges again on the new one).</li>
 * <li>A new connection (reconnect, takeover, restart) puts every SENT command back to QUEUED and
 *     sends again from the lowest: the device deduplicates by seq.</li>
 * <li>RESULT_ACK only after the result is durable; CANCELED and the 202 of a submit likewise.</li>
 * </ul>
 */
public final class CommandLedger implements Commands, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CommandLedger.class);
    /** Bytes of command payload in flight to one device, beyond the first command. */
    static final long MAX_IN_FLIGHT_BYTES = 64 * 1024;
    private static final Set<CommandState> OPEN_STATES = EnumSet.of(CommandState.QUEUED, CommandState.SENT);
    private static final long SWEEP_MILLIS = 200;

    /** A device connection that takes commands: the server's connection implements it. */
    public interface Channel {
        /**
         * Writes these commands, in order, and flushes, if the session with this epoch is still
         * open; else drops them (its detach follows). Called on the ledger thread: must not block.
         */
        void sendCommands(long epoch, List<Frame.Command> commands);
    }

    private final CommandJournal journal;
    private final CommandLimits limits;
    private final int maxPayload;
    private final Clock clock;
    private final Supplier<StoreHealth> health;
    private final List<SessionListener> listeners;
    /**
     * The ledger's thread: a plain FIFO queue, not a scheduled executor, whose heap costs a sift up
     * and down and a task wrapper per event (four events per command). Timed work (the expiry
     * sweep, ?wait timeouts) comes from {@link #timer}, which only hands it over.
     */
    private final ThreadPoolExecutor thread;
    private final ScheduledThreadPoolExecutor timer;
    private final Ulid ulid = new Ulid();
    /** Read by {@link #open} from any thread; the values' fields only on the ledger thread (except openCount). */
    private final Map<String, Device> devices = new ConcurrentHashMap<>();
    private final Map<String, Entry> openById = new HashMap<>();
    /** Open commands by expiry time; an entry leaves when its command leaves the open set. */
    private final TreeSet<Entry> expiries = new TreeSet<>(
            Comparator.comparingLong((Entry e) -> e.expiresAt).thenComparing(e -> e.id));
    private final Map<String, List<Waiter>> waiters = new HashMap<>();
    private final Counter[] transitions;
    private final AtomicLong openTotal = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param maxPayload largest command payload: the maximum frame length − 10
     */
    public CommandLedger(CommandJournal journal, CommandLimits limits, int maxPayload, Clock clock,
                         Supplier<StoreHealth> health, List<SessionListener> listeners, MeterRegistry meters) {
        this.journal = journal;
        this.limits = limits;
        this.maxPayload = maxPayload;
        this.clock = clock;
        this.health = health;
        this.listeners = List.copyOf(listeners);
        this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "tether-commands");
            t.setDaemon(true);
            return t;
        });
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tether-commands-timer");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        CommandState[] states = CommandState.values();
        this.transitions = new Counter[states.length];
        for (CommandState s : states) {
            transitions[s.ordinal()] = Counter.builder("tether.commands").tag("state", s.name())
                    .description("commands that entered this state").register(meters);
        }
        Gauge.builder("tether.commands.open", openTotal, AtomicLong::get)
                .description("commands QUEUED or SENT").register(meters);
    }

    /** Reads the journal (every open command back to QUEUED) and starts the expiry sweep. Blocks: call it at start. */
    public CommandLedger start() throws IOException {
        List<Command> toExpire = new ArrayList<>();
        long now = clock.millis();
        try {
            thread.submit(() -> {
                journal.load(c -> {
                    Device d = device(c.deviceId());
                    d.lastSeq = Math.max(d.lastSeq, c.seq());
                    if (OPEN_STATES.contains(c.state())) {
                        if (now >= c.expiresAtMillis()) {
                            toExpire.add(c);
                        } else {
                            Command queued = c.state() == CommandState.QUEUED ? c
                                    : c.with(CommandState.QUEUED, c.sentAtMillis(), 0, 0, c.attempts(), null, "");
                            Entry e = new Entry(queued);
                            e.durable = true;
                            add(d, e);
                        }
                    }
                });
                for (Command c : toExpire) {
                    Command expired = expiredOf(c, now);
                    journal.write(expired, false, err -> logWriteError(expired, err));
                    fire(expired);
                }
                return null;
            }).get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException("cannot read the command ledger: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading the command ledger", e);
        }
        timer.scheduleWithFixedDelay(() -> execute(this::sweep), SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    // ---- Commands ------------------------------------------------------------------------------

    @Override
    public CompletionStage<Submitted> submit(CommandRequest request) {
        CompletableFuture<Submitted> f = new CompletableFuture<>();
        run(f, () -> submitNow(request, f));
        return f;
    }

    @Override
    public CompletionStage<Optional<Command>> get(String id) {
        CompletableFuture<Optional<Command>> f = new CompletableFuture<>();
        run(f, () -> f.complete(Optional.ofNullable(lookup(id))));
        return f;
    }

    @Override
    public CompletionStage<Command> await(String id, Duration wait) {
        CompletableFuture<Command> f = new CompletableFuture<>();
        run(f, () -> {
            Command c = lookup(id);
            if (c == null) {
                f.completeExceptionally(notFound(id));
            } else if (c.state().isFinal() || wait.isZero() || wait.isNegative()) {
                f.complete(c);
            } else {
                Waiter w = new Waiter(f);
                waiters.computeIfAbsent(id, k -> new ArrayList<>()).add(w);
                w.timeout = timer.schedule(() -> execute(() -> {
                    List<Waiter> ws = waiters.get(id);
                    if (ws != null && ws.remove(w)) {
                        if (ws.isEmpty()) {
                            waiters.remove(id);
                        }
                        try {
                            f.complete(lookup(id));
                        } catch (IOException | RuntimeException e) {
                            f.completeExceptionally(e);
                        }
                    }
                }), wait.toMillis(), TimeUnit.MILLISECONDS);
            }
        });
        return f;
    }

    @Override
    public CompletionStage<List<Command>> list(String deviceId, Set<CommandState> states, int limit) {
        CompletableFuture<List<Command>> f = new CompletableFuture<>();
        if (limit < 1 || limit > 1_000) {
            f.completeExceptionally(new CommandException(CommandException.Kind.INVALID,
                    "limit " + limit + " (expected: 1 to 1000)"));
            return f;
        }
        run(f, () -> f.complete(listNow(deviceId, states, limit)));
        return f;
    }

    @Override
    public CompletionStage<Command> cancel(String id) {
        CompletableFuture<Command> f = new CompletableFuture<>();
        run(f, () -> cancelNow(id, f));
        return f;
    }

    @Override
    public int open(String deviceId) {
        Device d = devices.get(deviceId);
        return d == null ? 0 : d.openCount;
    }

    // ---- connections (any thread) ----------------------------------------------------------------

    /** A session that takes commands opened (after its WELCOME): send it what is queued. */
    public void attach(String deviceId, long epoch, Channel channel) {
        execute(() -> {
            Device d = device(deviceId);
            if (epoch < d.epoch) {
                return; // a newer session of the device attached first
            }
            d.channel = channel;
            d.epoch = epoch;
            requeue(d);
            dispatch(d);
        });
    }

    /** A session that takes commands ended: what it was sent and did not acknowledge goes back to the queue. */
    public void detach(String deviceId, long epoch) {
        execute(() -> {
            Device d = devices.get(deviceId);
            if (d != null && d.epoch == epoch && d.channel != null) {
                d.channel = null;
                requeue(d);
            }
        });
    }

    /** COMMAND_ACK {@code seq} arrived on the session {@code epoch}. */
    public void acknowledged(String deviceId, long epoch, long seq) {
        execute(() -> {
            Device d = devices.get(deviceId);
            if (d == null || d.channel == null || d.epoch != epoch) {
                return;
            }
            long upTo = Math.min(seq, d.sentUpTo);
            long now = clock.millis();
            Iterator<Entry> it = d.open.values().iterator();
            while (it.hasNext()) {
                Entry e = it.next();
                if (e.cmd.seq() > upTo) {
                    break;
                }
                if (e.cmd.state() == CommandState.SENT) {
                    it.remove();
                    closeEntry(d, e);
                    Command delivered = e.cmd.with(CommandState.DELIVERED, e.cmd.sentAtMillis(), now, 0,
                            e.cmd.attempts(), null, "");
                    journal.write(delivered, false, err -> logWriteError(delivered, err));
                    fire(delivered);
                }
            }
            dispatch(d);
        });
    }

    /**
     * RESULT for command {@code seq} arrived. {@code stored} runs (on the ledger or journal
     * thread) once the result is durable, or at once if there is nothing to store (an unknown or
     * finished command): the connection then answers RESULT_ACK.
     */
    public void result(String deviceId, long epoch, long seq, boolean succeeded, byte[] payload, Runnable stored) {
        execute(() -> {
            long now = clock.millis();
            CommandState state = succeeded ? CommandState.SUCCEEDED : CommandState.FAILED;
            Device d = devices.get(deviceId);
            Entry e = d == null ? null : d.open.get(seq);
            Command current;
            if (e != null) {
                d.open.remove(seq);
                closeEntry(d, e);
                current = e.cmd;
            } else {
                try {
                    current = journal.read(deviceId, seq);
                } catch (IOException | RuntimeException ex) {
                    log.warn("cannot read command {} seq {} for its result; the device will resend it: {}", deviceId, seq, ex.toString());
                    return;
                }
                if (current == null || current.state() != CommandState.DELIVERED) {
                    stored.run(); // unknown, or finished already: nothing to store, stop the resends
                    return;
                }
            }
            Command done = current.with(state, current.sentAtMillis(),
                    current.deliveredAtMillis() == 0 ? now : current.deliveredAtMillis(), now, current.attempts(),
                    payload, "");
            journal.write(done, false, err -> {
                if (err == null) {
                    stored.run();
                } else {
                    logWriteError(done, err);
                }
            });
            fire(done);
            if (d != null) {
                dispatch(d);
            }
        });
    }

    // ---- on the ledger thread --------------------------------------------------------------------

    private void submitNow(CommandRequest r, CompletableFuture<Submitted> f) throws IOException {
        if (r.payload().length > maxPayload) {
            throw new CommandException(CommandException.Kind.INVALID, "payload of " + r.payload().length
                    + " bytes exceeds the limit of " + maxPayload + " bytes (max frame " + (maxPayload + 10) + " - 10)");
        }
        Duration ttl = r.ttl() == null ? limits.defaultTtl() : r.ttl();
        if (ttl.compareTo(limits.maxTtl()) > 0) {
            throw new CommandException(CommandException.Kind.INVALID, "ttl " + ttl + " exceeds the maximum "
                    + limits.maxTtl() + " (--max-command-ttl)");
        }
        Device d = device(r.deviceId());
        if (r.idempotencyKey() != null) {
            Entry same = d.keys == null ? null : d.keys.get(r.idempotencyKey());
            if (same != null) {
                if (same.durable) {
                    f.complete(new Submitted(same.cmd, false));
                } else {
                    same.whenDurable(f, false);
                }
                return;
            }
            Command stored = journal.byKey(r.deviceId(), r.idempotencyKey());
            if (stored != null) {
                f.complete(new Submitted(stored, false));
                return;
            }
        }
        StoreHealth h = health.get();
        if (!h.isHealthy()) {
            throw new CommandException(CommandException.Kind.UNAVAILABLE,
                    "store unavailable (" + h.resource() + "): " + h.cause());
        }
        if (d.openCount >= limits.maxOpenPerDevice()) {
            throw new CommandException(CommandException.Kind.QUEUE_FULL, "device " + r.deviceId() + " has "
                    + d.openCount + " open commands, the limit (--max-commands-per-device)");
        }
        long now = clock.millis();
        Command c = new Command(ulid.next(now), r.deviceId(), d.lastSeq + 1, r.payload(), r.idempotencyKey(),
                CommandState.QUEUED, now, now + ttl.toMillis(), 0, 0, 0, 0, null, "");
        d.lastSeq = c.seq();
        Entry e = new Entry(c);
        add(d, e);
        e.whenDurable(f, true);
        journal.write(c, true, err -> execute(() -> written(d, e, err)));
    }

    private void written(Device d, Entry e, Throwable err) {
        if (err != null) {
            // Not durable, so not accepted: forget it (its seq stays unused, a gap the device skips).
            if (d.open.remove(e.cmd.seq(), e)) {
                closeEntry(d, e);
            }
            CommandException refused = new CommandException(CommandException.Kind.UNAVAILABLE,
                    "the store could not write the command: " + err.getMessage(), err);
            for (PendingSubmit p : e.pending) {
                p.future.completeExceptionally(refused);
            }
            e.pending.clear();
            return;
        }
        e.durable = true;
        fire(e.cmd.state() == CommandState.QUEUED ? e.cmd : null);
        for (PendingSubmit p : e.pending) {
            p.future.complete(new Submitted(e.cmd, p.created));
        }
        e.pending.clear();
        dispatch(d);
    }

    private void cancelNow(String id, CompletableFuture<Command> f) throws IOException {
        Entry e = openById.get(id);
        if (e == null) {
            Command c = journal.read(id);
            if (c == null) {
                throw notFound(id);
            }
            throw new CommandException(CommandException.Kind.CONFLICT, "command " + id + " is " + c.state()
                    + ": only a QUEUED command can be canceled");
        }
        if (e.cmd.state() != CommandState.QUEUED) {
            throw new CommandException(CommandException.Kind.CONFLICT, "command " + id
                    + " was sent to the device and may be processing; only a QUEUED command can be canceled");
        }
        Device d = devices.get(e.cmd.deviceId());
        d.open.remove(e.cmd.seq());
        closeEntry(d, e);
        long now = clock.millis();
        Command canceled = e.cmd.with(CommandState.CANCELED, 0, 0, now, e.cmd.attempts(), null, "canceled through the API");
        journal.write(canceled, false, err -> {
            if (err == null) {
                f.complete(canceled);
            } else {
                f.completeExceptionally(new CommandException(CommandException.Kind.UNAVAILABLE,
                        "canceled, but the store could not record it (it may be QUEUED again after a restart): "
                                + err.getMessage(), err));
            }
        });
        fire(canceled);
        dispatch(d);
    }

    private List<Command> listNow(String deviceId, Set<CommandState> states, int limit) throws IOException {
        EnumSet<CommandState> journalStates = states.isEmpty() ? EnumSet.allOf(CommandState.class) : EnumSet.copyOf(states);
        journalStates.removeAll(OPEN_STATES); // the journal's view of open commands may be older than memory's
        List<Command> out = new ArrayList<>();
        if (!journalStates.isEmpty()) {
            out.addAll(journal.list(deviceId, journalStates, limit));
        }
        Device d = devices.get(deviceId);
        if (d != null) {
            for (Entry e : d.open.values()) {
                if (states.isEmpty() || states.contains(e.cmd.state())) {
                    out.add(e.cmd);
                }
            }
        }
        out.sort(Comparator.comparingLong(Command::seq));
        return out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out;
    }

    /** Sends what the device's window allows: durable QUEUED commands, in seq order. */
    private void dispatch(Device d) {
        if (d.channel == null || closed) {
            return;
        }
        List<Frame.Command> frames = null;
        List<Entry> expired = null;
        long now = clock.millis();
        for (Entry e : d.open.values()) {
            if (d.inFlight >= limits.maxInFlight() || (d.inFlight > 0 && d.inFlightBytes >= MAX_IN_FLIGHT_BYTES)) {
                break;
            }
            Command c = e.cmd;
            if (c.state() != CommandState.QUEUED) {
                continue; // SENT: in flight
            }
            if (!e.durable) {
                break; // in order: nothing after a command that is not durable yet
            }
            if (now >= c.expiresAtMillis()) {
                (expired == null ? expired = new ArrayList<>() : expired).add(e);
                continue;
            }
            Command sent = c.with(CommandState.SENT, now, 0, 0, c.attempts() + 1, null, "");
            e.cmd = sent;
            d.inFlight++;
            d.inFlightBytes += c.payload().length;
            d.sentUpTo = Math.max(d.sentUpTo, c.seq());
            (frames == null ? frames = new ArrayList<>() : frames).add(new Frame.Command(c.seq(), c.payload()));
            // Written (not waited for) so that sentAt and attempts survive a restart, where the
            // command comes back QUEUED.
            journal.write(sent, false, err -> logWriteError(sent, err));
            fire(sent);
        }
        if (expired != null) {
            for (Entry e : expired) {
                expire(d, e, now);
            }
        }
        if (frames != null) {
            try {
                d.channel.sendCommands(d.epoch, frames);
            } catch (RuntimeException ex) {
                log.warn("cannot hand commands to the connection of {}; they go back to the queue at its close: {}",
                        d.id, ex.toString());
            }
        }
    }

    /** Every SENT command of the device back to QUEUED: its connection changed or ended. */
    private void requeue(Device d) {
        long now = clock.millis();
        List<Entry> expired = null;
        for (Entry e : d.open.values()) {
            if (e.cmd.state() == CommandState.SENT) {
                e.cmd = e.cmd.with(CommandState.QUEUED, e.cmd.sentAtMillis(), 0, 0, e.cmd.attempts(), null,
                        "sent, not acknowledged before the connection ended: queued again");
                if (now >= e.expiresAt) {
                    (expired == null ? expired = new ArrayList<>() : expired).add(e);
                }
            }
        }
        d.inFlight = 0;
        d.inFlightBytes = 0;
        d.sentUpTo = 0;
        if (expired != null) {
            for (Entry e : expired) {
                expire(d, e, now);
            }
        }
    }

    private void sweep() {
        long now = clock.millis();
        List<Entry> due = new ArrayList<>();
        for (Entry e : expiries) {
            if (e.expiresAt > now) {
                break;
            }
            // In flight (SENT) or not yet durable: judged when it comes back to the queue, or
            // when its write completes and dispatch sees it.
            if (e.cmd.state() == CommandState.QUEUED && e.durable) {
                due.add(e);
            }
        }
        for (Entry e : due) {
            expire(devices.get(e.cmd.deviceId()), e, now);
        }
    }

    private void expire(Device d, Entry e, long now) {
        d.open.remove(e.cmd.seq());
        closeEntry(d, e);
        Command expired = expiredOf(e.cmd, now);
        journal.write(expired, false, err -> logWriteError(expired, err));
        fire(expired);
    }

    private static Command expiredOf(Command c, long now) {
        return c.with(CommandState.EXPIRED, c.sentAtMillis(), 0, now, c.attempts(), null,
                "TTL of " + formatMillis(c.expiresAtMillis() - c.createdAtMillis()) + " passed before delivery");
    }

    private static String formatMillis(long ms) {
        return Duration.ofMillis(ms).toString().substring(2).toLowerCase();
    }

    private Command lookup(String id) throws IOException {
        Entry e = openById.get(id);
        return e != null ? e.cmd : journal.read(id);
    }

    private Device device(String deviceId) {
        return devices.computeIfAbsent(deviceId, Device::new);
    }

    private void add(Device d, Entry e) {
        d.open.put(e.cmd.seq(), e);
        openById.put(e.cmd.id(), e);
        if (e.cmd.idempotencyKey() != null) {
            if (d.keys == null) {
                d.keys = new HashMap<>();
            }
            d.keys.put(e.cmd.idempotencyKey(), e);
        }
        d.openCount++;
        openTotal.incrementAndGet();
        expiries.add(e);
    }

    /** The entry left the open set (the caller removed it from {@code d.open}). */
    private void closeEntry(Device d, Entry e) {
        expiries.remove(e);
        openById.remove(e.cmd.id());
        if (e.cmd.idempotencyKey() != null && d.keys != null) {
            d.keys.remove(e.cmd.idempotencyKey(), e);
        }
        d.openCount--;
        openTotal.decrementAndGet();
        if (e.cmd.state() == CommandState.SENT) {
            d.inFlight--;
            d.inFlightBytes -= e.cmd.payload().length;
        }
    }

    /** Event, counter and waiters for a command's new state. */
    private void fire(Command c) {
        if (c == null) {
            return;
        }
        transitions[c.state().ordinal()].increment();
        for (SessionListener l : listeners) {
            try {
                l.onCommand(c);
            } catch (RuntimeException ex) {
                log.warn("listener {} failed on a command event: {}", l, ex.toString());
            }
        }
        if (c.state().isFinal()) {
            List<Waiter> ws = waiters.remove(c.id());
            if (ws != null) {
                for (Waiter w : ws) {
                    w.timeout.cancel(false);
                    w.future.complete(c);
                }
            }
        }
    }

    private static void logWriteError(Command c, Throwable err) {
        if (err != null) {
            log.warn("cannot record command {} as {}: {}", c.id(), c.state(), err.toString());
        }
    }

    private static CommandException notFound(String id) {
        return new CommandException(CommandException.Kind.NOT_FOUND, "no command with id " + id);
    }

    private interface Step {
        void run() throws Exception;
    }

    /** Runs {@code step} on the ledger thread; what it throws completes {@code f}. */
    private void run(CompletableFuture<?> f, Step step) {
        try {
            thread.execute(() -> {
                try {
                    step.run();
                } catch (CommandException e) {
                    f.completeExceptionally(e);
                } catch (IOException e) {
                    f.completeExceptionally(new CommandException(CommandException.Kind.UNAVAILABLE,
                            "the store cannot be read: " + e.getMessage(), e));
                } catch (Exception e) {
                    log.error("command ledger failed", e);
                    f.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new CommandException(CommandException.Kind.UNAVAILABLE, "the server is shutting down"));
        }
    }

    private void execute(Runnable r) {
        try {
            thread.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    log.error("command ledger failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            // shutting down: the connections are closing too, and what is open stays in the journal
        }
    }

    /** Stops taking events; writes already offered to the journal are the journal's to finish. */
    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        thread.shutdown();
        try {
            if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("command ledger thread did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What the ledger holds per device. Ledger thread only, except {@link #openCount}. */
    private static final class Device {
        final String id;
        final TreeMap<Long, Entry> open = new TreeMap<>();
        /** Idempotency keys of the open commands. */
        Map<String, Entry> keys;
        long lastSeq;
        volatile int openCount;
        Channel channel;
        long epoch;
        long sentUpTo;
        int inFlight;
        long inFlightBytes;

        Device(String id) {
            this.id = id;
        }
    }

    private static final class Entry {
        final String id;
        final long expiresAt;
        Command cmd;
        boolean durable;
        final List<PendingSubmit> pending = new ArrayList<>(1);

        Entry(Command cmd) {
            this.cmd = cmd;
            this.id = cmd.id();
            this.expiresAt = cmd.expiresAtMillis();
        }

        void whenDurable(CompletableFuture<Submitted> f, boolean created) {
            pending.add(new PendingSubmit(f, created));
        }
    }

    private record PendingSubmit(CompletableFuture<Submitted> future, boolean created) {
    }

    private static final class Waiter {
        final CompletableFuture<Command> future;
        ScheduledFuture<?> timeout;

        Waiter(CompletableFuture<Command> future) {
            this.future = future;
        }
    }

    /** For tests: the devices the ledger knows. */
    Collection<String> deviceIds() {
        return devices.keySet();
    }
}
