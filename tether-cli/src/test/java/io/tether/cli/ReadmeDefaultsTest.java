package io.tether.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README's tables of {@code tether serve} flags state the server builder's defaults: the builder
 * is the one place they are defined, and this test keeps README's copy of them honest.
 */
class ReadmeDefaultsTest {
    private static final Pattern FLAG = Pattern.compile("--(?:\\[no-])?([a-z][a-z-]*)");

    @Test
    void readmeDefaults_matchTheServerBuilder() throws Exception {
        CommandLine.Model.CommandSpec serve = new CommandLine(new ServeCommand()).getCommandSpec();
        ServeDefaults defaults = new ServeDefaults();
        Map<String, String> readme = readmeDefaults(Files.readString(Path.of("..", "README.md")));
        int compared = 0;
        for (Map.Entry<String, String> e : readme.entrySet()) {
            CommandLine.Model.OptionSpec option = serve.findOption("--" + e.getKey());
            String builder = option == null ? null : defaults.defaultValue(option);
            if (builder == null) {
                continue; // not a server setting (store, files, TLS) or derived (user-timeout, workers)
            }
            assertThat(normalize(e.getValue())).as("README default of --" + e.getKey()).isEqualTo(normalize(builder));
            compared++;
        }
        assertThat(compared).as("flags whose README default was compared").isGreaterThanOrEqualTo(15);
    }

    /** Flag name → default cell, from every {@code | `--flag …` | default | meaning |} row. */
    private static Map<String, String> readmeDefaults(String readme) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : readme.split("\n")) {
            String[] cells = line.split("\\|");
            if (cells.length < 4 || !cells[1].strip().startsWith("`--")) {
                continue;
            }
            List<String> flags = new ArrayList<>();
            Matcher m = FLAG.matcher(cells[1]);
            while (m.find()) {
                flags.add(m.group(1));
            }
            String cell = cells[2].strip();
            String[] values = flags.size() == 1 ? new String[] {cell} : cell.split(" / |, ");
            if (values.length != flags.size()) {
                continue;
            }
            for (int i = 0; i < flags.size(); i++) {
                out.putIfAbsent(flags.get(i), values[i].strip());
            }
        }
        return out;
    }

    private static String normalize(String v) {
        String s = v.replaceAll("\\s*\\(.*\\)$", "").strip();
        s = switch (s) {
            case "true", "on" -> "on";
            case "false", "off" -> "off";
            default -> s;
        };
        // Durations compare by value: README's 60s,20s,3 is the builder's 1m,20s,3.
        List<String> parts = new ArrayList<>();
        for (String part : s.split(",")) {
            try {
                parts.add(DurationConverter.parse(part).toMillis() + "ms");
            } catch (CommandLine.TypeConversionException e) {
                parts.add(part);
            }
        }
        return String.join(",", parts);
    }
}
