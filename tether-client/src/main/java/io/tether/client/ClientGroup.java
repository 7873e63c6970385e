package io.tether.client;

import io.netty.channel.EventLoopGroup;
import io.tether.transport.Transport;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Threads shared by many clients: a fixed set of I/O event loops (epoll where available, else
 * NIO). Each client built with {@link TetherClient.Builder#group} picks one event loop and stays
 * on it, so thousands of clients cost a few threads. Without a group, each client runs its own
 * one-thread group.
 *
 * <p>The owner closes the group, after the clients on it; a client never does. Thread-safe.
 *
 * <pre>{@code
 * try (ClientGroup group = ClientGroup.create(4)) {
 *     TetherClient a = TetherClient.builder().group(group)....build();
 *     ...
 * }
 * }</pre>
 */
public final class ClientGroup implements AutoCloseable {
    private final EventLoopGroup eventLoops;
    private final int threads;

    private ClientGroup(int threads, String name, Transport transport) {
        this.threads = threads;
        this.eventLoops = transport.newGroup(threads, name);
    }

    /**
     * A group of {@code threads} daemon threads named {@code tether-client-N-M}.
     *
     * @throws IllegalArgumentException if {@code threads} is not 1 to 1024
     */
    public static ClientGroup create(int threads) {
        return create(threads, "tether-client");
    }

    /**
     * A group of {@code threads} daemon threads named {@code name-N-M}.
     *
     * @throws IllegalArgumentException if {@code threads} is not 1 to 1024 or the name is empty
     */
    public static ClientGroup create(int threads, String name) {
        return create(threads, name, Transport.best());
    }

    /** For tests: a group of a given transport (NIO on a machine with epoll). */
    static ClientGroup create(int threads, String name, Transport transport) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: 1 to 1024)");
        }
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: \"" + name + "\" (expected: a thread name prefix)");
        }
        return new ClientGroup(threads, name, transport);
    }

    /** The number of event loop threads. */
    public int threads() {
        return threads;
    }

    /** Whether {@link #close} was called. */
    public boolean isClosed() {
        return eventLoops.isShuttingDown();
    }

    /**
     * Stops the threads, waiting up to 5 seconds for running tasks. Clients still on the group
     * stop working (their pending sends fail); close them first.
     */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /** {@link #close()} with a bound on the wait. */
    public void close(Duration timeout) {
        eventLoops.shutdownGracefully(0, timeout.toMillis(), TimeUnit.MILLISECONDS)
                .awaitUninterruptibly(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    EventLoopGroup eventLoops() {
        return eventLoops;
    }

    @Override
    public String toString() {
        return "ClientGroup[" + threads + " threads, " + Transport.of(eventLoops) + "]";
    }
}
