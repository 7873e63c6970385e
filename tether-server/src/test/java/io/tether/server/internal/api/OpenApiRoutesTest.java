package io.tether.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAPI document served at /v1/openapi.json describes exactly the routes the API
 * implements, and every problem type docs/API.md promises.
 */
class OpenApiRoutesTest {
    private static final Set<String> HTTP_METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
    /** A row of the problem table: {@code | 409 | `queue-full` | ... |}. */
    private static final Pattern PROBLEM_ROW = Pattern.compile("^\\|\\s*(\\d{3})\\s*\\|\\s*`([a-z-]+)`\\s*\\|", Pattern.MULTILINE);

    private static JsonNode openApi() throws Exception {
        try (InputStream in = ApiHandler.class.getResourceAsStream("openapi.json")) {
            assertThat(in).as("openapi.json next to ApiHandler").isNotNull();
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void documentedOperations_equalTheRouteTable_bothWays() throws Exception {
        Set<String> documented = new TreeSet<>();
        JsonNode paths = openApi().get("paths");
        for (Iterator<String> p = paths.fieldNames(); p.hasNext(); ) {
            String path = p.next();
            for (Iterator<String> m = paths.get(path).fieldNames(); m.hasNext(); ) {
                String method = m.next();
                if (HTTP_METHODS.contains(method)) {
                    documented.add(method.toUpperCase(Locale.ROOT) + " " + path);
                }
            }
        }
        Set<String> implemented = Arrays.stream(Route.values()).map(r -> r.method.name() + " " + r.template)
                .collect(Collectors.toCollection(TreeSet::new));

        assertThat(implemented).hasSize(8);
        assertThat(documented).as("operations in openapi.json").isEqualTo(implemented);
    }

    @Test
    void onlyTheDocument_isOpenWithoutAKey_inBoth() throws Exception {
        JsonNode paths = openApi().get("paths");
        for (Route r : Route.values()) {
            JsonNode op = paths.get(r.template).get(r.method.name().toLowerCase(Locale.ROOT));
            boolean open = op.has("security") && op.get("security").isEmpty();
            assertThat(open).as(r + " needs no key").isEqualTo(!r.authenticated);
        }
    }

    @Test
    void everyProblemTypeOfTheContract_isInTheDocumentAndTheImplementation() throws Exception {
        String contract = Files.readString(Path.of("..", "docs", "API.md"));
        List<String> promised = new ArrayList<>();
        Matcher m = PROBLEM_ROW.matcher(contract);
        while (m.find()) {
            String slug = m.group(2);
            promised.add(slug);
            Problem p = Arrays.stream(Problem.values()).filter(x -> x.slug.equals(slug)).findFirst().orElse(null);
            assertThat(p).as("problem type " + slug + " of docs/API.md in Problem").isNotNull();
            assertThat(p.status).as("status of " + slug).isEqualTo(Integer.parseInt(m.group(1)));
        }
        assertThat(promised).as("problem types read from docs/API.md").hasSizeGreaterThanOrEqualTo(9)
                .contains("bad-request", "unauthorized", "not-found", "method-not-allowed", "queue-full", "conflict",
                        "payload-too-large", "rate-limited", "store-unavailable");

        Set<String> inDocument = new TreeSet<>();
        openApi().at("/components/schemas/Problem/properties/type/enum").forEach(n -> inDocument.add(n.asText()));
        Set<String> implemented = Arrays.stream(Problem.values()).map(Problem::type).collect(Collectors.toCollection(TreeSet::new));
        assertThat(inDocument).as("problem types in openapi.json").isEqualTo(implemented);
        assertThat(promised).as("problem types of docs/API.md, as the implementation lists them")
                .containsExactlyInAnyOrderElementsOf(Arrays.stream(Problem.values()).map(p -> p.slug).toList());
    }
}
