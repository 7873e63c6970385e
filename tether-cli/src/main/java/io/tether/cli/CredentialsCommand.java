package io.tether.cli;

import io.tether.server.Credentials;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;

/**
 * {@code tether credentials add|list|remove}: edits and shows the credentials file (device keys,
 * never secrets). Exit codes: 0 done; 1 nothing to remove; 2 wrong usage, or a file that is not a
 * credentials file (left untouched).
 */
@Command(name = "credentials", mixinStandardHelpOptions = true,
        description = "Manages the credentials file that `tether serve --credentials FILE` reads.",
        subcommands = {CredentialsCommand.Add.class, CredentialsCommand.ListEntries.class, CredentialsCommand.Remove.class})
public final class CredentialsCommand implements Callable<Integer> {
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("tether credentials: missing subcommand (add, list or remove)");
        spec.commandLine().usage(err);
        err.flush();
        return EXIT_USAGE;
    }

    /** The device or group an entry is for. */
    static final class Target {
        @Option(names = "--device", paramLabel = "ID", description = "One device id.")
        String device;

        @Option(names = "--group", paramLabel = "PREFIX", description = "Every device id starting with PREFIX.")
        String group;

        String kind() {
            return device != null ? "device" : "group";
        }

        String name() {
            return device != null ? device : group;
        }

        /** @throws IllegalArgumentException if the id or prefix could never match a device */
        void check() {
            CredentialsText.checkId(device != null ? "--device" : "--group", name());
        }
    }

    private static int fail(CommandLine.Model.CommandSpec spec, String message) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(spec.qualifiedName() + ": " + message);
        err.flush();
        return EXIT_USAGE;
    }

    @Command(name = "add", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Adds (or replaces) the key of one device, or of a group of devices sharing an id prefix.",
                    "The secret is turned into a key with PBKDF2 and is not written anywhere.",
                    "The file is created owner-only (0600). A file that is not a credentials file is left untouched.",
                    "A running server picks the change up within a few seconds (or at once on SIGHUP)."})
    static final class Add implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The credentials file (created if absent).")
        Path file;

        @CommandLine.ArgGroup(multiplicity = "1")
        Target target;

        @CommandLine.ArgGroup(multiplicity = "1")
        Secret secret;

        static final class Secret {
            @Option(names = "--secret", paramLabel = "S",
                    description = "The secret (visible in the process list; prefer --secret-env).")
            String value;

            @Option(names = "--secret-env", paramLabel = "VAR", description = "Read the secret from environment variable VAR.")
            String env;
        }

        @Override
        public Integer call() throws Exception {
            String s;
            if (secret.value != null) {
                if (secret.value.isEmpty()) {
                    return fail(spec, "--secret is empty (expected: the device's secret; or use --secret-env VAR)");
                }
                s = secret.value;
            } else {
                s = System.getenv(secret.env);
                if (s == null || s.isEmpty()) {
                    return fail(spec, "--secret-env " + secret.env + ": environment variable " + secret.env + " is "
                            + (s == null ? "not set" : "empty") + " (export " + secret.env + "=... first)");
                }
            }
            try {
                target.check();
                Path dir = file.toAbsolutePath().getParent();
                if (dir != null && !Files.isDirectory(dir)) {
                    return fail(spec, "--file " + file + ": directory " + dir + " does not exist (create it first: mkdir -p "
                            + dir + ")");
                }
                if (Files.exists(file)) {
                    CredentialsText.read(file);   // a file that is not ours is left alone
                }
                if (target.device != null) {
                    Credentials.addDevice(file, target.device, s);
                } else {
                    Credentials.addGroup(file, target.group, s);
                }
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            } catch (IllegalArgumentException e) {
                return fail(spec, e.getMessage() + (e.getMessage().startsWith("credentials file")
                        ? "; it was not changed" : ""));
            } catch (IOException e) {
                return fail(spec, "--file " + file + ": cannot write it (" + e.getMessage() + ")");
            }
            spec.commandLine().getOut().println("added " + target.kind() + " " + target.name()
                    + (target.group != null ? "*" : "") + " to " + file);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"Prints the entries of a credentials file, one per line: device ID or group PREFIX.",
                    "Keys are never printed."})
    static final class ListEntries implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The credentials file.")
        Path file;

        @Override
        public Integer call() {
            CredentialsText text;
            try {
                text = CredentialsText.read(file);
            } catch (IllegalArgumentException e) {
                return fail(spec, e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            for (CredentialsText.Entry e : text.entries()) {
                out.println(e.kind() + " " + e.name());
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Removes the entry of one device or group; the device can no longer connect.",
                    "A running server picks the change up within a few seconds (or at once on SIGHUP)."})
    static final class Remove implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The credentials file.")
        Path file;

        @CommandLine.ArgGroup(multiplicity = "1")
        Target target;

        @Override
        public Integer call() {
            try {
                CredentialsText text = CredentialsText.read(file);
                if (!text.remove(target.kind(), target.name())) {
                    PrintWriter err = spec.commandLine().getErr();
                    err.println(spec.qualifiedName() + ": no " + target.kind() + " " + target.name() + " in " + file
                            + " (see: tether credentials list --file " + file + ")");
                    err.flush();
                    return 1;
                }
                spec.commandLine().getOut().println("removed " + target.kind() + " " + target.name() + " from " + file);
                if (CredentialsText.read(file).entries().isEmpty()) {
                    spec.commandLine().getErr().println(spec.qualifiedName() + ": " + file + " now has no entries: a "
                            + "server refuses such a file and keeps its previous keys until an entry is added");
                }
            } catch (IllegalArgumentException e) {
                return fail(spec, e.getMessage());
            } catch (IOException e) {
                return fail(spec, "--file " + file + ": cannot write it (" + e.getMessage() + ")");
            }
            return 0;
        }
    }
}
