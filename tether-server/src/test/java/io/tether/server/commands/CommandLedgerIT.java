package io.tether.server.commands;

import io.tether.protocol.Frame;
import io.tether.protocol.Protocol;
import io.tether.server.Command;
import io.tether.server.CommandException;
import io.tether.server.CommandLimits;
import io.tether.server.CommandRequest;
import io.tether.server.CommandState;
import io.tether.server.Commands;
import io.tether.server.MessageStores;
import io.tether.server.SessionListener;
import io.tether.server.TetherServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The command ledger end to end: a real server, a device speaking version 2 byte by byte. */
class CommandLedgerIT {
    @TempDir
    Path dir;
    private TetherServer server;
    private final List<Command> events = new CopyOnWriteArrayList<>();

    private TetherServer start(CommandLimits limits, boolean rocks) throws IOException {
        TetherServer.Builder b = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(2))
                .commandLimits(limits)
                .listener(new SessionListener() {
                    @Override
                    public void onCommand(Command command) {
                        events.add(command);
                    }
                });
        if (rocks) {
            b.store(MessageStores.rocksDb(dir.resolve("data"), true));
        }
        server = b.build().start();
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static Command submit(Commands c, String device, String text) {
        return c.submit(CommandRequest.of(device, text.getBytes(StandardCharsets.UTF_8)))
                .toCompletableFuture().join().command();
    }

    private static Command get(Commands c, String id) {
        return c.get(id).toCompletableFuture().join().orElseThrow();
    }

    @Test
    void offlineDevice_getsEveryQueuedCommandInOrder_andEachEndsSucceeded() throws Exception {
        start(CommandLimits.DEFAULTS, true);
        Commands commands = server.commands();
        List<Command> queued = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            queued.add(submit(commands, "meter-1", "cmd-" + i));
        }
        assertThat(queued).extracting(Command::state).containsOnly(CommandState.QUEUED);
        assertThat(queued).extracting(Command::seq).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, 50).boxed().toList());
        assertThat(commands.open("meter-1")).isEqualTo(50);

        var waits = queued.stream().map(c -> commands.await(c.id(), Duration.ofSeconds(20)).toCompletableFuture()).toList();
        try (V2Device d = new V2Device(server.port())) {
            d.hello("meter-1");
            List<String> received = new ArrayList<>();
            List<Long> resultAcks = new ArrayList<>();
            long lastProcessed = 0;
            while (received.size() < 50 || resultAcks.size() < 50) {
                Frame f = d.read();
                if (f instanceof Frame.ResultAck ra) {
                    resultAcks.add(ra.seq());
                    continue;
                }
                Frame.Command c = (Frame.Command) f;
                assertThat(c.seq()).isGreaterThan(lastProcessed);
                lastProcessed = c.seq();
                received.add(new String(c.payload(), StandardCharsets.UTF_8));
                d.send(new Frame.CommandAck(c.seq()));
                d.send(new Frame.Result(c.seq(), Frame.Result.SUCCEEDED, ("ok " + c.seq()).getBytes(StandardCharsets.UTF_8)));
            }
            assertThat(resultAcks).containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 50).boxed().toList());
            assertThat(received).containsExactlyElementsOf(queued.stream()
                    .map(c -> new String(c.payload(), StandardCharsets.UTF_8)).toList());
        }
        for (int i = 0; i < 50; i++) {
            Command done = waits.get(i).get(5, TimeUnit.SECONDS);
            assertThat(done.state()).isEqualTo(CommandState.SUCCEEDED);
            assertThat(done.attempts()).isEqualTo(1);
            assertThat(new String(done.result(), StandardCharsets.UTF_8)).isEqualTo("ok " + (i + 1));
            assertThat(done.deliveredAtMillis()).isGreaterThanOrEqualTo(done.sentAtMillis());
        }
        assertThat(commands.open("meter-1")).isZero();
        assertThat(commands.list("meter-1", Set.of(CommandState.SUCCEEDED), 1000).toCompletableFuture().join()).hasSize(50);
        // One event per state change: QUEUED, SENT, DELIVERED, SUCCEEDED for each.
        await().atMost(5, TimeUnit.SECONDS).until(() -> events.size() >= 200);
        assertThat(events.stream().filter(c -> c.id().equals(queued.get(0).id())).map(Command::state))
                .containsExactly(CommandState.QUEUED, CommandState.SENT, CommandState.DELIVERED, CommandState.SUCCEEDED);
    }

    @Test
    void windowBoundsCommandsInFlight_andCumulativeAckReleasesMore() throws Exception {
        start(new CommandLimits(1000, Duration.ofHours(1), Duration.ofDays(1), 4), false);
        Commands commands = server.commands();
        for (int i = 1; i <= 10; i++) {
            submit(commands, "d", "c" + i);
        }
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            for (int i = 1; i <= 4; i++) {
                assertThat(d.command().seq()).isEqualTo(i);
            }
            assertThat(d.silentFor(300)).as("no fifth command before an ACK").isTrue();
            d.send(new Frame.CommandAck(4)); // one cumulative ACK for four
            for (int i = 5; i <= 8; i++) {
                assertThat(d.command().seq()).isEqualTo(i);
            }
            d.send(new Frame.CommandAck(100)); // above what was sent: covers 5..8 only
            assertThat(d.command().seq()).isEqualTo(9);
            assertThat(d.command().seq()).isEqualTo(10);
        }
        await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(
                commands.list("d", Set.of(CommandState.DELIVERED), 100).toCompletableFuture().join()).hasSize(8));
        assertThat(commands.list("d", Set.of(), 100).toCompletableFuture().join())
                .extracting(Command::state).endsWith(CommandState.QUEUED, CommandState.QUEUED);
    }

    @Test
    void connectionEndsBeforeAck_commandIsQueuedAgainAndSentOnTheNextSession() throws Exception {
        start(CommandLimits.DEFAULTS, false);
        Commands commands = server.commands();
        Command c = submit(commands, "d", "unlock");
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            assertThat(d.command().seq()).isEqualTo(c.seq());
            await().untilAsserted(() -> assertThat(get(commands, c.id()).state()).isEqualTo(CommandState.SENT));
            d.reset();
        }
        await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get(commands, c.id()).state())
                .isEqualTo(CommandState.QUEUED));
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            Frame.Command again = d.command();
            assertThat(again.seq()).isEqualTo(c.seq());
            d.send(new Frame.CommandAck(again.seq()));
            await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get(commands, c.id()).state())
                    .isEqualTo(CommandState.DELIVERED));
        }
        assertThat(get(commands, c.id()).attempts()).isEqualTo(2);
    }

    @Test
    void takeoverWhileSent_commandIsDeliveredOnTheNewConnectionOnce() throws Exception {
        start(CommandLimits.DEFAULTS, false);
        Commands commands = server.commands();
        Command c = submit(commands, "d", "reboot");
        try (V2Device old = new V2Device(server.port()); V2Device fresh = new V2Device(server.port())) {
            old.hello("d");
            assertThat(old.command().seq()).isEqualTo(c.seq());
            fresh.hello("d"); // takeover: the old one gets BYE TAKEN_OVER
            Frame.Command again = fresh.command();
            assertThat(again.seq()).isEqualTo(c.seq());
            // A late ACK on the old connection counts for nothing: it is not the device's session any more.
            try {
                old.send(new Frame.CommandAck(c.seq()));
            } catch (IOException ignored) {
                // already reset
            }
            fresh.send(new Frame.CommandAck(again.seq()));
            await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get(commands, c.id()).state())
                    .isEqualTo(CommandState.DELIVERED));
            assertThat(fresh.silentFor(300)).as("sent once on the new connection").isTrue();
        }
        assertThat(get(commands, c.id()).attempts()).isEqualTo(2);
        assertThat(events.stream().filter(e -> e.state() == CommandState.DELIVERED)).hasSize(1);
    }

    @Test
    void ttlPasses_commandExpiresAndIsNeverSent() throws Exception {
        start(CommandLimits.DEFAULTS, false);
        Commands commands = server.commands();
        Command c = commands.submit(new CommandRequest("d", "late".getBytes(StandardCharsets.UTF_8),
                Duration.ofMillis(300), null)).toCompletableFuture().join().command();
        Command done = commands.await(c.id(), Duration.ofSeconds(5)).toCompletableFuture().get(6, TimeUnit.SECONDS);
        assertThat(done.state()).isEqualTo(CommandState.EXPIRED);
        assertThat(done.detail()).contains("TTL");
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            assertThat(d.silentFor(500)).isTrue();
        }
    }

    @Test
    void cancelBeforeDelivery_isCanceledAndNeverSent_cancelAfterSendIsAConflict() throws Exception {
        start(CommandLimits.DEFAULTS, false);
        Commands commands = server.commands();
        Command first = submit(commands, "d", "one");
        Command canceled = commands.cancel(first.id()).toCompletableFuture().join();
        assertThat(canceled.state()).isEqualTo(CommandState.CANCELED);
        Command second = submit(commands, "d", "two");
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            assertThat(d.command().seq()).isEqualTo(second.seq()); // never the canceled one
            assertThatThrownBy(() -> commands.cancel(second.id()).toCompletableFuture().join())
                    .isInstanceOf(CompletionException.class).cause().isInstanceOf(CommandException.class)
                    .satisfies(e -> assertThat(((CommandException) e).kind()).isEqualTo(CommandException.Kind.CONFLICT));
        }
        assertThatThrownBy(() -> commands.cancel("01JD8X6Y0Z3K5V7W9Q1R2S3T4U").toCompletableFuture().join())
                .cause().satisfies(e -> assertThat(((CommandException) e).kind()).isEqualTo(CommandException.Kind.NOT_FOUND));
    }

    @Test
    void sameIdempotencyKeyTwice_givesOneCommand() throws Exception {
        start(CommandLimits.DEFAULTS, true);
        Commands commands = server.commands();
        CommandRequest r = new CommandRequest("d", "x".getBytes(StandardCharsets.UTF_8), null, "key-1");
        Commands.Submitted a = commands.submit(r).toCompletableFuture().join();
        Commands.Submitted b = commands.submit(r).toCompletableFuture().join();
        assertThat(a.created()).isTrue();
        assertThat(b.created()).isFalse();
        assertThat(b.command().id()).isEqualTo(a.command().id());
        assertThat(commands.list("d", Set.of(), 100).toCompletableFuture().join()).hasSize(1);
        // Still the same after the command has left memory (finished) and after a restart.
        commands.cancel(a.command().id()).toCompletableFuture().join();
        assertThat(commands.submit(r).toCompletableFuture().join().command().id()).isEqualTo(a.command().id());
        server.close();
        start(CommandLimits.DEFAULTS, true);
        Commands.Submitted c = server.commands().submit(r).toCompletableFuture().join();
        assertThat(c.created()).isFalse();
        assertThat(c.command().id()).isEqualTo(a.command().id());
        assertThat(c.command().state()).isEqualTo(CommandState.CANCELED);
    }

    @Test
    void restart_keepsQueuedCommandsAndSeqs_sentOnesComeBackQueued() throws Exception {
        start(CommandLimits.DEFAULTS, true);
        Command a = submit(server.commands(), "d", "a");
        Command b = submit(server.commands(), "d", "b");
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            d.command();
            d.command();
            d.send(new Frame.CommandAck(a.seq()));
            await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> assertThat(get(server.commands(), a.id()).state())
                    .isEqualTo(CommandState.DELIVERED));
        }
        server.close();
        start(CommandLimits.DEFAULTS, true);
        assertThat(get(server.commands(), a.id()).state()).isEqualTo(CommandState.DELIVERED);
        assertThat(get(server.commands(), b.id()).state()).isEqualTo(CommandState.QUEUED);
        Command c = submit(server.commands(), "d", "c");
        assertThat(c.seq()).isEqualTo(b.seq() + 1);
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            assertThat(d.command().seq()).isEqualTo(b.seq());
            assertThat(d.command().seq()).isEqualTo(c.seq());
        }
    }

    @Test
    void version1Device_getsNoCommands_theyStayQueued() throws Exception {
        start(CommandLimits.DEFAULTS, false);
        Command c = submit(server.commands(), "d", "x");
        try (V2Device d = new V2Device(server.port(), Protocol.VERSION)) {
            d.hello("d");
            assertThat(d.silentFor(500)).isTrue();
        }
        assertThat(get(server.commands(), c.id()).state()).isEqualTo(CommandState.QUEUED);
    }

    @Test
    void limits_queueFullAndOversizedPayloadAndTtl_areRefusedClearly() throws Exception {
        start(new CommandLimits(3, Duration.ofHours(1), Duration.ofHours(2), 32), false);
        Commands commands = server.commands();
        for (int i = 0; i < 3; i++) {
            submit(commands, "d", "x");
        }
        assertThatThrownBy(() -> submit(commands, "d", "x")).cause()
                .satisfies(e -> assertThat(((CommandException) e).kind()).isEqualTo(CommandException.Kind.QUEUE_FULL))
                .hasMessageContaining("3 open commands");
        assertThat(submit(commands, "other", "x").state()).as("another device is unaffected").isEqualTo(CommandState.QUEUED);
        assertThatThrownBy(() -> submit(commands, "e", "x".repeat(65_527))).cause()
                .satisfies(e -> assertThat(((CommandException) e).kind()).isEqualTo(CommandException.Kind.INVALID))
                .hasMessageContaining("65527 bytes exceeds the limit of 65526");
        assertThatThrownBy(() -> commands.submit(new CommandRequest("e", new byte[1], Duration.ofHours(3), null))
                .toCompletableFuture().join()).cause().hasMessageContaining("exceeds the maximum");
    }

    @Test
    void resultForUnknownOrFinishedCommand_isAcknowledgedSoTheDeviceStopsResending() throws Exception {
        start(CommandLimits.DEFAULTS, false);
        try (V2Device d = new V2Device(server.port())) {
            d.hello("d");
            d.send(new Frame.Result(77, Frame.Result.FAILED, new byte[0]));
            assertThat(d.read()).isEqualTo(new Frame.ResultAck(77));
        }
    }
}
