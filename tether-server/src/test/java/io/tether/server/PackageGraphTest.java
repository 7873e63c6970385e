package io.tether.server;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gateway's package graph, read from its compiled classes by the JDK's own {@code jdeps}.
 *
 * <p>The internal packages depend on one another in one direction only (a newcomer can read them
 * bottom up: core, liveness, close, delivery, handshake, connection), and no internal package
 * depends on another through a cycle. {@code io.tether.server} is the API: its types (config,
 * SPIs, events) are used by the internals, and its entry points ({@code TetherServer}, the
 * factories) construct them — that is the only two-way link, and it never shows in a signature
 * ({@code ApiListingTest}).
 */
class PackageGraphTest {
    private static final String API = "io.tether.server";
    private static final Pattern EDGE = Pattern.compile("^\\s+(io\\.tether\\.server\\S*)\\s+->\\s+(io\\.tether\\.server\\S*)\\s");

    @Test
    void internalPackages_formNoCycle() {
        Map<String, Set<String>> graph = internalGraph();
        assertThat(graph).as("packages read by jdeps").containsKeys(
                API + ".internal.liveness", API + ".internal.handshake", API + ".internal.delivery", API + ".internal.close");

        List<String> cycle = findCycle(graph);
        assertThat(cycle).as("a dependency cycle among internal packages").isEmpty();
    }

    @Test
    void theDeadlineConcern_dependsOnNoOtherConcern() {
        // liveness is found from the folder name alone and reads on its own: it knows the
        // connection's shared state and nothing of handshake, delivery or close.
        assertThat(internalGraph().get(API + ".internal.liveness"))
                .allSatisfy(p -> assertThat(p).isIn(API + ".internal.core"));
    }

    private static Map<String, Set<String>> internalGraph() {
        Path classes = Path.of("target", "classes");
        assertThat(classes).as("compiled classes of tether-server").isDirectory();
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", "-filter:none", classes.toString());
        assertThat(rc).as("jdeps: %s", err).isZero();
        Map<String, Set<String>> graph = new HashMap<>();
        for (String line : out.toString().split("\n")) {
            Matcher m = EDGE.matcher(line);
            if (m.find()) {
                String from = m.group(1);
                String to = m.group(2);
                if (!from.equals(to) && !from.equals(API) && !to.equals(API)) {
                    graph.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
                    graph.computeIfAbsent(to, k -> new TreeSet<>());
                }
            }
        }
        return graph;
    }

    /** A cycle as a list of packages, or an empty list. Depth-first search with colours. */
    private static List<String> findCycle(Map<String, Set<String>> graph) {
        Set<String> done = new HashSet<>();
        for (String start : new TreeSet<>(graph.keySet())) {
            List<String> path = new ArrayList<>();
            List<String> cycle = visit(start, graph, path, new HashSet<>(), done);
            if (!cycle.isEmpty()) {
                return cycle;
            }
        }
        return List.of();
    }

    private static List<String> visit(String node, Map<String, Set<String>> graph, List<String> path,
                                      Set<String> onPath, Set<String> done) {
        if (onPath.contains(node)) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(node), path.size()));
            cycle.add(node);
            return cycle;
        }
        if (!done.add(node)) {
            return List.of();
        }
        path.add(node);
        onPath.add(node);
        for (String next : graph.getOrDefault(node, Set.of())) {
            List<String> cycle = visit(next, graph, path, onPath, done);
            if (!cycle.isEmpty()) {
                return cycle;
            }
        }
        onPath.remove(node);
        path.remove(path.size() - 1);
        return List.of();
    }

}
