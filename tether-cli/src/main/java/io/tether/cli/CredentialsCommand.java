package io.tether.cli;

import io.tether.server.Credentials;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tether credentials add}: writes device keys (never secrets) to a credentials file. */
@Command(name = "credentials", mixinStandardHelpOptions = true,
        description = "Manages the credentials file that `tether serve --credentials FILE` reads.",
        subcommands = {CredentialsCommand.Add.class})
public final class CredentialsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "add", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Adds (or replaces) the key of one device, or of a group of devices sharing an id prefix.",
                    "The secret is turned into a key with PBKDF2 and is not written anywhere.",
                    "A running server picks the change up within a few seconds (or at once on SIGHUP)."})
    static final class Add implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The credentials file (created if absent).")
        Path file;

        @CommandLine.ArgGroup(multiplicity = "1")
        Target target;

        static final class Target {
            @Option(names = "--device", paramLabel = "ID", description = "One device id.")
            String device;

            @Option(names = "--group", paramLabel = "PREFIX", description = "Every device id starting with PREFIX.")
            String group;
        }

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
            String s = secret.value != null ? secret.value : System.getenv(secret.env);
            if (s == null || s.isEmpty()) {
                spec.commandLine().getErr().println("tether credentials add: environment variable " + secret.env + " is empty or unset");
                return 2;
            }
            try {
                if (target.device != null) {
                    Credentials.addDevice(file, target.device, s);
                    spec.commandLine().getOut().println("added device " + target.device + " to " + file);
                } else {
                    Credentials.addGroup(file, target.group, s);
                    spec.commandLine().getOut().println("added group " + target.group + "* to " + file);
                }
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("tether credentials add: " + e.getMessage());
                return 2;
            }
            return 0;
        }
    }
}
