package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tether.server.KafkaOptions;
import io.tether.server.internal.feed.Feed;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Forwards the {@link Feed} to Kafka, in feed order, exactly once for consumers that read with
 * {@code isolation.level=read_committed}.
 *
 * <p><b>How exactly once holds.</b> As Kafka Connect's exactly-once source tasks do (KIP-618): each
 * transaction carries a batch of entries <em>and</em> the feed offset of its last entry, written to
 * the compacted offsets topic under the gateway id. The two become visible together or not at all.
 * On start, and after any error that costs the producer, {@code initTransactions()} fences a
 * previous producer with the same {@code transactional.id} (a process killed mid-transaction, or
 * this one's previous producer) and settles its open transaction; then the offsets topic is read
 * to its end with read_committed, and forwarding resumes after the offset found there. So a
 * transaction that committed is never sent again, and one that did not is sent again whole.
 * {@link Feed#forwarded(long)} follows each commit: the store holds {@code --ack-after kafka}
 * acknowledgements and keeps unforwarded entries until then. If the topic has nothing for this
 * gateway, the feed's own record of the position ({@link Feed#forwarded()}) is the start; if the
 * topic shows an older position than that record, the record is the start: it is written only
 * after a commit returned, so Kafka's read was cut short by a transaction still open on the
 * offsets topic (a broker that died mid-commit, another gateway's), and resuming from it would
 * send committed entries again.
 *
 * <p><b>Order.</b> One producer, one thread, feed order; a device's key always hashes to the same
 * partition, and the idempotent producer keeps each partition's order across retries.
 *
 * <p><b>Errors.</b> An abortable error aborts the transaction and the same entries go again. An
 * error that poisons the producer (fenced, out-of-order sequence, authorization, a commit that
 * timed out with its outcome unknown) closes it; a new one is made after a back-off (100 ms
 * doubling to 5 s), which re-reads the position from Kafka. The position is never lost and no
 * other thread waits: the feed keeps taking entries and the lag grows.
 *
 * <p>One daemon thread, {@code tether-kafka-forwarder}; never an event loop. {@link #status()} and
 * the meters are thread-safe.
 */
public final class KafkaForwarder implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaForwarder.class);
    static final long MIN_BACKOFF_MILLIS = 100;
    static final long MAX_BACKOFF_MILLIS = 5_000;
    /** How long a caught-up forwarder sleeps at most between looks at the feed, if no append wakes it. */
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    /** Where the forwarder is. */
    public enum State {
        /** Making a producer, fencing an older one and reading the position from Kafka. */
        CONNECTING,
        /** Committing transactions; entries are waiting. */
        FORWARDING,
        /** Everything in the feed is in Kafka. */
        CAUGHT_UP,
        /** The last attempt failed (Kafka unreachable, refused, fenced...); retrying with back-off. */
        FAILING
    }

    /**
     * What the admin endpoint shows.
     *
     * @param state              where the forwarder is
     * @param position           the feed offset of the last entry committed to Kafka; 0 before any
     * @param head               the feed's head
     * @param lag                entries not yet in Kafka: head − position
     * @param lagBytes           payload bytes not yet in Kafka ({@link Feed#unforwardedBytes()})
     * @param lastError          the last failure, for people; null if none since start
     * @param lastCommitAtMillis when the last transaction committed, epoch ms; 0 if none yet
     */
    public record Status(State state, long position, long head, long lag, long lagBytes, String lastError,
                         long lastCommitAtMillis) {
    }

    /** What the forwarder needs of Kafka; a seam, so that the state machine runs on a MockProducer in tests. */
    interface Sink {
        /** A transactional producer, {@code initTransactions()} not yet called. */
        Producer<byte[], byte[]> newProducer();

        /** Creates the topics that are missing, or fails naming the one that cannot be had. */
        void prepareTopics() throws Exception;

        /** The last position committed to the offsets topic for this gateway, read to its end; -1 if none. */
        long committedPosition() throws Exception;

        /** The cluster, for log lines: the bootstrap servers. */
        String describe();

        void close();
    }

    private final Feed feed;
    private final Sink sink;
    private final KafkaOptions.Topics topics;
    private final byte[] gatewayKey;
    private final int maxEntries;
    private final long lingerNanos;
    private final Clock clock;
    private final Thread thread;
    private final Counter messages;
    private final Counter events;
    private final Counter commandResults;
    private final Counter committed;
    private final Counter aborted;
    private final AutoCloseable subscription;

    private Producer<byte[], byte[]> producer; // forwarder thread only
    private boolean topicsReady;               // forwarder thread only
    private int abortsInARow;                  // forwarder thread only
    private Future<List<Feed.Entry>> prefetch; // forwarder thread only
    private long prefetchAfter;                // forwarder thread only
    /** Reads the next chunk of the feed while a transaction commits. */
    private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "tether-kafka-feed-reader");
        t.setDaemon(true);
        return t;
    });
    private long failingSinceNanos;            // forwarder thread only
    private volatile long position;
    private volatile State state = State.CONNECTING;
    private volatile String lastError;
    private volatile long lastCommitAt;
    private volatile boolean closing;

    /** A forwarder that talks to the cluster {@code clients} describes. Call {@link #start()}. */
    public static KafkaForwarder create(Feed feed, KafkaClients clients, MeterRegistry meters, Clock clock) {
        KafkaOptions o = clients.options();
        return new KafkaForwarder(feed, new KafkaSink(clients), o.topics(), o.gatewayId(), o.maxTransactionEntries(),
                o.linger(), meters, clock);
    }

    KafkaForwarder(Feed feed, Sink sink, KafkaOptions.Topics topics, String gatewayId, int maxEntries,
                   Duration linger, MeterRegistry meters, Clock clock) {
        this.feed = Objects.requireNonNull(feed, "feed");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.gatewayKey = gatewayId.getBytes(StandardCharsets.UTF_8);
        this.maxEntries = maxEntries;
        this.lingerNanos = linger.toNanos();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.position = feed.forwarded();
        this.thread = new Thread(this::run, "tether-kafka-forwarder");
        thread.setDaemon(true);
        this.messages = records(meters, topics.messages());
        this.events = records(meters, topics.events());
        this.commandResults = records(meters, topics.commandResults());
        this.committed = Counter.builder("tether.forwarder.transactions").tag("result", "committed")
                .description("Kafka transactions of the feed forwarder").register(meters);
        this.aborted = Counter.builder("tether.forwarder.transactions").tag("result", "aborted")
                .description("Kafka transactions of the feed forwarder").register(meters);
        Gauge.builder("tether.forwarder.lag", this, f -> f.lag())
                .description("feed entries not yet committed to Kafka").register(meters);
        Gauge.builder("tether.forwarder.lag.bytes", feed, Feed::unforwardedBytes).baseUnit("bytes")
                .description("payload bytes of feed entries not yet committed to Kafka").register(meters);
        for (State s : State.values()) {
            Gauge.builder("tether.forwarder.state", this, f -> f.state == s ? 1 : 0).tag("state", s.name())
                    .description("1 for the feed forwarder's current state, 0 for the others").register(meters);
        }
        Thread t = thread;
        this.subscription = feed.onAppend(head -> LockSupport.unpark(t));
    }

    private static Counter records(MeterRegistry meters, String topic) {
        return Counter.builder("tether.forwarder.records").tag("topic", topic)
                .description("feed entries committed to Kafka, by topic").register(meters);
    }

    public KafkaForwarder start() {
        thread.start();
        return this;
    }

    public State state() {
        return state;
    }

    /** Entries not yet in Kafka. */
    public long lag() {
        return Math.max(0, feed.head() - position);
    }

    /** The feed offset of the last entry committed to Kafka. */
    public long position() {
        return position;
    }

    public Status status() {
        long p = position;
        long h = feed.head();
        return new Status(state, p, h, Math.max(0, h - p), feed.unforwardedBytes(), lastError, lastCommitAt);
    }

    /**
     * Stops after the transaction in progress (if Kafka answers within {@code wait}; else it is
     * interrupted, and Kafka aborts it). Idempotent.
     */
    public void close(Duration wait) {
        closing = true;
        try {
            subscription.close();
        } catch (Exception e) {
            log.debug("unsubscribing from the feed: {}", e.toString());
        }
        LockSupport.unpark(thread);
        try {
            if (thread.isAlive()) {
                // A failing forwarder has no transaction worth waiting for: its blocked call
                // (initTransactions against a dead broker) would only delay the shutdown.
                thread.join(state == State.FAILING ? 1 : Math.max(1, wait.toMillis()));
                if (thread.isAlive()) {
                    thread.interrupt();
                    thread.join(5_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            sink.close();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    // ---- the forwarder thread ------------------------------------------------------------------

    private void run() {
        long backoff = MIN_BACKOFF_MILLIS;
        while (!closing) {
            try {
                if (producer == null) {
                    connect();
                }
                List<Feed.Entry> batch = nextBatch();
                if (batch.isEmpty()) {
                    if (state != State.FAILING) {
                        state = lag() == 0 ? State.CAUGHT_UP : State.FORWARDING;
                    }
                    continue;
                }
                forward(batch);
                backoff = MIN_BACKOFF_MILLIS;
            } catch (InterruptException e) {
                if (closing) {
                    break;
                }
                failed(e);
            } catch (Exception e) {
                if (closing) {
                    break;
                }
                failed(e);
                sleep(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
        closeProducer(Duration.ofSeconds(2));
        reader.shutdownNow();
    }

    /** A new producer: fences the previous one, settles its transaction, then reads where it got to. */
    private void connect() throws Exception {
        if (state != State.FAILING) {
            state = State.CONNECTING;
        }
        if (!topicsReady) {
            sink.prepareTopics();
            topicsReady = true;
        }
        Producer<byte[], byte[]> p = sink.newProducer();
        long stored;
        try {
            p.initTransactions();
            stored = sink.committedPosition();
        } catch (Exception e) {
            // Not usable until its position is known: the next attempt starts from a new producer.
            try {
                p.close(Duration.ZERO);
            } catch (RuntimeException again) {
                log.debug("closing the kafka producer: {}", again.toString());
            }
            throw e;
        }
        producer = p;
        long head = feed.head();
        long recorded = feed.forwarded();
        long start;
        if (stored < 0) {
            start = recorded;
            log.info("kafka {}: no position for this gateway in {} yet; forwarding from feed offset {} (the store's record)",
                    sink.describe(), topics.offsets(), start);
        } else if (stored > head) {
            start = recorded;
            log.warn("kafka {}: the position in {} is feed offset {}, beyond this feed's head {}: the data directory is new "
                    + "or the store is in memory, and its offsets started again; forwarding from feed offset {}. Give each "
                    + "data directory its own --kafka-gateway-id", sink.describe(), topics.offsets(), stored, head, start);
        } else if (stored < recorded) {
            // The store records a position only after its commit returned: what Kafka shows is
            // older, so a transaction left open on the offsets topic (another gateway's, or one a
            // dying broker did not settle) hides our last record. Sending from Kafka's figure
            // would repeat every entry committed since.
            start = recorded;
            log.warn("kafka {}: the position read from {} is feed offset {}, behind this store's record of its last commit, "
                    + "feed offset {}: a transaction still open there hides the latest record; forwarding from feed offset {}",
                    sink.describe(), topics.offsets(), stored, start, start);
        } else {
            start = stored;
        }
        position = start;
        // Entries up to the stored position are in Kafka even if this process died before it
        // told the store (between a commit and forwarded()).
        feed.forwarded(start);
        // Out of FAILING only once a commit proves Kafka takes the entries (a write refused
        // after a good connect would otherwise log a recovery and a failure on every retry).
        if (state != State.FAILING || lag() == 0) {
            settled(lag() == 0 ? State.CAUGHT_UP : State.FORWARDING);
        }
    }

    /** Kafka answered: the new state, and one INFO line if it ends a failure. */
    private void settled(State next) {
        if (state == State.FAILING) {
            log.info("kafka {} is back after {} s: forwarded up to feed offset {}, {} entries waiting", sink.describe(),
                    TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - failingSinceNanos), position,
                    String.format("%,d", lag()));
        }
        state = next;
    }

    /** Up to maxEntries after the position; waits for the feed while there is none, lingers while there are few. */
    private List<Feed.Entry> nextBatch() throws Exception {
        List<Feed.Entry> batch = prefetched();
        if (batch == null || batch.isEmpty()) {
            // Empty when read at the commit's start is no reason to sleep: entries may have come
            // during the commit, and their wake-up was spent inside the producer's own wait.
            batch = feed.read(position, maxEntries);
        }
        if (batch.isEmpty()) {
            if (state == State.FORWARDING || state == State.CONNECTING) {
                state = State.CAUGHT_UP;
            }
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
            return feed.read(position, maxEntries);
        }
        if (batch.size() < maxEntries && lingerNanos > 0) {
            long deadline = System.nanoTime() + lingerNanos;
            long left;
            while (batch.size() < maxEntries && (left = deadline - System.nanoTime()) > 0 && !closing) {
                LockSupport.parkNanos(this, left);
                List<Feed.Entry> more = feed.read(batch.get(batch.size() - 1).offset(), maxEntries - batch.size());
                if (!more.isEmpty()) {
                    if (!(batch instanceof ArrayList)) {
                        batch = new ArrayList<>(batch);
                    }
                    batch.addAll(more);
                }
            }
        }
        return batch;
    }

    private void forward(List<Feed.Entry> batch) {
        Producer<byte[], byte[]> p = producer;
        long last = batch.get(batch.size() - 1).offset();
        int nMessages = 0;
        int nEvents = 0;
        int nCommands = 0;
        try {
            p.beginTransaction();
            for (Feed.Entry e : batch) {
                p.send(record(e));
                switch (e.kind()) {
                    case MESSAGE -> nMessages++;
                    case EVENT -> nEvents++;
                    case COMMAND -> nCommands++;
                }
            }
            p.send(new ProducerRecord<>(topics.offsets(), null, null, gatewayKey, ascii(last), null));
            // The next chunk is read while Kafka commits this one: the store's read and the
            // commit's round trips are the two waits of a transaction, and they need not add up.
            prefetch(last);
            p.commitTransaction();
        } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException
                 | AuthenticationException | UnsupportedVersionException | InterruptException | TimeoutException e) {
            // The producer cannot go on (or, for a timeout, whether the commit happened is
            // unknown): a new one will settle the transaction and read the position back.
            closeProducer(Duration.ZERO);
            throw e;
        } catch (KafkaException e) {
            try {
                p.abortTransaction();
                aborted.increment();
                // An abortable error that keeps coming back may live in the producer's state:
                // start over with a new one (which re-reads the position) rather than loop.
                if (++abortsInARow >= 3) {
                    abortsInARow = 0;
                    closeProducer(Duration.ZERO);
                }
            } catch (KafkaException again) {
                closeProducer(Duration.ZERO);
            }
            throw e;
        }
        abortsInARow = 0;
        position = last;
        feed.forwarded(last);
        lastCommitAt = clock.millis();
        committed.increment();
        messages.increment(nMessages);
        events.increment(nEvents);
        commandResults.increment(nCommands);
        settled(lag() == 0 ? State.CAUGHT_UP : State.FORWARDING);
    }

    /** Starts reading the entries after {@code after} on the reader thread. */
    private void prefetch(long after) {
        Future<List<Feed.Entry>> f;
        try {
            f = reader.submit(() -> feed.read(after, maxEntries));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return; // closing
        }
        prefetch = f;
        prefetchAfter = after;
    }

    /** The prefetched chunk if it starts at the position (the commit went through), else null. */
    private List<Feed.Entry> prefetched() {
        Future<List<Feed.Entry>> f = prefetch;
        prefetch = null;
        if (f == null) {
            return null;
        }
        if (prefetchAfter != position) {
            f.cancel(false);
            return null;
        }
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            return null; // read again on this thread, where a failure is reported
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The record of one feed entry. Headers are decimal ASCII, so any consumer can read them. */
    ProducerRecord<byte[], byte[]> record(Feed.Entry e) {
        byte[] key = e.deviceId() == null ? null : e.deviceId().getBytes(StandardCharsets.UTF_8);
        byte[] offset = ascii(e.offset());
        return switch (e.kind()) {
            case MESSAGE -> new ProducerRecord<>(topics.messages(), null, null, key, e.body(), new RecordHeaders(new Header[] {
                    new RecordHeader("seq", ascii(e.seq())), new RecordHeader("session", ascii(e.session())),
                    new RecordHeader("receivedAt", ascii(e.atMillis())), new RecordHeader("offset", offset)}));
            case EVENT -> new ProducerRecord<>(topics.events(), null, null, key, e.body(), new RecordHeaders(new Header[] {
                    new RecordHeader("session", ascii(e.session())), new RecordHeader("offset", offset)}));
            case COMMAND -> new ProducerRecord<>(topics.commandResults(), null, null, key, e.body(),
                    new RecordHeaders(new Header[] {new RecordHeader("offset", offset)}));
        };
    }

    static byte[] ascii(long n) {
        return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
    }

    /** One WARN on the way into FAILING, not one per retry; the recovery logs once in {@link #settled}. */
    private void failed(Exception e) {
        String why = describe(e);
        lastError = why;
        if (state != State.FAILING) {
            failingSinceNanos = System.nanoTime();
            state = State.FAILING;
            log.warn("kafka {} {}: {}; {} entries waiting (retrying with back-off up to {} s)", sink.describe(),
                    unreachable(e) ? "unreachable" : "failing",
                    why, String.format("%,d", lag()), MAX_BACKOFF_MILLIS / 1000);
        } else {
            log.debug("kafka {} still failing: {}", sink.describe(), why);
        }
    }

    /** A timeout or a broken connection anywhere in the chain: the cluster is not answering. */
    private static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TimeoutException || t instanceof org.apache.kafka.common.errors.NetworkException
                    || t instanceof org.apache.kafka.common.errors.DisconnectException
                    || t instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    private static String describe(Throwable e) {
        Throwable t = e;
        if (t instanceof java.util.concurrent.ExecutionException && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage();
        if (t.getCause() != null && t.getCause() != t && t.getCause().getMessage() != null
                && (msg == null || !msg.contains(t.getCause().getMessage()))) {
            msg = (msg == null ? "" : msg + ": ") + t.getCause().getMessage();
        }
        return t.getClass().getSimpleName() + (msg == null ? "" : " " + msg);
    }

    private void closeProducer(Duration wait) {
        Producer<byte[], byte[]> p = producer;
        producer = null;
        if (p != null) {
            try {
                p.close(wait);
            } catch (RuntimeException e) {
                log.debug("closing the kafka producer: {}", e.toString());
            }
        }
    }

    private void sleep(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        long left;
        // Parks rather than Thread.sleep: an append's unpark may cut it short, so loop to the deadline.
        while (!closing && (left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(this, left);
            if (Thread.interrupted()) {
                return;
            }
        }
    }
}
