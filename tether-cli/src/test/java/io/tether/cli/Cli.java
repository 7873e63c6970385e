package io.tether.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs {@code tether ARGS} in this JVM and captures its exit code, stdout and stderr. */
record Cli(int code, String out, String err) {
    static Cli run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TetherCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = TetherCommand.execute(cl, args);
        Cli r = new Cli(code, out.toString(), err.toString());
        System.out.println("$ tether " + String.join(" ", args) + "\n  exit " + code + "\n  stderr: " + r.err.strip()
                + (r.out.isBlank() ? "" : "\n  stdout: " + r.out.strip()));
        return r;
    }

    /** Stderr lines that are not blank. */
    long errLines() {
        return err.lines().filter(l -> !l.isBlank()).count();
    }
}
