package io.tether.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tether} command. */
@Command(name = "tether",
        mixinStandardHelpOptions = true,
        versionProvider = TetherCommand.Version.class,
        description = "A TCP gateway for fleets of devices that vanish without saying goodbye.",
        subcommands = {ServeCommand.class, SimCommand.class, StoreCommand.class, CredentialsCommand.class, ApiKeysCommand.class,
                SocketsCommand.class, DeviceCommand.class, DoctorCommand.class, ErrnoCommand.class, CommandCommand.class,
                TraceCommand.class,
                CommandLine.HelpCommand.class})
public final class TetherCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("serve")) {
            ServeCommand.Signals.install();
        }
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int execute(String... args) {
        return execute(new CommandLine(new TetherCommand()), args);
    }

    /** Runs {@code args} on {@code cl} (a {@code TetherCommand}), whose out and err a test may have set. */
    static int execute(CommandLine cl, String... args) {
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler(TetherCommand::parameterError);
        everyVersion(cl);
        cl.setHelpFactory(TetherCommand::help);
        // A flag given twice is an error (picocli's default, kept on purpose: with two values
        // one of them is a mistake). --config FILE supplies defaults, which typed flags override.
        try {
            ConfigFile.install(cl, args);
        } catch (ConfigFile.ConfigException e) {
            cl.getErr().println("tether " + args[0] + ": " + e.getMessage());
            return 2;
        }
        return cl.execute(args);
    }

    /**
     * Help without {@code [=<fieldName>]} after boolean flags: they take an optional true or false
     * (so that {@code --no-sync} and a config file's {@code sync: false} work), which the usage
     * need not spell out.
     */
    private static CommandLine.Help help(CommandLine.Model.CommandSpec spec, CommandLine.Help.ColorScheme colors) {
        return new CommandLine.Help(spec, colors) {
            @Override
            public CommandLine.Help.IParamLabelRenderer parameterLabelRenderer() {
                CommandLine.Help.IParamLabelRenderer plain = super.parameterLabelRenderer();
                return new CommandLine.Help.IParamLabelRenderer() {
                    @Override
                    public CommandLine.Help.Ansi.Text renderParameterLabel(CommandLine.Model.ArgSpec arg,
                            CommandLine.Help.Ansi ansi, java.util.List<CommandLine.Help.Ansi.IStyle> styles) {
                        if (arg.isOption() && (arg.type() == boolean.class || arg.type() == Boolean.class)) {
                            return ansi.new Text("");
                        }
                        return plain.renderParameterLabel(arg, ansi, styles);
                    }

                    @Override
                    public String separator() {
                        return plain.separator();
                    }
                };
            }
        };
    }

    /** {@code -V} on every subcommand prints the version, as on {@code tether} itself. */
    private static void everyVersion(CommandLine cl) {
        cl.getCommandSpec().versionProvider(new Version());
        cl.getSubcommands().values().forEach(TetherCommand::everyVersion);
    }

    /**
     * A mistake on the command line (or in the --config file behind it): the one line that says
     * what is wrong, then where to look, instead of the whole usage that would bury it.
     */
    private static int parameterError(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        java.io.PrintWriter err = cl.getErr();
        String command = cl.getCommandSpec().qualifiedName();
        err.println(command + ": " + ConfigFile.blame(cl, e));
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("See '" + command + " --help'.");
        err.flush();
        return cl.getCommandSpec().exitCodeOnInvalidInput();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"tether " + version()};
        }
    }

    /**
     * The project version: from the jar's manifest when run from the jar, else from the Maven
     * build's filtered resource (tests, an IDE).
     */
    static String version() {
        String v = TetherCommand.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        try (java.io.InputStream in = TetherCommand.class.getResourceAsStream("/tether-version.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                String fromBuild = p.getProperty("version");
                if (fromBuild != null && !fromBuild.startsWith("${")) {
                    return fromBuild;
                }
            }
        } catch (java.io.IOException e) {
            // fall through: no version is known
        }
        return "unknown";
    }
}
