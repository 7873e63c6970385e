package io.tether.server.internal.kafka;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tether.server.KafkaOptions;
import io.tether.server.internal.feed.MemoryFeed;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * A child for KafkaNetworkCutIT: a gateway's forwarder in the server namespace of a NetworkLab.
 * Appends {@code devices × perDevice} 100-byte messages to a feed at a steady pace while it
 * forwards them to {@code bootstrap}, and prints {@code forwarded N} every 200 ms, {@code state S}
 * on each change and {@code done N} once everything is in Kafka. Short client timeouts, so a cut
 * shows within seconds.
 *
 * <p>Arguments: bootstrap, devices, perDevice, seconds (how long the appends take).
 */
public final class ForwarderMain {
    private ForwarderMain() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        int devices = Integer.parseInt(args[1]);
        int perDevice = Integer.parseInt(args[2]);
        long seconds = Long.parseLong(args[3]);
        MemoryFeed feed = new MemoryFeed(devices * perDevice);
        KafkaOptions options = KafkaOptions.builder(bootstrap).gatewayId("cut-gw").properties(Map.of(
                "request.timeout.ms", "3000", "delivery.timeout.ms", "8000", "max.block.ms", "5000",
                "reconnect.backoff.max.ms", "500", "socket.connection.setup.timeout.ms", "2000",
                "socket.connection.setup.timeout.max.ms", "4000", "default.api.timeout.ms", "8000")).build();
        KafkaForwarder f = KafkaForwarder.create(feed, new KafkaClients(options), new SimpleMeterRegistry(), Clock.systemUTC())
                .start();
        Thread appender = new Thread(() -> {
            long pause = Math.max(0, seconds * 1_000_000_000L / perDevice);
            for (int seq = 1; seq <= perDevice; seq++) {
                long t = System.nanoTime();
                for (int d = 0; d < devices; d++) {
                    byte[] payload = new byte[100];
                    byte[] text = (d + ":" + seq).getBytes(StandardCharsets.US_ASCII);
                    System.arraycopy(text, 0, payload, 0, text.length);
                    feed.appendMessage("dev-" + d, 1, seq, System.currentTimeMillis(), payload);
                }
                long left = pause - (System.nanoTime() - t);
                if (left > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(left);
                }
            }
        }, "appender");
        appender.start();
        long total = (long) devices * perDevice;
        KafkaForwarder.State last = null;
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline) {
            KafkaForwarder.State s = f.state();
            if (s != last) {
                System.out.println("state " + s);
                last = s;
            }
            System.out.println("forwarded " + feed.forwarded());
            if (feed.forwarded() == total) {
                System.out.println("done " + total);
                break;
            }
            Thread.sleep(200);
        }
        f.close();
        System.out.flush();
        System.exit(feed.forwarded() == total ? 0 : 1);
    }
}
