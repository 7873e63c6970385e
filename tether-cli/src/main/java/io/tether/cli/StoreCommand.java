package io.tether.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import io.tether.server.DeviceStats;
import io.tether.server.MessageCursor;
import io.tether.server.StoreReader;
import io.tether.server.StoredMessage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tether store}: reads the server's durable message store (the RocksDB directory given to
 * {@code tether serve}) without stopping the server. It opens the directory read-only and takes no
 * lock, and sees what was stored up to the moment it opened.
 *
 * <pre>
 * tether store dump --data-dir /var/lib/tether [--device meter-0042] [--from-seq 100]
 * tether store stats --data-dir /var/lib/tether
 * </pre>
 *
 * <p>Output is JSON lines on stdout; errors go to stderr. Exit codes: 0 done; 1 a read failed
 * part-way (what was printed before is valid); 2 wrong usage, a missing directory, or a directory
 * that is not a Tether store. An instance serves one invocation; it is not thread-safe.
 */
@Command(
        name = "store",
        mixinStandardHelpOptions = true,
        description = "Reads the durable message store, read-only: works while a server runs on the same directory.",
        subcommands = {StoreCommand.Dump.class, StoreCommand.Stats.class})
public final class StoreCommand implements Callable<Integer> {

    /** Exit code when a read fails part-way. */
    static final int EXIT_READ_FAILED = 1;
    /** Exit code for wrong usage or a directory that cannot be opened as a store. */
    static final int EXIT_USAGE = 2;

    private static final DateTimeFormatter RECEIVED_AT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("tether store: missing subcommand (dump or stats)");
        spec.commandLine().usage(err);
        err.flush();
        return EXIT_USAGE;
    }

    /** {@code tether store dump}: one JSON line per stored message, in (device, seq) order. */
    @Command(
            name = "dump",
            mixinStandardHelpOptions = true,
            description = {
                "Prints stored messages as JSON lines, in (device, seq) order.",
                "For example:",
                "{\"device\":\"meter-0042\",\"seq\":1,\"receivedAt\":\"2026-11-26T06:00:00.123Z\",\"payload\":\"<base64>\"}",
                "receivedAt is the server's receive time in UTC; payload is standard base64 (RFC 4648) with padding."
            })
    static final class Dump implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The store directory (serve's data directory).")
        private Path dataDir;

        @Option(names = "--device", paramLabel = "ID", description = "Only this device's messages.")
        private String device;

        @Option(names = "--from-seq", paramLabel = "N", defaultValue = "1",
                description = "Only seqs >= N, per device (default: ${DEFAULT-VALUE}, everything).")
        private long fromSeq;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (fromSeq < 0) {
                return usage(err, "--from-seq: " + fromSeq + " (expected: >= 0)");
            }
            StoreReader reader = open(err, dataDir);
            if (reader == null) {
                return EXIT_USAGE;
            }
            long lines = 0;
            try (reader; MessageCursor cursor = reader.read(device, fromSeq); JsonGenerator json = generator(out)) {
                while (cursor.hasNext()) {
                    StoredMessage m = cursor.next();
                    json.writeStartObject();
                    json.writeStringField("device", m.deviceId());
                    json.writeNumberField("seq", m.seq());
                    json.writeStringField("receivedAt", RECEIVED_AT.format(Instant.ofEpochMilli(m.receivedAtMillis())));
                    json.writeStringField("payload", Base64.getEncoder().encodeToString(m.payload()));
                    json.writeEndObject();
                    json.writeRaw('\n');
                    // PrintWriter hides write errors: stop once the reader of our output went away
                    // (e.g. "| head"), instead of reading the whole store for nobody.
                    if (++lines % 1024 == 0 && out.checkError()) {
                        break;
                    }
                }
            } catch (IllegalArgumentException e) {
                return usage(err, e.getMessage());
            } catch (IOException | UncheckedIOException | IllegalStateException e) {
                err.println("tether store dump: read failed after " + lines + " messages: " + e.getMessage());
                err.flush();
                return EXIT_READ_FAILED;
            }
            out.flush();
            return 0;
        }
    }

    /** {@code tether store stats}: one JSON line per device, then a total. */
    @Command(
            name = "stats",
            mixinStandardHelpOptions = true,
            description = {
                "Prints one JSON line per device, then a total line.",
                "For example:",
                "{\"device\":\"meter-0042\",\"messages\":120,\"firstSeq\":1,\"lastSeq\":120}",
                "{\"devices\":1,\"messages\":120}",
                "messages < lastSeq - firstSeq + 1 means the device skipped seqs (a gap)."
            })
    static final class Stats implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The store directory (serve's data directory).")
        private Path dataDir;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            StoreReader reader = open(err, dataDir);
            if (reader == null) {
                return EXIT_USAGE;
            }
            try (reader; JsonGenerator json = generator(out)) {
                List<DeviceStats> all = reader.stats();
                long messages = 0;
                for (DeviceStats s : all) {
                    json.writeStartObject();
                    json.writeStringField("device", s.deviceId());
                    json.writeNumberField("messages", s.messages());
                    json.writeNumberField("firstSeq", s.firstSeq());
                    json.writeNumberField("lastSeq", s.lastSeq());
                    json.writeEndObject();
                    json.writeRaw('\n');
                    messages += s.messages();
                }
                json.writeStartObject();
                json.writeNumberField("devices", all.size());
                json.writeNumberField("messages", messages);
                json.writeEndObject();
                json.writeRaw('\n');
            } catch (IOException | UncheckedIOException | IllegalStateException e) {
                err.println("tether store stats: read failed: " + e.getMessage());
                err.flush();
                return EXIT_READ_FAILED;
            }
            out.flush();
            return 0;
        }
    }

    /** Opens the directory read-only, or explains on stderr why not and returns null. */
    private static StoreReader open(PrintWriter err, Path dataDir) {
        try {
            return StoreReader.openReadOnly(dataDir);
        } catch (NoSuchFileException e) {
            err.println("tether store: " + dataDir.toAbsolutePath() + ": no such directory");
        } catch (IOException e) {
            err.println("tether store: " + e.getMessage());
        }
        err.flush();
        return null;
    }

    private static int usage(PrintWriter err, String message) {
        err.println("tether store: " + message);
        err.flush();
        return EXIT_USAGE;
    }

    /** JSON lines: no separator between root values (each ends with its own newline), the writer left open. */
    private static JsonGenerator generator(PrintWriter out) throws IOException {
        JsonGenerator g = JsonFactory.builder().disable(StreamWriteFeature.AUTO_CLOSE_TARGET).build().createGenerator(out);
        g.setRootValueSeparator(null);
        return g;
    }
}
