package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code --config FILE}: a YAML map whose keys are a subcommand's long option names without the
 * dashes ({@code heartbeat: 10s}, {@code keepalive: 60s,20s,3}, {@code quiet: true}). The file's
 * entries become options placed before the ones typed, so typed flags win. Unknown keys are an
 * error, naming the keys that are known.
 */
final class ConfigFile {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static final class ConfigException extends Exception {
        private static final long serialVersionUID = 1L;

        ConfigException(String message) {
            super(message);
        }
    }

    private ConfigFile() {
    }

    static String[] expand(CommandLine root, String[] args) throws ConfigException {
        if (args.length == 0) {
            return args;
        }
        CommandLine sub = root.getSubcommands().get(args[0]);
        if (sub == null || sub.getCommandSpec().findOption("--config") == null) {
            return args;
        }
        String file = null;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = args[i + 1];
            } else if (args[i].startsWith("--config=")) {
                file = args[i].substring("--config=".length());
            }
        }
        if (file == null) {
            return args;
        }
        List<String> out = new ArrayList<>();
        out.add(args[0]);
        out.addAll(optionsFrom(sub.getCommandSpec(), Path.of(file)));
        for (int i = 1; i < args.length; i++) {
            out.add(args[i]);
        }
        return out.toArray(new String[0]);
    }

    private static List<String> optionsFrom(CommandLine.Model.CommandSpec spec, Path file) throws ConfigException {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        List<String> options = new ArrayList<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return options;
        }
        if (!root.isObject()) {
            throw new ConfigException("config file " + file + ": expected a map of option: value");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = "--" + e.getKey();
            CommandLine.Model.OptionSpec option = spec.findOption(name);
            if (option == null || name.equals("--config")) {
                TreeSet<String> known = new TreeSet<>();
                for (CommandLine.Model.OptionSpec o : spec.options()) {
                    if (o.longestName().startsWith("--") && !o.usageHelp() && !o.versionHelp()
                            && !o.longestName().equals("--config")) {
                        known.add(o.longestName().substring(2));
                    }
                }
                throw new ConfigException("config file " + file + ": unknown key '" + e.getKey()
                        + "' (expected one of: " + String.join(", ", known) + ")");
            }
            JsonNode v = e.getValue();
            if (option.arity().max() == 0 || option.type() == boolean.class || option.type() == Boolean.class) {
                if (!v.isBoolean()) {
                    throw new ConfigException("config file " + file + ": '" + e.getKey() + "' must be true or false");
                }
                options.add(name + "=" + v.asBoolean());
            } else if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(x.asText()));
                options.add(name + "=" + String.join(",", parts));
            } else {
                options.add(name + "=" + v.asText());
            }
        }
        return options;
    }
}
