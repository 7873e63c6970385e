package io.tether.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.server.AppendResult;
import io.tether.server.MessageStore;
import io.tether.server.internal.delivery.RocksDbMessageStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class StoreCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long T0 = Instant.parse("2026-11-26T06:00:00.123Z").toEpochMilli();

    @TempDir
    Path dir;

    /** Output of one run of {@code tether store ARGS}. */
    private record Run(int exitCode, String out, String err) {
        List<JsonNode> lines() throws Exception {
            List<JsonNode> nodes = new ArrayList<>();
            for (String line : out.split("\n")) {
                if (!line.isEmpty()) {
                    nodes.add(JSON.readTree(line));
                }
            }
            return nodes;
        }
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new StoreCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static void append(MessageStore store, String device, long seq, String payload) throws Exception {
        CompletableFuture<AppendResult> f = new CompletableFuture<>();
        store.append(device, seq, payload.getBytes(StandardCharsets.UTF_8), T0 + seq, (r, e) -> {
            if (e != null) {
                f.completeExceptionally(e);
            } else {
                f.complete(r);
            }
        });
        f.get(10, TimeUnit.SECONDS);
    }

    /** Two devices whose ids sort "a" < "a-1", three and two messages. */
    private void createStore() throws Exception {
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            append(store, "a-1", 1, "x");
            append(store, "a", 1, "first");
            append(store, "a", 2, "second");
            append(store, "a", 5, "after a gap");
            append(store, "a-1", 2, "y");
        }
    }

    @Test
    void dump_printsEveryMessageAsAJsonLine_inDeviceThenSeqOrder() throws Exception {
        createStore();

        Run r = run("dump", "--data-dir", dir.toString());

        assertThat(r.exitCode()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).endsWith("\n");
        List<JsonNode> lines = r.lines();
        assertThat(lines).extracting(n -> n.get("device").asText() + "/" + n.get("seq").asLong())
                .containsExactly("a/1", "a/2", "a/5", "a-1/1", "a-1/2");
        JsonNode first = lines.get(0);
        assertThat(first.get("receivedAt").asText()).isEqualTo("2026-11-26T06:00:00.124Z");
        assertThat(new String(Base64.getDecoder().decode(first.get("payload").asText()), StandardCharsets.UTF_8))
                .isEqualTo("first");
        assertThat(first.properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactly("device", "seq", "receivedAt", "payload");
    }

    @Test
    void dump_withDeviceAndFromSeq_printsOnlyThatTail() throws Exception {
        createStore();

        Run r = run("dump", "--data-dir", dir.toString(), "--device", "a", "--from-seq", "2");

        assertThat(r.exitCode()).isZero();
        assertThat(r.lines()).extracting(n -> n.get("device").asText() + "/" + n.get("seq").asLong())
                .containsExactly("a/2", "a/5");
    }

    @Test
    void dump_escapesPayloadsAsBase64_soBinaryBytesSurvive() throws Exception {
        byte[] binary = {0, (byte) 0xFF, '"', '\n', (byte) 0x80};
        try (RocksDbMessageStore store = RocksDbMessageStore.open(dir)) {
            CompletableFuture<AppendResult> f = new CompletableFuture<>();
            store.append("bin", 1, binary, T0, (res, e) -> f.complete(res));
            f.get(10, TimeUnit.SECONDS);
        }

        Run r = run("dump", "--data-dir", dir.toString());

        assertThat(r.lines()).hasSize(1);
        assertThat(Base64.getDecoder().decode(r.lines().get(0).get("payload").asText())).isEqualTo(binary);
    }

    @Test
    void dump_worksWhileTheServerHasTheStoreOpen() throws Exception {
        try (RocksDbMessageStore live = RocksDbMessageStore.open(dir)) {
            for (long seq = 1; seq <= 3; seq++) {
                append(live, "live", seq, "m" + seq);
            }

            Run r = run("dump", "--data-dir", dir.toString());

            assertThat(r.exitCode()).isZero();
            assertThat(r.lines()).extracting(n -> n.get("seq").asLong()).containsExactly(1L, 2L, 3L);
            // And the server keeps writing.
            append(live, "live", 4, "m4");
        }
    }

    @Test
    void stats_printsOneLinePerDevice_thenATotal() throws Exception {
        createStore();

        Run r = run("stats", "--data-dir", dir.toString());

        assertThat(r.exitCode()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).isEqualTo(String.join("\n",
                "{\"device\":\"a\",\"messages\":3,\"firstSeq\":1,\"lastSeq\":5}",
                "{\"device\":\"a-1\",\"messages\":2,\"firstSeq\":1,\"lastSeq\":2}",
                "{\"devices\":2,\"messages\":5}") + "\n");
    }

    @Test
    void stats_ofAnEmptyStore_printsAZeroTotal() throws Exception {
        RocksDbMessageStore.open(dir).close();

        Run r = run("stats", "--data-dir", dir.toString());

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo("{\"devices\":0,\"messages\":0}\n");
    }

    @Test
    void missingDirectory_isExplainedOnStderr_exit2() {
        Path missing = dir.resolve("nope");

        for (String sub : List.of("dump", "stats")) {
            Run r = run(sub, "--data-dir", missing.toString());

            assertThat(r.exitCode()).as(sub).isEqualTo(2);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).isEqualTo("tether store: " + missing.toAbsolutePath() + ": no such directory\n");
        }
    }

    @Test
    void directoryThatIsNotAStore_isExplainedOnStderr_exit2() throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "not a database");

        Run r = run("dump", "--data-dir", dir.toString());

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("not a Tether store");
        // Read-only: nothing was created in someone else's directory.
        assertThat(Files.list(dir)).hasSize(1);
    }

    @Test
    void badArguments_exit2() throws Exception {
        createStore();

        assertThat(run("dump", "--data-dir", dir.toString(), "--from-seq", "-1").exitCode()).isEqualTo(2);
        Run badId = run("dump", "--data-dir", dir.toString(), "--device", "has space");
        assertThat(badId.exitCode()).isEqualTo(2);
        assertThat(badId.err()).contains("deviceId");
        assertThat(run("dump").exitCode()).as("--data-dir is required").isEqualTo(2);
        Run none = run();
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).contains("missing subcommand", "dump", "stats");
    }
}
