package io.tether.client.internal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The journal on its own: what a reload finds, after clean closes, torn writes and compaction. */
class OutboxFileTest {
    private static final String DEVICE = "dev-1";

    @TempDir
    Path dir;

    private final List<OutboxFile> open = new ArrayList<>();

    @AfterEach
    void tearDown() {
        open.forEach(f -> f.close().join());
    }

    /** A journal and its outbox, as a client would hold them. */
    private final class Journaled {
        final OutboxFile file;
        final Outbox outbox;
        final int restored;

        Journaled(Path path, long compactBytes) throws IOException {
            file = OutboxFile.open(path, DEVICE, true, compactBytes);
            open.add(file);
            outbox = new Outbox(file);
            restored = file.restoreInto(outbox);
            file.start("test-outbox-writer", () -> { }, e -> { });
        }

        /** What send() does: the MSG record, written before it returns. */
        Outbox.Entry send(String payload) {
            Outbox.Entry e = new Outbox.Entry(payload.getBytes(StandardCharsets.UTF_8), new CompletableFuture<>());
            long ticket = file.append(e);
            assertThat(file.awaitWritten(ticket)).isTrue();
            return e;
        }

        void close() {
            file.close().join();
        }
    }

    /** A journal opened for commands (version 2), started. */
    private OutboxFile commandJournal(Path path, long compactBytes) throws IOException {
        OutboxFile f = OutboxFile.open(path, DEVICE, true, compactBytes, true);
        open.add(f);
        f.restoreInto(new Outbox(f));
        f.start("test-outbox-writer", () -> { }, e -> { });
        return f;
    }

    /** What the command thread does: the record, durable before the COMMAND_ACK. */
    private static void processed(OutboxFile f, long seq, int status, String payload) {
        long ticket = f.processed(seq, status, payload == null ? null : payload.getBytes(StandardCharsets.UTF_8));
        assertThat(f.awaitWritten(ticket)).isTrue();
    }

    private static String results(OutboxFile f) {
        StringBuilder b = new StringBuilder();
        for (OutboxFile.StoredResult r : f.unackedResults()) {
            b.append(r.seq()).append(r.status() == 0 ? " SUCCEEDED " : " FAILED ")
                    .append(new String(r.payload(), StandardCharsets.UTF_8)).append(';');
        }
        return b.toString();
    }

    private static int headerVersion(Path path) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(path)).getInt(4);
    }

    private Journaled journal(Path path) throws IOException {
        return new Journaled(path, OutboxFile.DEFAULT_COMPACT_BYTES);
    }

    private record Msg(long seq, String payload) {
    }

    /** Everything a reload hands the outbox, in order: numbered (by seq), then unnumbered (seq 0). */
    private static List<Msg> contents(Outbox outbox) {
        List<Msg> out = new ArrayList<>();
        outbox.drainAll(e -> out.add(new Msg(e.seq(), new String(e.payload(), StandardCharsets.UTF_8))));
        return out;
    }

    @Test
    void reload_findsUnackedMessagesWithTheirSeqs_unnumberedOnesAfter_andTheNextSeq() throws IOException {
        Path path = dir.resolve("outbox");
        Journaled a = journal(path);
        a.outbox.onWelcome(10, 1_000, e -> { }, e -> { });
        for (int i = 1; i <= 4; i++) {
            Outbox.Entry e = a.send("m" + i);
            a.outbox.addSequenced(e); // 11..14
        }
        a.outbox.ackUpTo(12, e -> { });
        a.send("later");
        a.close();

        Journaled b = journal(path);
        assertThat(b.restored).isEqualTo(3);
        assertThat(b.outbox.nextSeq()).isEqualTo(15);
        assertThat(contents(b.outbox)).containsExactly(new Msg(13, "m3"), new Msg(14, "m4"), new Msg(0, "later"));
    }

    @Test
    void tornTail_isIgnoredOnLoad_everythingBeforeItIsKept_andLaterAppendsAreNotLostBehindIt() throws IOException {
        Path path = dir.resolve("outbox");
        Journaled a = journal(path);
        a.outbox.onWelcome(0, 1_000, e -> { }, e -> { });
        a.outbox.addSequenced(a.send("m1"));
        a.outbox.addSequenced(a.send("m2"));
        a.send("unnumbered");
        a.close();
        long intact = Files.size(path);

        // A crash in the middle of an append: the length and CRC of a 100-byte record, and half its body.
        ByteBuffer half = ByteBuffer.allocate(8 + 50).putInt(100).putInt(0xDEADBEEF);
        Files.write(path, half.array(), StandardOpenOption.APPEND);

        Journaled b = journal(path);
        assertThat(contents(b.outbox)).containsExactly(new Msg(1, "m1"), new Msg(2, "m2"), new Msg(0, "unnumbered"));
        assertThat(Files.size(path)).isEqualTo(intact); // cut off, so appends follow intact records
        b.send("after-the-crash");
        b.close();

        Journaled c = journal(path);
        assertThat(contents(c.outbox)).containsExactly(new Msg(1, "m1"), new Msg(2, "m2"),
                new Msg(0, "unnumbered"), new Msg(0, "after-the-crash"));
    }

    @Test
    void lastRecordFailingItsCrc_isIgnoredOnLoad_everythingBeforeItIsKept() throws IOException {
        Path path = dir.resolve("outbox");
        Journaled a = journal(path);
        a.send("kept");
        long before = Files.size(path);
        a.send("corrupted");
        a.close();

        byte[] bytes = Files.readAllBytes(path);
        bytes[bytes.length - 1] ^= 0x01; // one flipped bit in the last record's payload
        Files.write(path, bytes);

        Journaled b = journal(path);
        assertThat(contents(b.outbox)).containsExactly(new Msg(0, "kept"));
        assertThat(Files.size(path)).isEqualTo(before);
    }

    @Test
    void compaction_keepsUnackedMessages_andShrinksTheFile() throws IOException {
        Path path = dir.resolve("outbox");
        Journaled a = new Journaled(path, 4_096);
        a.outbox.onWelcome(0, 1_000, e -> { }, e -> { });
        String filler = "x".repeat(100);
        for (int i = 1; i <= 200; i++) {
            a.outbox.addSequenced(a.send(i + ":" + filler));
        }
        a.send("unnumbered-1");
        a.send("unnumbered-2");
        long grown = Files.size(path);
        assertThat(grown).isGreaterThan(200 * 100);

        a.outbox.ackUpTo(195, e -> { });
        a.send("after-the-ack");
        // The writer compacts after the batch holding the ACK, while the file stays open.
        await().untilAsserted(() -> assertThat(a.file.compactions()).isPositive());
        // 5 numbered + 3 unnumbered messages remain, about 140 bytes each.
        assertThat(Files.size(path)).isLessThan(8 * 160 + 200).isLessThan(grown / 10);
        assertThat(dir.resolve("outbox.compact")).doesNotExist();

        // The compacted file is still appended to, and everything live is in it.
        a.outbox.addSequenced(a.send("numbered-after-compaction")); // numbered 201, ahead of the unnumbered ones
        a.close();
        Journaled b = journal(path);
        List<Msg> expected = new ArrayList<>();
        for (int i = 196; i <= 200; i++) {
            expected.add(new Msg(i, i + ":" + filler));
        }
        expected.add(new Msg(201, "numbered-after-compaction"));
        expected.add(new Msg(0, "unnumbered-1"));
        expected.add(new Msg(0, "unnumbered-2"));
        expected.add(new Msg(0, "after-the-ack"));
        assertThat(contents(b.outbox)).containsExactlyElementsOf(expected);
        assertThat(b.outbox.nextSeq()).isEqualTo(202);
    }

    @Test
    void commandRecords_reloadAsTheLastProcessedSeq_andTheUnacknowledgedResults() throws IOException {
        Path path = dir.resolve("outbox");
        OutboxFile a = commandJournal(path, OutboxFile.DEFAULT_COMPACT_BYTES);
        processed(a, 1, -1, null);           // acknowledged only
        processed(a, 2, 0, "ok");
        processed(a, 5, 1, "valve stuck");
        a.resultAcked(2);
        a.close().join();

        OutboxFile b = commandJournal(path, OutboxFile.DEFAULT_COMPACT_BYTES);
        assertThat(b.lastProcessedCommand()).isEqualTo(5);
        assertThat(results(b)).isEqualTo("5 FAILED valve stuck;");
    }

    @Test
    void aVersion1File_isUpgradedWhenOpenedForCommands_andKeepsItsMessages() throws IOException {
        Path path = dir.resolve("outbox");
        Journaled v1 = journal(path);
        v1.outbox.onWelcome(0, 1_000, e -> { }, e -> { });
        v1.outbox.addSequenced(v1.send("m1"));
        v1.close();
        assertThat(headerVersion(path)).as("a client without commands keeps version 1").isEqualTo(1);

        OutboxFile f = OutboxFile.open(path, DEVICE, true, OutboxFile.DEFAULT_COMPACT_BYTES, true);
        open.add(f);
        Outbox outbox = new Outbox(f);
        assertThat(f.restoreInto(outbox)).isEqualTo(1);
        assertThat(headerVersion(path)).isEqualTo(2);
        f.start("test-outbox-writer", () -> { }, e -> { });
        processed(f, 3, 0, "ok");
        f.close().join();

        // Opened again without commands: the messages and the command state are both still there.
        Journaled again = journal(path);
        assertThat(contents(again.outbox)).containsExactly(new Msg(1, "m1"));
        again.close();
        OutboxFile withCommands = commandJournal(path, OutboxFile.DEFAULT_COMPACT_BYTES);
        assertThat(withCommands.lastProcessedCommand()).isEqualTo(3);
        assertThat(results(withCommands)).isEqualTo("3 SUCCEEDED ok;");
    }

    @Test
    void aCommandRecordInAVersion1File_isTreatedAsDamage() throws IOException {
        Path path = dir.resolve("outbox");
        journal(path).close();
        long intact = Files.size(path);
        // A DONE record (type 6, seq 9) appended to a version 1 file: not a record version 1 has.
        ByteBuffer rec = ByteBuffer.allocate(8 + 9);
        rec.putInt(9).putInt(0).put((byte) 6).putLong(9);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(rec.array(), 0, 4);
        crc.update(rec.array(), 8, 9);
        rec.putInt(4, (int) crc.getValue());
        Files.write(path, rec.array(), StandardOpenOption.APPEND);

        journal(path).close();
        assertThat(Files.size(path)).isEqualTo(intact);
    }

    @Test
    void compaction_keepsTheCommandState() throws IOException {
        Path path = dir.resolve("outbox");
        OutboxFile f = commandJournal(path, 4_096);
        Outbox outbox = new Outbox(f);
        outbox.onWelcome(0, 1_000, e -> { }, e -> { });
        String filler = "x".repeat(100);
        for (int i = 1; i <= 100; i++) {
            Outbox.Entry e = new Outbox.Entry((i + filler).getBytes(StandardCharsets.UTF_8), new CompletableFuture<>());
            assertThat(f.awaitWritten(f.append(e))).isTrue();
            outbox.addSequenced(e);
        }
        processed(f, 7, -1, null);
        processed(f, 8, 0, "kept");
        for (long seq = 9; seq <= 40; seq++) {
            processed(f, seq, 0, filler);
            f.resultAcked(seq);
        }
        outbox.ackUpTo(100, e -> { });
        Outbox.Entry last = new Outbox.Entry(new byte[1], new CompletableFuture<>());
        assertThat(f.awaitWritten(f.append(last))).isTrue();
        await().untilAsserted(() -> assertThat(f.compactions()).isPositive());
        f.close().join();

        OutboxFile b = commandJournal(path, 4_096);
        assertThat(b.lastProcessedCommand()).isEqualTo(40);
        assertThat(results(b)).isEqualTo("8 SUCCEEDED kept;");
        assertThat(headerVersion(path)).isEqualTo(2);
    }

    @Test
    void numberedMessage_isHeldBackUntilItsNumberIsDurable() throws IOException {
        Path path = dir.resolve("outbox");
        OutboxFile file = OutboxFile.open(path, DEVICE, true, OutboxFile.DEFAULT_COMPACT_BYTES);
        open.add(file);
        Outbox outbox = new Outbox(file);
        file.restoreInto(outbox);
        // Not started: nothing queued is written, as if the disk were slow.
        Outbox.Entry e = new Outbox.Entry(new byte[1], new CompletableFuture<>());
        file.append(e);
        outbox.onWelcome(0, 1_000, x -> { }, x -> { });
        outbox.addSequenced(e);
        assertThat(outbox.pollToWrite()).isNull();

        CompletableFuture<Void> durable = new CompletableFuture<>();
        file.start("test-outbox-writer", () -> durable.complete(null), x -> { });
        durable.join();
        assertThat(outbox.pollToWrite()).isSameAs(e);
    }

    @Test
    void secondOpen_ofALockedFile_failsWithIllegalStateException() throws IOException {
        Path path = dir.resolve("outbox");
        journal(path);
        assertThatThrownBy(() -> OutboxFile.open(path, DEVICE, true, OutboxFile.DEFAULT_COMPACT_BYTES))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("in use by another client");
    }

    @Test
    void fileThatIsNotAnOutbox_isRefused_andLeftAlone() throws IOException {
        Path path = dir.resolve("notes.txt");
        Files.writeString(path, "shopping list: milk, eggs, bread");
        assertThatThrownBy(() -> OutboxFile.open(path, DEVICE, true, OutboxFile.DEFAULT_COMPACT_BYTES))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not a Tether outbox file");
        assertThat(Files.readString(path)).isEqualTo("shopping list: milk, eggs, bread");
    }
}
