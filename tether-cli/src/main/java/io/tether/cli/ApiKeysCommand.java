package io.tether.cli;

import io.tether.server.ApiKeys;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code tether api-keys add|list|remove}: edits and shows the API keys file of the HTTP API
 * ({@code tether serve --api-keys FILE}). Keys are printed once, by {@code add}, and stored only
 * as SHA-256 hashes. Exit codes: 0 done; 1 nothing to remove; 2 wrong usage, or a file that is
 * not an API keys file (left untouched).
 */
@Command(name = "api-keys", mixinStandardHelpOptions = true,
        description = "Manages the API keys file that `tether serve --api-keys FILE` reads.",
        subcommands = {ApiKeysCommand.Add.class, ApiKeysCommand.ListKeys.class, ApiKeysCommand.Remove.class})
public final class ApiKeysCommand implements Callable<Integer> {
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("tether api-keys: missing subcommand (add, list or remove)");
        spec.commandLine().usage(err);
        err.flush();
        return EXIT_USAGE;
    }

    private static int fail(CommandLine.Model.CommandSpec spec, String message) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(spec.qualifiedName() + ": " + message);
        err.flush();
        return EXIT_USAGE;
    }

    @Command(name = "add", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Makes a new random API key named NAME, prints it once on stdout, and stores only its SHA-256.",
                    "The file is created owner-only (0600). A file that is not an API keys file is left untouched.",
                    "A running server picks the new key up within a few seconds (or at once on SIGHUP)."})
    static final class Add implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", description = "Who the key is for: 1 to 64 letters, digits, '.', '_' or '-'.")
        String name;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The API keys file (created if absent).")
        Path file;

        @Override
        public Integer call() {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null && !Files.isDirectory(dir)) {
                return fail(spec, "--file " + file + ": directory " + dir + " does not exist (create it first: mkdir -p " + dir + ")");
            }
            String key;
            try {
                key = ApiKeys.add(file, name);
            } catch (IllegalArgumentException e) {
                return fail(spec, e.getMessage());
            } catch (IOException e) {
                return fail(spec, e.getMessage() + "; it was not changed");
            }
            // The key alone on stdout, so that `KEY=$(tether api-keys add ...)` works; the rest on stderr.
            spec.commandLine().getOut().println(key);
            spec.commandLine().getOut().flush();
            PrintWriter err = spec.commandLine().getErr();
            err.println("added API key " + name + " to " + file + ". This is the only time the key is shown: keep it "
                    + "(send it as: Authorization: Bearer <key>).");
            err.flush();
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"Prints the names of the keys in an API keys file, one per line. Keys are never stored, so never printed."})
    static final class ListKeys implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The API keys file.")
        Path file;

        @Override
        public Integer call() {
            List<String> names;
            try {
                names = ApiKeys.names(file);
            } catch (IOException e) {
                return fail(spec, e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            names.forEach(out::println);
            out.flush();
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = {"Removes the key named NAME: applications using it are refused (401).",
                    "A running server picks the change up within a few seconds (or at once on SIGHUP)."})
    static final class Remove implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", description = "The key's name (see: tether api-keys list).")
        String name;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The API keys file.")
        Path file;

        @Override
        public Integer call() {
            try {
                if (!ApiKeys.remove(file, name)) {
                    PrintWriter err = spec.commandLine().getErr();
                    err.println(spec.qualifiedName() + ": no key named " + name + " in " + file
                            + " (see: tether api-keys list --file " + file + ")");
                    err.flush();
                    return 1;
                }
            } catch (IOException e) {
                return fail(spec, e.getMessage());
            }
            spec.commandLine().getOut().println("removed API key " + name + " from " + file);
            return 0;
        }
    }
}
