package io.tether.server.internal.delivery;

import io.netty.util.concurrent.EventExecutor;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.AppendResult;
import io.tether.server.MessageStore;
import io.tether.server.StoreHealth;
import io.tether.server.StoreUnavailableException;
import io.tether.server.internal.close.ConnectionClose;
import io.tether.server.internal.core.ServerContext;
import io.tether.transport.errno.IoFailure;

import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * Uplink DATA to the store and cumulative ACKs back; downlink DATA to the device.
 *
 * <ul>
 * <li>ACK only what the store made durable, cumulatively: inside a read batch the ACK is noted,
 *     and one ACK for the batch is written when the batch ends. A group-committing store
 *     completes many appends per sync from its own thread: the highest durable seq is recorded
 *     and the event loop is visited once per sync, not per message.</li>
 * <li>A duplicate (the store already had it, or seq ≤ the last ACK) is acknowledged again, every
 *     time, with the cumulative ACK (docs/PROTOCOL.md 6.5): a device that resends and waits for
 *     "the next ACK" must get one.</li>
 * <li>Back-pressure: when the store's queue is above its high-water mark, this channel stops
 *     reading (auto-read off) until the store says it is writable again. The event loop never
 *     waits; the other channels on it go on being served.</li>
 * <li>A failed store (disk full, no descriptors: {@link StoreHealth}) refuses the append: the
 *     device is told once, with BYE STORE_UNAVAILABLE and a jittered reconnect hint, and resends
 *     what was not acknowledged after reconnecting. Not IO_ERROR without a word, which made
 *     devices reconnect at once and get banned for flapping.</li>
 * </ul>
 */
public abstract class ConnectionDelivery extends ConnectionClose {
    private static final AtomicLongFieldUpdater<ConnectionDelivery> DURABLE =
            AtomicLongFieldUpdater.newUpdater(ConnectionDelivery.class, "durableSeq");
    private static final AtomicIntegerFieldUpdater<ConnectionDelivery> ACK_PENDING =
            AtomicIntegerFieldUpdater.newUpdater(ConnectionDelivery.class, "ackPending");

    /** Inside channelRead..channelReadComplete: ACKs wait for the batch's end. */
    protected boolean inRead;
    /** A duplicate arrived: the next writeAck repeats the cumulative ACK even if it did not grow. */
    private boolean ackAgain;
    private long ackedSeq;
    private long ackDue;
    private long downlinkSeq;
    /** Highest seq a store on another thread has made durable; folded into one ACK per hop. */
    private volatile long durableSeq;
    private volatile int ackPending;

    protected ConnectionDelivery(ServerContext server) {
        super(server);
    }

    /** Hands one uplink message to the store; it is acknowledged when the store says it is durable. */
    protected final void append(Frame.Data data) {
        long seq = data.seq();
        messagesIn++;
        bytesIn += data.payload().length;
        MessageStore store = server.store;
        if (seq <= ackedSeq) {
            // Acknowledged before on this connection, so durable: answer at once, do not store.
            ackAgain = true;
            acknowledge(seq);
            return;
        }
        store.append(deviceId, epoch, seq, data.payload(), server.clock.millis(), (result, error) -> {
            EventExecutor executor = ctx.executor();
            if (executor.inEventLoop()) {
                onAppended(seq, result, error);
            } else if (error != null || result != AppendResult.STORED) {
                executor.execute(() -> onAppended(seq, result, error));
            } else {
                long current;
                do {
                    current = durableSeq;
                } while (seq > current && !DURABLE.compareAndSet(this, current, seq));
                if (ACK_PENDING.compareAndSet(this, 0, 1)) {
                    executor.execute(this::ackDurable);
                }
            }
        });
        if (state == OPEN && !store.isWritable() && ctx.channel().config().isAutoRead()) {
            // Stop feeding a full queue from this channel only. Frames already decoded in this
            // read batch are still appended: at most one batch more than the high-water mark.
            reading(false);
            store.whenWritable(this::storeWritableSoon);
        }
    }

    /** Called by the store, on any thread, once its queue has drained. */
    private void storeWritableSoon() {
        try {
            ctx.executor().execute(this::storeWritable);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down with the server: nothing left to resume.
        }
    }

    private void storeWritable() {
        if (state == OPEN) {
            reading(true);
        }
    }

    private void ackDurable() {
        ACK_PENDING.set(this, 0);
        acknowledge(durableSeq);
    }

    private void onAppended(long seq, AppendResult result, Throwable error) {
        if (error instanceof StoreUnavailableException unavailable) {
            // Not stored, not acknowledged. What is durable is acknowledged before the BYE; later
            // refusals of this connection's DATA (in the drain) find it closing and add nothing.
            if (state >= DRAINING) {
                return; // closing already, for this or another reason: the device was told
            }
            StoreHealth h = unavailable.health();
            closeGracefully(Reason.STORE_UNAVAILABLE, "store unavailable (" + h.resource() + ")", storeHintMillis());
            detail = unavailable.getMessage();
            return;
        }
        if (error != null) {
            // Not stored, so it must not be acknowledged; the device will resend it.
            IoFailure f = IoFailure.classify(error);
            setReason(Reason.IO_ERROR, f, "store failed: " + error);
            ctx.close();
            return;
        }
        if (result == AppendResult.STORED_AFTER_GAP) {
            server.fireGap(deviceId, epoch, seq);
        } else if (result == AppendResult.DUPLICATE) {
            ackAgain = true;
        }
        acknowledge(seq);
    }

    /**
     * A reconnect hint for a failed store: 2 to 10 s, jittered so devices do not return in a wave.
     * The store probes every 0.5 s, so a device comes back soon after the resource does.
     */
    public static int storeHintMillis() {
        return 2_000 + ThreadLocalRandom.current().nextInt(8_001);
    }

    /** Cumulative: one ACK covers every seq up to {@code seq}. Nothing is answered while draining. */
    private void acknowledge(long seq) {
        if (seq > ackDue) {
            ackDue = seq;
        }
        if (!inRead) {
            writeAck();
            ctx.flush();
        }
    }

    @Override
    protected final void writeAck() {
        if (state == OPEN && (ackDue > ackedSeq || ackAgain)) {
            ackAgain = false;
            ackedSeq = Math.max(ackedSeq, ackDue);
            write(new Frame.Ack(ackedSeq));
        }
    }

    /**
     * Writes commands from the ledger, if the session with {@code forEpoch} is still open. Any
     * thread; the writes happen on the channel's event loop. Commands dropped here (the session
     * ended) went SENT in the ledger and go back to QUEUED when the connection detaches.
     */
    public final void sendCommands(long forEpoch, List<Frame.Command> commands) {
        try {
            ctx.executor().execute(() -> {
                if (state == OPEN && epoch == forEpoch) {
                    for (Frame.Command c : commands) {
                        write(c);
                        messagesOut++;
                        bytesOut += c.payload().length;
                    }
                    ctx.flush();
                }
            });
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down with the server: the detach requeues them.
        }
    }

    /** COMMAND_ACK from the device: the ledger marks what it covers DELIVERED. */
    protected final void commandsAcknowledged(Frame.CommandAck ack) {
        server.commands.acknowledged(deviceId, epoch, ack.seq());
    }

    /** RESULT from the device: stored by the ledger, then answered with RESULT_ACK (if the session is still open). */
    protected final void commandResult(Frame.Result result) {
        long seq = result.seq();
        server.commands.result(deviceId, epoch, seq, result.succeeded(), result.payload(), () -> {
            try {
                ctx.executor().execute(() -> {
                    if (state == OPEN) {
                        ctx.writeAndFlush(encode(new Frame.ResultAck(seq)), ctx.voidPromise());
                    }
                });
            } catch (RejectedExecutionException e) {
                // shutting down: the device resends the result to the next server
            }
        });
    }

    /**
     * Queues a downlink message to the device. Callable from any thread.
     *
     * @return false if the session is no longer open
     */
    public final boolean send(byte[] payload) {
        if (state != OPEN) {
            return false;
        }
        ctx.executor().execute(() -> {
            if (state == OPEN) {
                messagesOut++;
                bytesOut += payload.length;
                ctx.writeAndFlush(encode(new Frame.Data(++downlinkSeq, payload)), ctx.voidPromise());
            }
        });
        return true;
    }
}
