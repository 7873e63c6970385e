package io.tether.cli;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.MINUTES;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.tether.client.ClientGroup;
import io.tether.client.ClientListener;
import io.tether.client.Goodbye;
import io.tether.client.ClientStats;
import io.tether.client.TetherClient;
import io.tether.protocol.Frame;
import io.tether.protocol.FrameCodec;
import io.tether.protocol.Reason;
import io.tether.testkit.ChaosProxy;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * "No data lost", end to end: 200 devices send 200 messages each through a {@link ChaosProxy} to a
 * {@code tether serve} process (RocksDB store) while a chaos loop kills the server with SIGKILL and
 * restarts it on the same data directory, takes devices' sessions over with raw HELLOs, resets
 * links and black-holes them. Once every send is acknowledged, an independent checker reads the
 * store with {@code tether store dump} (not through the server) and checks it against what the
 * devices sent.
 *
 * <p>Replay a run's fault sequence with {@code -Dtether.chaos.seed=N} (the seed is printed; the
 * timing of faults relative to traffic still varies).
 */
class ChaosIT {
    private static final int DEVICES = 200;
    private static final int MESSAGES = 200;
    private static final int TOTAL = DEVICES * MESSAGES;
    /**
     * Server kill -9 + restart cycles, when this percentage of all messages is acknowledged: counting
     * acknowledgements (not sends) puts each kill in live traffic, after the server made progress
     * since the last restart, however slow the machine.
     */
    private static final int[] KILL_AT_PERCENT = {20, 55};
    /** Pause between two sends of one device: uniform in [MIN, MIN + SPREAD), 75 ms on average. */
    private static final int SEND_PAUSE_MIN_MS = 25;
    private static final int SEND_PAUSE_SPREAD_MS = 100;
    /** Bounds on the chaos loop, whatever the traffic does. */
    private static final Duration CHAOS_TIME_BOUND = Duration.ofSeconds(60);
    private static final int CHAOS_FAULT_BOUND = 400;
    /** The chaos goes on until each of takeover, reset and blackhole was injected at least this often. */
    private static final int MIN_EACH = 5;
    /** Bound on the wait for the last acknowledgement after the chaos ended. */
    private static final Duration ACK_BOUND = Duration.ofSeconds(120);
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(2);

    @TempDir
    Path dir;

    private ServerProcess server;
    private ChaosProxy proxy;
    private ClientGroup group;
    private ScheduledExecutorService pacer;
    private final List<Device> devices = new ArrayList<>();
    /** Raw takeover connections left open for the device to take back; test thread only. */
    private final List<Socket> intruders = new ArrayList<>();
    /** Anything a device saw that breaks the contract (a wrong seq, a failed send); checked at the end. */
    private final Queue<String> deviceErrors = new ConcurrentLinkedQueue<>();
    private final AtomicInteger sendsIssued = new AtomicInteger();
    private final AtomicInteger acked = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private long startNanos;

    @AfterEach
    void cleanUp() {
        try {
            if (pacer != null) {
                pacer.shutdownNow();
            }
            for (Device d : devices) {
                d.client.close();
            }
            closeIntruders();
            if (proxy != null) {
                proxy.close();
            }
            if (group != null) {
                group.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    @Test
    @Timeout(value = 5, unit = MINUTES)
    void everyAcknowledgedMessageIsStoredOnce_throughKill9TakeoverResetAndSilence() throws Exception {
        long seed = Long.getLong("tether.chaos.seed", System.nanoTime());
        Random chaos = new Random(seed);
        startNanos = System.nanoTime();
        log("seed %d: %d devices x %d messages, kills at %s%% acknowledged", seed, DEVICES, MESSAGES,
                Arrays.toString(KILL_AT_PERCENT));

        // No authentication: the takeovers are raw HELLOs claiming a device's id. No flapping ban:
        // kills, faults and (on a loaded machine) timeouts make devices reconnect often, and one
        // banned by the default (over 15 connects a minute) would sit out 5 minutes. Admission
        // control is not what this test is about.
        server = ServerProcess.start(dir,
                "--insecure-no-auth", "--flapping", "off",
                "--heartbeat", "500ms", "--min-heartbeat", "100ms", "--handshake-timeout", "2s",
                "--drain", "300ms", "--shutdown-timeout", SHUTDOWN_TIMEOUT.toMillis() + "ms");
        proxy = ChaosProxy.start(new InetSocketAddress("127.0.0.1", server.port()));
        group = ClientGroup.create(2);
        pacer = Executors.newScheduledThreadPool(2);
        for (int i = 0; i < DEVICES; i++) {
            devices.add(new Device(i, seed));
        }
        List<CompletableFuture<Void>> connected = new ArrayList<>();
        for (Device d : devices) {
            connected.add(d.client.connect());
        }
        CompletableFuture.allOf(connected.toArray(CompletableFuture[]::new)).get(60, SECONDS);
        log("%d devices connected through the proxy", DEVICES);

        for (Device d : devices) {
            d.scheduleNext();
        }
        Faults faults = runChaos(chaos);
        closeIntruders();
        log("chaos over: %s; %d/%d sends issued, %d acknowledged", faults, sendsIssued.get(), TOTAL, acked.get());

        awaitEveryAck();
        assertThat(deviceErrors).as("what devices saw").isEmpty();
        ClientStats clientTotals = ClientStats.ZERO;
        for (Device d : devices) {
            clientTotals = clientTotals.plus(d.client.stats());
        }
        log("every send acknowledged; stopping the clients");
        for (Device d : devices) {
            d.client.close();
        }
        for (Device d : devices) {
            d.client.closeFuture().get(30, SECONDS);
        }
        server.sigterm();
        int exit = server.awaitExit(SHUTDOWN_TIMEOUT.plusSeconds(15));
        log("server exited with status %d after SIGTERM", exit);

        StoreCheck check = StoreCheck.of(StoreDump.read(server.dataDir()), sent(), true);
        Map<String, Integer> closes = server.closesByReason();
        int takenOverByes = devices.stream().mapToInt(d -> d.takenOverByes.get()).sum();

        System.out.printf("%n=== ChaosIT: no data lost (seed %d) ===%n", seed);
        System.out.printf("devices            %d%n", DEVICES);
        System.out.printf("messages sent      %d%n", sendsIssued.get());
        System.out.printf("acked              %d%n", acked.get());
        System.out.printf("stored             %d%n", check.stored);
        System.out.printf("duplicates         %d (same device+seq %d, same payload under two seqs %d)%n",
                check.duplicateKeys + check.duplicatePayloads, check.duplicateKeys, check.duplicatePayloads);
        System.out.printf("missing            %d%n", check.missing);
        System.out.printf("foreign            %d%n", check.foreign);
        System.out.printf("wrong payload      %d%n", check.wrongPayload);
        System.out.printf("out of order       %d%n", check.outOfOrder);
        System.out.printf("faults injected    kill -9 %d (exit status %s), takeovers %d (%d closed at once, %d left open),"
                        + " resets %d, blackholes %d%n", faults.kills, faults.killStatuses, faults.takeovers,
                faults.takeoversClosed, faults.takeovers - faults.takeoversClosed, faults.resets, faults.blackholes);
        System.out.printf("server launches    %d%n", server.starts());
        System.out.printf("server closes      %s%n", closes);
        System.out.printf("client side        connects %d, resent %d, BYE TAKEN_OVER %d, disconnects %s%n",
                clientTotals.connects(), clientTotals.messagesResent(), takenOverByes,
                clientTotals.disconnectsByReason());
        System.out.printf("elapsed            %.1f s%n%n", seconds());

        assertThat(sendsIssued.get()).isEqualTo(TOTAL);
        assertThat(acked.get()).isEqualTo(TOTAL);
        assertThat(check.problems).as("store vs. what the devices sent").isEmpty();
        assertThat(check.stored).isEqualTo(TOTAL);
        assertThat(exit).as("exit status after SIGTERM").isZero();

        // Every kind of fault was injected and had its effect.
        assertThat(faults.kills).isEqualTo(KILL_AT_PERCENT.length);
        assertThat(faults.killStatuses).containsOnly(ServerProcess.KILLED);
        assertThat(server.starts()).isEqualTo(1 + KILL_AT_PERCENT.length);
        assertThat(faults.takeovers).isGreaterThanOrEqualTo(MIN_EACH);
        assertThat(faults.resets).isGreaterThanOrEqualTo(MIN_EACH);
        assertThat(faults.blackholes).isGreaterThanOrEqualTo(MIN_EACH);
        assertThat(closes).as("server closes by reason, all runs")
                .containsKeys(Reason.TAKEN_OVER.name(), Reason.PEER_RESET.name(), Reason.HEARTBEAT_TIMEOUT.name());
    }

    // ---- devices -----------------------------------------------------------------------------

    /** One device: its client, its pacing, and what it was told about each message. */
    private final class Device implements ClientListener {
        final String id;
        final TetherClient client;
        /** Pacing; used by one pacer task at a time (each send schedules the next). */
        private final SplittableRandom pace;
        /** Index i (1..MESSAGES) → the future send() returned for message i. */
        final AtomicReferenceArray<CompletableFuture<Long>> futures = new AtomicReferenceArray<>(MESSAGES + 1);
        /** Messages handed to send() so far. */
        volatile int issued;
        final AtomicInteger takenOverByes = new AtomicInteger();

        Device(int index, long seed) {
            this.id = "dev-" + index;
            this.pace = new SplittableRandom(seed * 31 + index);
            this.client = TetherClient.builder()
                    .target("127.0.0.1", proxy.port())
                    .deviceId(id)
                    .heartbeat(Duration.ofMillis(500))
                    .backoff(Duration.ofMillis(50), Duration.ofSeconds(1))
                    .connectTimeout(Duration.ofSeconds(2))
                    .group(group)
                    .random(new SplittableRandom(seed * 17 + index))
                    .listener(this)
                    .build();
        }

        void scheduleNext() {
            pacer.schedule(this::sendNext, SEND_PAUSE_MIN_MS + pace.nextInt(SEND_PAUSE_SPREAD_MS), MILLISECONDS);
        }

        private void sendNext() {
            int i = issued + 1;
            try {
                CompletableFuture<Long> f = client.send(StoreCheck.payload(id, i));
                futures.set(i, f);
                issued = i;
                sendsIssued.incrementAndGet();
                f.whenComplete((seq, error) -> {
                    if (error != null) {
                        failed.incrementAndGet();
                        deviceErrors.add(id + " message " + i + ": send failed: " + error);
                    } else {
                        acked.incrementAndGet();
                        // A fresh store and one client per device: message i is seq i.
                        if (seq != i) {
                            deviceErrors.add(id + " message " + i + " was acknowledged as seq " + seq);
                        }
                    }
                });
            } catch (RuntimeException e) {
                deviceErrors.add(id + " message " + i + ": send threw " + e);
                return;
            }
            if (i < MESSAGES) {
                scheduleNext();
            }
        }

        @Override
        public void onBye(Goodbye bye) {
            if (bye.reason() == Reason.TAKEN_OVER) {
                takenOverByes.incrementAndGet();
            }
        }
    }

    // ---- chaos -------------------------------------------------------------------------------

    private enum Kind { TAKEOVER, RESET, BLACKHOLE }

    /** What the chaos loop did. */
    private static final class Faults {
        int kills;
        final List<Integer> killStatuses = new ArrayList<>();
        int takeovers;
        int takeoversClosed;
        int resets;
        int blackholes;
        int skipped;

        int total() {
            return kills + takeovers + resets + blackholes;
        }

        @Override
        public String toString() {
            return "kill -9 " + kills + ", takeovers " + takeovers + ", resets " + resets + ", blackholes "
                    + blackholes + " (" + skipped + " picks found no live device)";
        }
    }

    /**
     * Injects faults while the devices send: the kills when the acknowledgements pass their
     * thresholds, and in between one takeover, reset or blackhole every 80 to 250 ms, the kinds in
     * shuffled rounds so each comes up about equally often. Ends when every send is issued, every
     * kill done and every other kind injected {@link #MIN_EACH} times, or at its bounds.
     */
    private Faults runChaos(Random chaos) throws Exception {
        Faults f = new Faults();
        long deadline = System.nanoTime() + CHAOS_TIME_BOUND.toNanos();
        List<Kind> round = new ArrayList<>();
        while ((sendsIssued.get() < TOTAL || f.kills < KILL_AT_PERCENT.length
                        || Math.min(f.takeovers, Math.min(f.resets, f.blackholes)) < MIN_EACH)
                && System.nanoTime() < deadline && f.total() < CHAOS_FAULT_BOUND) {
            if (f.kills < KILL_AT_PERCENT.length
                    && acked.get() >= (long) TOTAL * KILL_AT_PERCENT[f.kills] / 100) {
                killAndRestart(chaos, f);
                continue;
            }
            if (round.isEmpty()) {
                round.addAll(List.of(Kind.values()));
                Collections.shuffle(round, chaos);
            }
            Kind kind = round.remove(0);
            Device d = pickConnected(chaos);
            if (d == null) {
                f.skipped++;
            } else {
                switch (kind) {
                    case TAKEOVER -> takeover(d, chaos, f);
                    case RESET -> {
                        ChaosProxy.Link link = proxy.link(d.id);
                        if (link != null) {
                            link.reset();
                            f.resets++;
                            log("reset %s (RST both ways)", d.id);
                        }
                    }
                    case BLACKHOLE -> {
                        ChaosProxy.Link link = proxy.link(d.id);
                        if (link != null) {
                            link.blackhole();
                            f.blackholes++;
                            log("blackhole %s (silence both ways)", d.id);
                        }
                    }
                    default -> throw new AssertionError(kind);
                }
            }
            Thread.sleep(80 + chaos.nextInt(170));
        }
        return f;
    }

    private void killAndRestart(Random chaos, Faults f) throws Exception {
        int issuedAtKill = sendsIssued.get();
        int status = server.kill9();
        f.kills++;
        f.killStatuses.add(status);
        long downMillis = 200 + chaos.nextInt(800);
        log("kill -9 #%d at %d sends issued, %d acked: exit status %d; down %d ms before relaunch",
                f.kills, issuedAtKill, acked.get(), status, downMillis);
        Thread.sleep(downMillis);
        long t = System.nanoTime();
        server.restart();
        log("server relaunched on port %d, accepting after %d ms", server.port(), (System.nanoTime() - t) / 1_000_000);
    }

    /** A random device with a session up, or null if a few tries find none. */
    private Device pickConnected(Random chaos) {
        for (int i = 0; i < 20; i++) {
            Device d = devices.get(chaos.nextInt(DEVICES));
            if (d.client.isConnected()) {
                return d;
            }
        }
        return null;
    }

    /**
     * A raw connection straight to the server (not through the proxy) says HELLO with the device's
     * id, so the server kicks the device's session with TAKEN_OVER. Then either the raw connection
     * closes at once, or it stays for the device's reconnect to take the id back (TAKEN_OVER again,
     * this time for the raw connection).
     */
    private void takeover(Device d, Random chaos, Faults f) {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 2000);
            s.setSoTimeout(5000);
            ByteBuf hello = Unpooled.buffer();
            FrameCodec.encode(new Frame.Hello(0, 0, d.id, new byte[0]), hello);
            OutputStream out = s.getOutputStream();
            out.write(ByteBufUtil.getBytes(hello));
            out.flush();
            hello.release();
            Frame reply = readFrame(new DataInputStream(s.getInputStream()));
            if (!(reply instanceof Frame.Welcome w)) {
                log("takeover of %s not confirmed: server answered %s", d.id, reply);
                s.close();
                return;
            }
            f.takeovers++;
            boolean closeNow = chaos.nextBoolean();
            if (closeNow) {
                f.takeoversClosed++;
                s.close();
            } else {
                intruders.add(s);
            }
            log("takeover %s (raw HELLO, WELCOME last_seq %d; raw connection %s)", d.id, w.lastSeq(),
                    closeNow ? "closed at once" : "left for the device to take back");
        } catch (IOException | RuntimeException e) {
            log("takeover of %s not confirmed: %s", d.id, e);
            closeQuietly(s);
        }
    }

    private static Frame readFrame(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 2 || length > 4096) {
            throw new IOException("unexpected frame length " + length);
        }
        byte[] frame = new byte[4 + length];
        in.readFully(frame, 4, length);
        ByteBuf buf = Unpooled.wrappedBuffer(frame);
        buf.setInt(0, length);
        return FrameCodec.decode(buf);
    }

    private void closeIntruders() {
        for (Socket s : intruders) {
            closeQuietly(s);
        }
        intruders.clear();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a socket the server may already have reset
        }
    }

    // ---- waiting and checking ----------------------------------------------------------------

    private void awaitEveryAck() {
        try {
            await("every send acknowledged or failed")
                    .atMost(ACK_BOUND)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> acked.get() + failed.get() == TOTAL);
        } catch (ConditionTimeoutException e) {
            StringBuilder sb = new StringBuilder(e.getMessage()).append("\nissued ").append(sendsIssued.get())
                    .append(", acked ").append(acked.get()).append(", failed ").append(failed.get());
            devices.stream().filter(d -> d.issued < MESSAGES || d.client.pendingCount() > 0).limit(20)
                    .forEach(d -> sb.append("\n  ").append(d.id).append(": issued ").append(d.issued)
                            .append(", pending ").append(d.client.pendingCount()).append(", connected ")
                            .append(d.client.isConnected()).append(", ").append(d.client.stats()));
            sb.append('\n').append(server.logTail(30));
            throw new AssertionError(sb.toString(), e);
        }
    }

    /** What each device sent and was acknowledged, as the store check wants it. */
    private Map<String, StoreCheck.Sent> sent() {
        Map<String, StoreCheck.Sent> sent = new HashMap<>();
        for (Device d : devices) {
            Set<Long> acked = new HashSet<>();
            for (int i = 1; i <= MESSAGES; i++) {
                CompletableFuture<Long> f = d.futures.get(i);
                if (f != null && f.isDone() && !f.isCompletedExceptionally()) {
                    acked.add((long) i);
                }
            }
            sent.put(d.id, new StoreCheck.Sent(d.issued, acked));
        }
        return sent;
    }

    private double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private void log(String format, Object... args) {
        System.out.printf("[chaos %6.2fs] %s%n", seconds(), String.format(format, args));
    }
}
