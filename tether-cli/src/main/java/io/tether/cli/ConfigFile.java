package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code --config FILE}: a YAML map whose keys are a subcommand's long option names without the
 * dashes ({@code heartbeat: 10s}, {@code keepalive: 60s,20s,3}, {@code quiet: true}). It is a
 * picocli {@link CommandLine.IDefaultValueProvider}: a key of the file is the default of its
 * option, so a flag typed on the command line wins, and an option neither typed nor in the file
 * falls back to the command's own defaults (for {@code serve}: the server builder's). An unknown
 * key is an error naming the file, the key and the keys that are known.
 */
final class ConfigFile implements CommandLine.IDefaultValueProvider {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final Path file;
    private final Map<String, String> values;
    private final CommandLine.IDefaultValueProvider fallback;
    /** The arguments typed on the command line: a key typed there is not the file's doing. */
    private List<String> typed = List.of();

    private ConfigFile(Path file, Map<String, String> values, CommandLine.IDefaultValueProvider fallback) {
        this.file = file;
        this.values = values;
        this.fallback = fallback;
    }

    /**
     * The message of a command-line error, naming the config file and key when the bad value came
     * from the file rather than from a typed flag.
     */
    static String blame(CommandLine cl, CommandLine.ParameterException e) {
        String message = e.getMessage();
        if (cl.getDefaultValueProvider() instanceof ConfigFile cf && e.getArgSpec() instanceof OptionSpec o
                && cf.fromFile(key(o))) {
            String prefix = "Invalid value for option '" + o.longestName() + "': ";
            String why = message.startsWith(prefix) ? message.substring(prefix.length()) : message;
            return "config file " + cf.file + ": " + key(o) + ": " + why;
        }
        return message;
    }

    /**
     * {@code message} (from the server's builder, which names options as the keys do, e.g.
     * "heartbeat-multiplier 0.5 (...)") prefixed with the config file when its first word is a key
     * that came from the file.
     */
    static String blame(CommandLine cl, String message) {
        if (cl.getDefaultValueProvider() instanceof ConfigFile cf && message != null) {
            String first = message.split("[ :]", 2)[0].replaceFirst("^--", "");
            if (cf.fromFile(first)) {
                return "config file " + cf.file + ": " + message;
            }
        }
        return message;
    }

    private boolean fromFile(String key) {
        if (!values.containsKey(key)) {
            return false;
        }
        for (String a : typed) {
            if (a.equals("--" + key) || a.startsWith("--" + key + "=") || a.equals("--no-" + key)) {
                return false;
            }
        }
        return true;
    }

    /** A user's mistake in the config file: the message names the file and the key. */
    static final class ConfigException extends Exception {
        private static final long serialVersionUID = 1L;

        ConfigException(String message) {
            super(message);
        }
    }

    @Override
    public String defaultValue(ArgSpec argSpec) throws Exception {
        if (argSpec.isOption()) {
            String v = values.get(key((OptionSpec) argSpec));
            if (v != null) {
                return v;
            }
        }
        return fallback == null ? null : fallback.defaultValue(argSpec);
    }

    /**
     * If {@code args} run a subcommand that has {@code --config} and name a file, installs that
     * file as the subcommand's default provider (in front of the one it had).
     *
     * @throws ConfigException if the file cannot be read, is not a map, or has an unknown key
     */
    static void install(CommandLine root, String[] args) throws ConfigException {
        if (args.length == 0) {
            return;
        }
        CommandLine sub = root.getSubcommands().get(args[0]);
        if (sub == null || sub.getCommandSpec().findOption("--config") == null) {
            return;
        }
        String file = null;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--")) {
                break;
            } else if (args[i].equals("--config") && i + 1 < args.length) {
                file = args[i + 1];
            } else if (args[i].startsWith("--config=")) {
                file = args[i].substring("--config=".length());
            }
        }
        if (file != null) {
            ConfigFile cf = load(sub.getCommandSpec(), Path.of(file), sub.getDefaultValueProvider());
            cf.typed = List.of(args);
            sub.setDefaultValueProvider(cf);
        }
    }

    static ConfigFile load(CommandSpec spec, Path file, CommandLine.IDefaultValueProvider fallback) throws ConfigException {
        JsonNode root;
        String text;
        try {
            text = Files.readString(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist (--config FILE)");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new ConfigException("config file " + file + ": permission denied");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ConfigException("config file " + file + " is not text (not UTF-8): is it the right file?");
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        try {
            root = YAML.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            String why = e.getOriginalMessage().lines().findFirst().orElse("").strip();
            throw new ConfigException("config file " + file + " is not valid YAML"
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")") + ": " + why);
        }
        Map<String, String> values = new LinkedHashMap<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return new ConfigFile(file, values, fallback);
        }
        if (!root.isObject()) {
            throw new ConfigException("config file " + file + ": expected a map of option: value");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            OptionSpec option = spec.findOption("--" + e.getKey());
            if (option == null || !configurable(option) || !key(option).equals(e.getKey())) {
                throw new ConfigException("config file " + file + ": unknown key '" + e.getKey()
                        + "' (expected one of: " + String.join(", ", knownKeys(spec)) + ")");
            }
            JsonNode v = e.getValue();
            if (option.type() == boolean.class || option.type() == Boolean.class) {
                if (!v.isBoolean()) {
                    throw new ConfigException("config file " + file + ": " + e.getKey() + ": '" + v.asText()
                            + "' (expected: true or false)");
                }
                values.put(e.getKey(), Boolean.toString(v.asBoolean()));
            } else if (v.isBoolean()) {
                // YAML 1.1 reads a bare off (and no, on, yes) as a boolean: "keepalive: off" means
                // the option's own word off, as on the command line.
                values.put(e.getKey(), v.asBoolean() ? "on" : "off");
            } else if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(x.asText()));
                values.put(e.getKey(), String.join(",", parts));
            } else if (v.isContainerNode()) {
                throw new ConfigException("config file " + file + ": " + e.getKey()
                        + " is a map (expected: a value, as on the command line)");
            } else {
                values.put(e.getKey(), v.asText());
            }
        }
        return new ConfigFile(file, values, fallback);
    }

    private static String key(OptionSpec o) {
        return o.longestName().substring(2);
    }

    private static boolean configurable(OptionSpec o) {
        return o.longestName().startsWith("--") && !o.usageHelp() && !o.versionHelp()
                && !o.longestName().equals("--config");
    }

    private static TreeSet<String> knownKeys(CommandSpec spec) {
        TreeSet<String> known = new TreeSet<>();
        for (OptionSpec o : spec.options()) {
            if (configurable(o)) {
                known.add(key(o));
            }
        }
        return known;
    }
}
