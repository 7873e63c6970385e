package io.tether.server.internal.delivery;

import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.internal.commands.CommandJournal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The journal writes only the last record of a command within one batch: what is read back, and
 * what a reopened store holds, is each command's last state, its id index and its idempotency key.
 */
class CommandJournalCoalescingTest {
    private static final int COMMANDS = 2_000;

    @TempDir
    Path dir;

    @Test
    void everyStateOfManyCommands_offeredBackToBack_leavesTheLastStateAndTheIndexes() throws Exception {
        List<Command> finals = new ArrayList<>();
        AtomicInteger failed = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(COMMANDS * 4);
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            CommandJournal journal = store.commandJournal();
            // Offered in a tight loop, the four records of a command mostly share a batch.
            for (int i = 0; i < COMMANDS; i++) {
                Command queued = new Command(String.format("01JCOALESCE%015d", i), "dev-" + (i % 10), i / 10 + 1,
                        "p".getBytes(StandardCharsets.US_ASCII), i % 2 == 0 ? "key-" + i : null, CommandState.QUEUED,
                        1_000, 3_600_000, 0, 0, 0, 0, null, "");
                Command sent = queued.with(CommandState.SENT, 1_001, 0, 0, 1, null, "");
                Command delivered = sent.with(CommandState.DELIVERED, 1_001, 1_002, 0, 1, null, "");
                Command succeeded = delivered.with(CommandState.SUCCEEDED, 1_001, 1_002, 1_003, 1,
                        "ok".getBytes(StandardCharsets.US_ASCII), "");
                journal.write(queued, true, e -> count(e, failed, done));
                journal.write(sent, false, e -> count(e, failed, done));
                journal.write(delivered, false, e -> count(e, failed, done));
                journal.write(succeeded, false, e -> count(e, failed, done));
                finals.add(succeeded);
            }
            assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(failed.get()).isZero();
        }
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            CommandJournal journal = store.commandJournal();
            for (Command c : finals) {
                assertThat(journal.read(c.id()).state()).as(c.id()).isEqualTo(CommandState.SUCCEEDED);
                assertThat(journal.read(c.deviceId(), c.seq()).finishedAtMillis()).isEqualTo(1_003);
                if (c.idempotencyKey() != null) {
                    assertThat(journal.byKey(c.deviceId(), c.idempotencyKey()).id()).isEqualTo(c.id());
                }
            }
            assertThat(journal.list("dev-3", Set.of(), 1_000)).hasSize(COMMANDS / 10)
                    .allMatch(c -> c.state() == CommandState.SUCCEEDED);
        }
    }

    private static void count(Throwable e, AtomicInteger failed, CountDownLatch done) {
        if (e != null) {
            failed.incrementAndGet();
        }
        done.countDown();
    }
}
