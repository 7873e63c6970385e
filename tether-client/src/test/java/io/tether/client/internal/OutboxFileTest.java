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
