package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import picocli.CommandLine;

/**
 * What a store directory holds, read the way an operator would: {@code tether store dump}, run in
 * this JVM on the directory (read-only), never through the server that wrote it.
 */
final class StoreDump {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One stored message, as dumped. */
    record Message(String device, long seq, byte[] payload) {
    }

    private StoreDump() {
    }

    /**
     * Every message in the store, in dump order ((device, seq) order).
     *
     * @throws AssertionError if {@code tether store dump} does not exit 0
     */
    static List<Message> read(Path dataDir) throws IOException {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute("store", "dump", "--data-dir", dataDir.toString());
        if (exit != 0) {
            throw new AssertionError("tether store dump exited " + exit + ": " + err);
        }
        List<Message> messages = new ArrayList<>();
        for (String line : out.toString().split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            JsonNode n = JSON.readTree(line);
            messages.add(new Message(n.get("device").asText(), n.get("seq").asLong(),
                    Base64.getDecoder().decode(n.get("payload").asText())));
        }
        return messages;
    }
}
