package io.tether.testkit.fault;

import java.util.List;

/**
 * The outcome of a command run by the fault harness.
 *
 * @param command  the command line
 * @param exitCode its exit code; -1 if it was killed for taking too long, 127 if it could not start
 * @param stdout   what it wrote to standard output
 * @param stderr   what it wrote to standard error
 */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr) {
    public ExecResult {
        command = List.copyOf(command);
    }

    public boolean ok() {
        return exitCode == 0;
    }

    /** One line for a message: the command, its exit code and its error output. */
    public String describe() {
        return String.join(" ", command) + " -> exit " + exitCode + (stderr.isBlank() ? "" : ": " + stderr.strip());
    }
}
