package io.tether.client;

import io.netty.util.concurrent.FastThreadLocalThread;
import io.tether.protocol.Frame;
import io.tether.protocol.Protocol;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.tether.client.TestClients.await;
import static io.tether.client.TestClients.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** onCommand: protocol version 2, each command processed once, acknowledged, its result delivered. */
class CommandTest {
    private static final Duration QUIET = Duration.ofMillis(300);

    @TempDir
    Path dir;

    private final CommandServer server = new CommandServer();
    private final List<TetherClient> clients = new CopyOnWriteArrayList<>();
    /** Every seq the handlers saw, in order, across clients. */
    private final List<Long> processed = new CopyOnWriteArrayList<>();
    private final List<Thread> handlerThreads = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() {
        for (TetherClient c : clients) {
            c.close();
            await(c.closeFuture());
        }
        server.close();
    }

    /** Records the seq and answers SUCCEEDED "ok-SEQ". */
    private CommandResult ok(DeviceCommand c) {
        processed.add(c.seq());
        handlerThreads.add(Thread.currentThread());
        return CommandResult.succeeded(bytes("ok-" + c.seq()));
    }

    private TetherClient start(TetherClient.Builder b) {
        TetherClient c = b.build();
        clients.add(c);
        c.connect();
        return c;
    }

    private TetherClient.Builder builder() {
        return TestClients.builder(server.port(), new ClientListener() { });
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void hello_isVersion2_exactlyWhenAHandlerIsSet() {
        start(builder());
        CommandServer.Conn v1 = server.accept();
        assertThat(v1.hello().version()).isEqualTo(Protocol.VERSION);
        v1.welcome(0);

        start(builder().deviceId("dev-2").onCommand(this::ok));
        CommandServer.Conn v2 = server.accept();
        assertThat(v2.hello().version()).isEqualTo(Protocol.VERSION_COMMANDS);
        v2.welcome(0);
        // Every later frame of the connection carries version 2 (next() checks the version byte).
        TetherClient c = clients.get(1);
        var sent = c.send(bytes("reading"));
        assertThat(v2.next(Frame.Data.class).seq()).isEqualTo(1);
        v2.send(new Frame.Ack(1));
        assertThat(await(sent)).isEqualTo(1);
        v2.command(1, "unlock");
        assertThat(v2.next(Frame.CommandAck.class).seq()).isEqualTo(1);
    }

    @Test
    void commands_areProcessedInOrderOnce_andEachAckIsCumulative() {
        TetherClient c = start(builder().onCommand(this::ok));
        CommandServer.Conn conn = server.session(0);
        for (long seq : new long[] {1, 2, 3, 7}) {   // 4 to 6 canceled: gaps are allowed
            conn.command(seq, "cmd-" + seq);
        }
        for (long seq : new long[] {1, 2, 3, 7}) {
            assertThat(conn.next(Frame.CommandAck.class).seq()).isEqualTo(seq);
            Frame.Result r = conn.next(Frame.Result.class);
            assertThat(r.seq()).isEqualTo(seq);
            assertThat(r.succeeded()).isTrue();
            assertThat(text(r.payload())).isEqualTo("ok-" + seq);
            conn.send(new Frame.ResultAck(seq));
        }
        assertThat(processed).containsExactly(1L, 2L, 3L, 7L);
        await().atMost(FakeServer.WAIT).until(() -> c.stats().resultsAcked() == 4);
        ClientStats s = c.stats();
        assertThat(s.commandsReceived()).isEqualTo(4);
        assertThat(s.commandsProcessed()).isEqualTo(4);
        assertThat(s.commandsDuplicate()).isZero();
        assertThat(s.resultsSent()).isEqualTo(4);
    }

    @Test
    void duplicatesAfterAReconnect_areAckedAgain_andNotProcessed() {
        TetherClient c = start(builder().onCommand(cmd -> {
            processed.add(cmd.seq());
            return CommandResult.none();
        }));
        CommandServer.Conn first = server.session(0);
        first.command(1, "a");
        first.command(2, "b");
        assertThat(first.next(Frame.CommandAck.class).seq()).isEqualTo(1);
        assertThat(first.next(Frame.CommandAck.class).seq()).isEqualTo(2);
        first.close(); // as if both ACKs were lost with the connection

        CommandServer.Conn second = server.session(0);
        second.command(1, "a"); // the server resends what it has not seen acknowledged
        assertThat(second.next(Frame.CommandAck.class).seq()).isEqualTo(2);
        second.command(2, "b");
        assertThat(second.next(Frame.CommandAck.class).seq()).isEqualTo(2);
        second.command(3, "c");
        assertThat(second.next(Frame.CommandAck.class).seq()).isEqualTo(3);

        assertThat(processed).containsExactly(1L, 2L, 3L);
        assertThat(c.stats().commandsDuplicate()).isEqualTo(2);
        assertThat(c.stats().commandsReceived()).isEqualTo(5);
        assertThat(second.poll(QUIET)).as("no RESULT for none()").isNull();
    }

    @Test
    void aCommandStillRunningWhenItsConnectionEnds_runsOnce_andIsAckedOnTheNextConnection() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TetherClient c = start(builder().onCommand(cmd -> {
            processed.add(cmd.seq());
            release.await(FakeServer.WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return CommandResult.succeeded(bytes("done"));
        }));
        CommandServer.Conn first = server.session(0);
        first.command(1, "long job");
        await().atMost(FakeServer.WAIT).until(() -> processed.size() == 1);
        first.close();

        CommandServer.Conn second = server.session(0);
        second.command(1, "long job"); // resent: the handler still has it
        assertThat(second.poll(QUIET)).as("no ACK while it runs").isNull();
        release.countDown();
        assertThat(second.next(Frame.CommandAck.class).seq()).isEqualTo(1);
        assertThat(second.next(Frame.Result.class).seq()).isEqualTo(1);
        assertThat(processed).containsExactly(1L);
        assertThat(c.stats().commandsDuplicate()).isEqualTo(1);
    }

    @Test
    void aResult_isResentAfterEachReconnect_untilItsResultAck() {
        TetherClient c = start(builder().onCommand(this::ok));
        CommandServer.Conn first = server.session(0);
        first.command(1, "x");
        first.next(Frame.CommandAck.class);
        assertThat(first.next(Frame.Result.class).seq()).isEqualTo(1);
        first.close(); // no RESULT_ACK

        CommandServer.Conn second = server.session(0);
        Frame.Result again = second.next(Frame.Result.class);
        assertThat(again.seq()).isEqualTo(1);
        assertThat(text(again.payload())).isEqualTo("ok-1");
        second.send(new Frame.ResultAck(1));
        await().atMost(FakeServer.WAIT).until(() -> c.stats().resultsAcked() == 1);
        second.close();

        CommandServer.Conn third = server.session(0);
        assertThat(third.poll(QUIET)).as("an acknowledged result is not resent").isNull();
        assertThat(processed).containsExactly(1L);
        assertThat(c.stats().resultsSent()).isEqualTo(2);
    }

    @Test
    void withAnOutboxFile_aRestartedClient_neitherReprocesses_norForgetsUnackedResults() {
        Path file = dir.resolve("outbox");
        TetherClient before = start(builder().outboxFile(file).onCommand(this::ok));
        CommandServer.Conn first = server.session(0);
        first.command(1, "a");
        first.command(2, "b");
        for (long seq = 1; seq <= 2; seq++) {
            first.next(Frame.CommandAck.class);
            first.next(Frame.Result.class);
        }
        first.send(new Frame.ResultAck(1)); // the result of 2 stays unacknowledged
        await().atMost(FakeServer.WAIT).until(() -> before.stats().resultsAcked() == 1);
        before.close();
        await(before.closeFuture());
        first.close();

        // The application restarts: a new client on the same file.
        TetherClient after = start(builder().outboxFile(file).onCommand(this::ok));
        CommandServer.Conn second = server.session(0);
        Frame.Result resent = second.next(Frame.Result.class);
        assertThat(resent.seq()).isEqualTo(2);
        assertThat(text(resent.payload())).isEqualTo("ok-2");
        second.command(2, "b"); // its ACK was lost: the server sends it again
        assertThat(second.next(Frame.CommandAck.class).seq()).isEqualTo(2);
        second.command(3, "c");
        assertThat(second.next(Frame.CommandAck.class).seq()).isEqualTo(3);
        assertThat(second.next(Frame.Result.class).seq()).isEqualTo(3);

        assertThat(processed).containsExactly(1L, 2L, 3L);
        assertThat(after.stats().commandsDuplicate()).isEqualTo(1);
    }

    @Test
    void withAnOutboxFile_theAckWaitsUntilTheProcessedRecordIsWritten() {
        TetherClient c = start(builder().outboxFile(dir.resolve("outbox")).onCommand(this::ok));
        CommandServer.Conn conn = server.session(0);
        c.outboxFile().holdWrites(true); // the disk stalls
        conn.command(1, "a");
        await().atMost(FakeServer.WAIT).until(() -> processed.size() == 1);
        assertThat(conn.poll(QUIET)).as("no COMMAND_ACK before the record is durable").isNull();
        c.outboxFile().holdWrites(false);
        assertThat(conn.next(Frame.CommandAck.class).seq()).isEqualTo(1);
    }

    @Test
    void aThrowingHandler_givesAFailedResultWithTheMessage() {
        TetherClient c = start(builder().onCommand(cmd -> {
            throw new IllegalStateException("valve stuck at 40 %");
        }));
        CommandServer.Conn conn = server.session(0);
        conn.command(1, "open");
        assertThat(conn.next(Frame.CommandAck.class).seq()).isEqualTo(1);
        Frame.Result r = conn.next(Frame.Result.class);
        assertThat(r.status()).isEqualTo(Frame.Result.FAILED);
        assertThat(text(r.payload())).isEqualTo("valve stuck at 40 %");
        assertThat(c.isConnected()).isTrue();
        assertThat(c.stats().commandsProcessed()).isEqualTo(1);
    }

    @Test
    void theHandler_runsOffTheEventLoop_soASlowOneDoesNotHoldUpTheConnection() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TetherClient c = start(builder().onCommand(cmd -> {
            handlerThreads.add(Thread.currentThread());
            release.await(FakeServer.WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return CommandResult.none();
        }));
        CommandServer.Conn conn = server.session(0);
        conn.command(1, "slow");
        await().atMost(FakeServer.WAIT).until(() -> handlerThreads.size() == 1);
        // While the handler blocks, uplink still flows: the event loop is free.
        var sent = c.send(bytes("meanwhile"));
        assertThat(conn.next(Frame.Data.class).seq()).isEqualTo(1);
        conn.send(new Frame.Ack(1));
        assertThat(await(sent)).isEqualTo(1);
        release.countDown();
        assertThat(conn.next(Frame.CommandAck.class).seq()).isEqualTo(1);

        Thread t = handlerThreads.get(0);
        assertThat(t).isNotInstanceOf(FastThreadLocalThread.class); // Netty's event loop threads are
        assertThat(t.getName()).isEqualTo("tether-commands-dev-1");
    }

    @Test
    void inline_handlerRunsOnTheEventLoop_inOrderOnce_withAcksAndResults() {
        TetherClient c = start(builder().onCommandInline(this::ok));
        CommandServer.Conn conn = server.session(0);
        for (long seq = 1; seq <= 3; seq++) {
            conn.command(seq, "cmd-" + seq);
        }
        for (long seq = 1; seq <= 3; seq++) {
            assertThat(conn.next(Frame.CommandAck.class).seq()).isEqualTo(seq);
            Frame.Result r = conn.next(Frame.Result.class);
            assertThat(r.seq()).isEqualTo(seq);
            assertThat(text(r.payload())).isEqualTo("ok-" + seq);
            conn.send(new Frame.ResultAck(seq));
        }
        conn.command(2, "cmd-2"); // a resend: acknowledged again, not processed
        assertThat(conn.next(Frame.CommandAck.class).seq()).isEqualTo(3);
        assertThat(processed).containsExactly(1L, 2L, 3L);
        assertThat(handlerThreads).allMatch(t -> t instanceof FastThreadLocalThread);
        await().atMost(FakeServer.WAIT).until(() -> c.stats().resultsAcked() == 3);
    }

    @Test
    void inline_withAnOutboxFile_isRefusedByBuild(@TempDir Path dir) {
        TetherClient.Builder b = builder().onCommandInline(this::ok).outboxFile(dir.resolve("outbox"));
        org.assertj.core.api.Assertions.assertThatThrownBy(b::build)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("onCommandInline cannot be used with outboxFile");
    }

    @Test
    void aServerWithoutVersion2_isUsedWithVersion1() {
        TetherClient c = start(builder().onCommand(this::ok));
        CommandServer.Conn old = server.accept();
        assertThat(old.hello().version()).isEqualTo(2);
        old.version = 1; // an older gateway answers in version 1
        old.send(new Frame.Bye(Reason.UNSUPPORTED_VERSION));
        old.close();

        CommandServer.Conn again = server.accept();
        assertThat(again.hello().version()).isEqualTo(1);
        again.welcome(0);
        var sent = c.send(bytes("still delivered"));
        assertThat(again.next(Frame.Data.class).seq()).isEqualTo(1);
        again.send(new Frame.Ack(1));
        assertThat(await(sent)).isEqualTo(1);
    }
}
