package io.tether.client.internal;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Runs tasks one at a time, in order, on a shared {@link Executor}: a client's commands stay
 * serial and ordered while many clients share a few threads. At most one task of this executor
 * is on the shared one at a time, so a slow handler delays only its own client's commands (and
 * holds one shared thread while it runs).
 */
public final class SerialExecutor implements Executor {
    private final Executor shared;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean running;
    private boolean shutdown;

    public SerialExecutor(Executor shared) {
        this.shared = shared;
    }

    /** @throws RejectedExecutionException after {@link #shutdown()} */
    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            if (shutdown) {
                throw new RejectedExecutionException("shut down");
            }
            tasks.add(task);
            if (running) {
                return;
            }
            running = true;
        }
        schedule();
    }

    private void schedule() {
        try {
            shared.execute(this::runOne);
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                running = false;
                tasks.clear();
            }
        }
    }

    private void runOne() {
        Runnable next;
        synchronized (this) {
            next = tasks.poll();
            if (next == null) {
                running = false;
                return;
            }
        }
        try {
            next.run();
        } finally {
            boolean more;
            synchronized (this) {
                more = !tasks.isEmpty();
                if (!more) {
                    running = false;
                }
            }
            if (more) {
                schedule();
            }
        }
    }

    /** Refuses further tasks; those already queued still run. */
    public synchronized void shutdown() {
        shutdown = true;
    }
}
