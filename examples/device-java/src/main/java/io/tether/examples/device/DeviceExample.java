package io.tether.examples.device;

import io.tether.client.AuthenticationFailedException;
import io.tether.client.TetherClient;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A device: connects to a Tether gateway with its secret, sends N messages, waits until the gateway
 * has stored every one (its ACK), prints a summary and exits 0; exits 1 with a message if the
 * gateway refuses the credential, cannot be reached, or does not acknowledge in time.
 *
 * <pre>
 * DeviceExample HOST:PORT DEVICE_ID [MESSAGES]       (MESSAGES default 100)
 * environment:  TETHER_SECRET  the device's secret (tether credentials add --device DEVICE_ID ...)
 *               TETHER_GROUP   optional: the id prefix of a group entry (tether credentials add
 *                              --group PREFIX ...); TETHER_SECRET is then the group's secret
 * </pre>
 * The secret comes from the environment, not the command line, where any user could read it (ps).
 */
public final class DeviceExample {
    static final long CONNECT_TIMEOUT_SECONDS = 30;
    static final long ACK_TIMEOUT_SECONDS = 60;

    private DeviceExample() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    /** The program, minus System.exit: returns the exit status. */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length < 2 || args.length > 3) {
            err.println("usage: DeviceExample HOST:PORT DEVICE_ID [MESSAGES]   (secret in TETHER_SECRET,"
                    + " optional group prefix in TETHER_GROUP)");
            return 2;
        }
        int count;
        try {
            count = args.length == 3 ? Integer.parseInt(args[2]) : 100;
        } catch (NumberFormatException e) {
            count = -1;
        }
        if (count < 1) {
            err.println("MESSAGES: '" + args[2] + "' (expected: a whole number >= 1)");
            return 2;
        }
        String secret = env.get("TETHER_SECRET");
        String group = env.get("TETHER_GROUP");

        TetherClient.Builder builder;
        try {
            builder = TetherClient.builder()
                    .target(args[0])                   // e.g. 127.0.0.1:7400, the gateway's default port
                    .deviceId(args[1]);
            if (secret == null || secret.isEmpty()) {
                err.println("note: TETHER_SECRET is not set; connecting without a credential (only a gateway"
                        + " started with --insecure-no-auth accepts that)");
            } else if (group == null || group.isEmpty()) {
                builder.secret(secret);                // a device entry: credentials add --device ID
            } else {
                builder.groupSecret(group, secret);    // a group entry: credentials add --group PREFIX
            }
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return 2;
        }

        TetherClient client;
        try {
            client = builder.build();
        } catch (IllegalStateException e) {
            err.println(e.getMessage());
            return 2;
        }
        try {
            long start = System.nanoTime();
            try {
                // Returns once the first session is up. After that the client reconnects on its
                // own and resends whatever was not acknowledged.
                client.connect().get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                // AuthenticationFailedException: the gateway refused the credential; the client has
                // stopped (it does not retry a refused credential) and the message says what to check.
                err.println(e.getCause() instanceof AuthenticationFailedException
                        ? "authentication failed: " + e.getCause().getMessage()
                        : "could not connect: " + e.getCause());
                return 1;
            } catch (TimeoutException e) {
                err.println("no session with " + args[0] + " within " + CONNECT_TIMEOUT_SECONDS + " s ("
                        + client.stats().connectFailures() + " failed connection attempts): is the gateway running"
                        + " there?");
                return 1;
            }
            long connectedNanos = System.nanoTime() - start;

            List<CompletableFuture<Long>> acks = new ArrayList<>(count);
            for (int i = 1; i <= count; i++) {
                byte[] payload = ("{\"n\":" + i + ",\"device\":\"" + args[1] + "\"}").getBytes(StandardCharsets.UTF_8);
                acks.add(client.send(payload));        // completes when the gateway has stored it
            }
            try {
                CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new))
                        .get(ACK_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                err.println("a message was not stored: " + e.getCause().getMessage());
                return 1;
            } catch (TimeoutException e) {
                long acked = acks.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).count();
                err.println("only " + acked + " of " + count + " messages acknowledged within " + ACK_TIMEOUT_SECONDS
                        + " s (" + client.pendingCount() + " still pending)");
                return 1;
            }
            long totalMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            out.printf("device %s: %d messages sent, %d acknowledged (last seq %d); connected in %d ms, all acked"
                            + " after %d ms%n", args[1], count, acks.size(), acks.get(count - 1).join(),
                    TimeUnit.NANOSECONDS.toMillis(connectedNanos), totalMillis);
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("interrupted");
            return 1;
        } finally {
            client.close();                            // BYE NORMAL, then the connection closes
            client.closeFuture().join();
        }
    }
}
