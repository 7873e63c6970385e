package io.tether.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tether} command. */
@Command(name = "tether",
        mixinStandardHelpOptions = true,
        versionProvider = TetherCommand.Version.class,
        description = "A TCP gateway for fleets of devices that vanish without saying goodbye.",
        subcommands = {ServeCommand.class, SimCommand.class, StoreCommand.class, CredentialsCommand.class,
                SocketsCommand.class, DoctorCommand.class, ErrnoCommand.class,
                CommandLine.HelpCommand.class})
public final class TetherCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int execute(String... args) {
        return execute(new CommandLine(new TetherCommand()), args);
    }

    /** Runs {@code args} on {@code cl} (a {@code TetherCommand}), whose out and err a test may have set. */
    static int execute(CommandLine cl, String... args) {
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // A flag given twice is an error (picocli's default, kept on purpose: with two values
        // one of them is a mistake). --config FILE supplies defaults, which typed flags override.
        try {
            ConfigFile.install(cl, args);
        } catch (ConfigFile.ConfigException e) {
            cl.getErr().println("tether: " + e.getMessage());
            return 2;
        }
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = TetherCommand.class.getPackage().getImplementationVersion();
            return new String[] {"tether " + (v == null ? "dev" : v)};
        }
    }
}
