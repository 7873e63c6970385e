package io.tether.cli;

import io.tether.transport.errno.Errno;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tether errno}: explains a Linux errno the way a gateway operator meets it — its meaning,
 * what usually causes it with a fleet of devices, and what Tether does about it.
 *
 * <pre>
 * tether errno 110
 * tether errno ECONNRESET
 * tether errno --all
 * </pre>
 *
 * <p>Exit codes: 0 when the errno was explained or listed, 2 for an unknown errno or wrong usage.
 * Output goes to the command line's configured writers ({@code CommandLine#setOut},
 * {@code #setErr}). An instance serves one invocation; it is not thread-safe.
 */
@Command(
        name = "errno",
        mixinStandardHelpOptions = true,
        description = {
            "Explains a Linux errno seen by a TCP gateway: its meaning, typical causes with devices,"
                    + " and what Tether does about it.",
            "Accepts a number (110, or Netty's -110), or a name in any case (ETIMEDOUT, etimedout)."
        })
public final class ErrnoCommand implements Callable<Integer> {

    /** Exit code for an unknown errno or wrong usage, as picocli uses for usage errors. */
    static final int EXIT_USAGE = 2;

    private static final int WRAP_COLUMNS = 100;

    @Spec
    private CommandSpec spec;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "N|NAME",
            description = "The errno number or name, e.g. 110, ETIMEDOUT, etimedout.")
    private String query;

    @Option(names = "--all", description = "List every errno Tether explains, one per line: NAME NUMBER meaning.")
    private boolean all;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (all) {
            if (query != null) {
                err.println("tether errno: --all takes no N|NAME (got '" + query + "')");
                err.flush();
                return EXIT_USAGE;
            }
            for (Errno e : Errno.values()) {
                out.printf("%-13s %3d %s%n", e.name(), e.number(), e.meaning());
            }
            out.flush();
            return 0;
        }
        if (query == null) {
            err.println("tether errno: missing N|NAME (or use --all)");
            spec.commandLine().usage(err);
            err.flush();
            return EXIT_USAGE;
        }
        Optional<Errno> found = lookup(query);
        if (found.isEmpty()) {
            err.println("tether errno: unknown errno '" + query + "'. Known: " + knownNames());
            err.flush();
            return EXIT_USAGE;
        }
        explain(found.get(), out);
        out.flush();
        return 0;
    }

    private static Optional<Errno> lookup(String query) {
        String q = query.strip();
        if (q.matches("-?\\d{1,9}")) {
            // Netty prints errnos negated ("failed with error(-110)"); accept that form as pasted.
            return Errno.byNumber(Math.abs(Integer.parseInt(q)));
        }
        return Errno.byName(q);
    }

    private static String knownNames() {
        return Arrays.stream(Errno.values())
                .map(e -> e.name() + " (" + e.number() + ")")
                .collect(Collectors.joining(", "));
    }

    private static void explain(Errno e, PrintWriter out) {
        out.println(e.name() + " (" + e.number() + "): " + e.meaning());
        out.println("Typical causes:");
        printItems(e.typicalCauses(), out);
        out.println("What Tether does:");
        printItems(e.whatTetherDoes(), out);
    }

    /** Prints each item as a bullet, word-wrapped so a terminal shows it without breaking words. */
    private static void printItems(List<String> items, PrintWriter out) {
        for (String item : items) {
            StringBuilder line = new StringBuilder("  -");
            boolean lineHasWord = false;
            for (String word : item.split(" ")) {
                if (lineHasWord && line.length() + 1 + word.length() > WRAP_COLUMNS) {
                    out.println(line);
                    line = new StringBuilder("   ");
                }
                line.append(' ').append(word);
                lineHasWord = true;
            }
            out.println(line);
        }
    }
}
