package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import io.tether.server.Commands;
import io.tether.server.KafkaOptions;
import io.tether.server.internal.feed.Feed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;

/**
 * The server's Kafka side: the feed forwarder, and the command consumer when it is asked for.
 * Started after the store opened, closed before it closes ({@code TetherServer}).
 */
public final class KafkaGateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaGateway.class);

    private final KafkaOptions options;
    private final KafkaForwarder forwarder;
    private final KafkaCommandConsumer commands;

    private KafkaGateway(KafkaOptions options, KafkaForwarder forwarder, KafkaCommandConsumer commands) {
        this.options = options;
        this.forwarder = forwarder;
        this.commands = commands;
    }

    /** Starts the threads; connecting to Kafka happens on them, so this never waits for the cluster. */
    public static KafkaGateway start(KafkaOptions options, Feed feed, Commands ledger, MeterRegistry meters, Clock clock) {
        KafkaClients clients = new KafkaClients(options);
        KafkaForwarder forwarder = KafkaForwarder.create(feed, clients, meters, clock).start();
        KafkaCommandConsumer consumer = options.topics().commands() == null ? null
                : KafkaCommandConsumer.create(clients, ledger, feed, meters, clock).start();
        log.info("forwarding the feed to {} as transactional.id {}: messages to {}, events to {}, command results to {}, "
                        + "position in {}{}", options.bootstrap(), clients.transactionalId(), options.topics().messages(),
                options.topics().events(), options.topics().commandResults(), options.topics().offsets(),
                consumer == null ? "" : "; commands from " + options.topics().commands() + " (group "
                        + clients.commandGroup() + ")");
        return new KafkaGateway(options, forwarder, consumer);
    }

    public KafkaOptions options() {
        return options;
    }

    public KafkaForwarder forwarder() {
        return forwarder;
    }

    /** The command consumer first (it may add refusals to the feed), then the forwarder. */
    @Override
    public void close() {
        if (commands != null) {
            commands.close();
        }
        forwarder.close(Duration.ofSeconds(5));
    }
}
