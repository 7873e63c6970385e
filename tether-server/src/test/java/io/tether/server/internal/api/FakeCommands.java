package io.tether.server.internal.api;

import io.tether.server.Command;
import io.tether.server.CommandException;
import io.tether.server.CommandRequest;
import io.tether.server.CommandState;
import io.tether.server.Commands;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-memory ledger for the HTTP API's tests: the {@link Commands} contract without a store.
 * Stages complete on a thread of its own, as the real ledger's do. Tests drive commands through
 * their life with {@link #advance}, and switch failures on with the public fields.
 */
final class FakeCommands implements Commands, AutoCloseable {
    private static final String CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    private final ScheduledExecutorService ledgerThread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-ledger");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Command> byId = new ConcurrentHashMap<>();
    private final List<Command> order = new CopyOnWriteArrayList<>();
    private final Map<String, List<CompletableFuture<Command>>> waiters = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong(1);
    private final AtomicLong seqs = new AtomicLong(1);

    volatile int maxOpen = 1_000;
    volatile boolean unavailable;
    /** Thrown by {@link #open} (a bug in the ledger, as the API sees it). */
    volatile RuntimeException openFails;
    /** Stages of {@link #get} that never complete. */
    volatile boolean getHangs;
    /** Delay before {@link #get} completes. */
    volatile long getDelayMillis;
    volatile long nowMillis = 1_764_635_465_123L;  // 2025-12-02T00:31:05.123Z
    final List<CommandRequest> submitted = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<Submitted> submit(CommandRequest r) {
        return on(() -> {
            if (unavailable) {
                throw new CommandException(CommandException.Kind.UNAVAILABLE, "the store cannot write: disk full (data)");
            }
            submitted.add(r);
            if (r.idempotencyKey() != null) {
                for (Command c : order) {
                    if (c.deviceId().equals(r.deviceId()) && r.idempotencyKey().equals(c.idempotencyKey())) {
                        return new Submitted(c, false);
                    }
                }
            }
            if (open(r.deviceId()) >= maxOpen) {
                throw new CommandException(CommandException.Kind.QUEUE_FULL, "device " + r.deviceId() + " already has "
                        + maxOpen + " open commands (max-commands-per-device)");
            }
            long ttl = r.ttl() == null ? 3_600_000 : r.ttl().toMillis();
            if (ttl > Duration.ofDays(7).toMillis()) {
                throw new CommandException(CommandException.Kind.INVALID, "ttl " + r.ttl() + " above max-command-ttl 7d");
            }
            Command c = new Command(ulid(ids.getAndIncrement()), r.deviceId(), seqs.getAndIncrement(), r.payload(),
                    r.idempotencyKey(), CommandState.QUEUED, nowMillis, nowMillis + ttl, 0, 0, 0, 0, null, "");
            byId.put(c.id(), c);
            order.add(c);
            return new Submitted(c, true);
        });
    }

    @Override
    public CompletionStage<Optional<Command>> get(String id) {
        if (getHangs) {
            return new CompletableFuture<>();
        }
        CompletableFuture<Optional<Command>> f = new CompletableFuture<>();
        ledgerThread.schedule(() -> f.complete(Optional.ofNullable(byId.get(id))), getDelayMillis, TimeUnit.MILLISECONDS);
        return f;
    }

    @Override
    public CompletionStage<Command> await(String id, Duration wait) {
        CompletableFuture<Command> f = new CompletableFuture<>();
        ledgerThread.execute(() -> {
            Command c = byId.get(id);
            if (c == null) {
                f.completeExceptionally(new CommandException(CommandException.Kind.NOT_FOUND, "no command " + id));
                return;
            }
            if (c.state().isFinal()) {
                f.complete(c);
                return;
            }
            waiters.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(f);
            ledgerThread.schedule(() -> f.complete(byId.get(id)), wait.toNanos(), TimeUnit.NANOSECONDS);
        });
        return f;
    }

    @Override
    public CompletionStage<List<Command>> list(String deviceId, Set<CommandState> states, int limit) {
        return on(() -> {
            List<Command> out = new ArrayList<>();
            for (Command c : order) {
                Command now = byId.get(c.id());
                if (now.deviceId().equals(deviceId) && (states.isEmpty() || states.contains(now.state())) && out.size() < limit) {
                    out.add(now);
                }
            }
            return out;
        });
    }

    @Override
    public CompletionStage<Command> cancel(String id) {
        return on(() -> {
            Command c = byId.get(id);
            if (c == null) {
                throw new CommandException(CommandException.Kind.NOT_FOUND, "no command " + id);
            }
            if (c.state() != CommandState.QUEUED) {
                throw new CommandException(CommandException.Kind.CONFLICT, "command " + id + " is " + c.state()
                        + ": only a QUEUED command can be canceled");
            }
            return put(c.with(CommandState.CANCELED, 0, 0, nowMillis, 0, null, "canceled through the API"));
        });
    }

    @Override
    public int open(String deviceId) {
        RuntimeException e = openFails;
        if (e != null) {
            throw e;
        }
        int n = 0;
        for (Command c : byId.values()) {
            if (c.deviceId().equals(deviceId) && (c.state() == CommandState.QUEUED || c.state() == CommandState.SENT)) {
                n++;
            }
        }
        return n;
    }

    /** Moves a command on, as a device would; wakes its waiters if it is now final. */
    Command advance(String id, CommandState state, byte[] result) {
        Command c = byId.get(id);
        long t = nowMillis;
        Command next = c.with(state, state == CommandState.QUEUED ? 0 : t, state.isDelivered() ? t : 0,
                state.isFinal() ? t : 0, c.attempts() + (state == CommandState.SENT ? 1 : 0), result, "");
        CompletableFuture.runAsync(() -> put(next), ledgerThread).join();
        return next;
    }

    private Command put(Command c) {
        byId.put(c.id(), c);
        if (c.state().isFinal()) {
            List<CompletableFuture<Command>> w = waiters.remove(c.id());
            if (w != null) {
                w.forEach(f -> f.complete(c));
            }
        }
        return c;
    }

    private interface Body<T> {
        T get();
    }

    private <T> CompletionStage<T> on(Body<T> body) {
        CompletableFuture<T> f = new CompletableFuture<>();
        ledgerThread.execute(() -> {
            try {
                f.complete(body.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** A 26-character Crockford base32 id that sorts by {@code n}. */
    static String ulid(long n) {
        char[] c = new char[26];
        for (int i = 25; i >= 0; i--) {
            c[i] = CROCKFORD.charAt((int) (n & 31));
            n >>>= 5;
        }
        return new String(c);
    }

    @Override
    public void close() {
        ledgerThread.shutdownNow();
    }
}
