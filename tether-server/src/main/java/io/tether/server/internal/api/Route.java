package io.tether.server.internal.api;

import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The HTTP API's routes: the one table the handler dispatches on and the OpenAPI document is
 * checked against (a test compares them both ways).
 */
enum Route {
    SUBMIT(HttpMethod.POST, "/v1/devices/{deviceId}/commands", true),
    LIST(HttpMethod.GET, "/v1/devices/{deviceId}/commands", true),
    DEVICE(HttpMethod.GET, "/v1/devices/{deviceId}", true),
    GET_COMMAND(HttpMethod.GET, "/v1/commands/{id}", true),
    CANCEL(HttpMethod.DELETE, "/v1/commands/{id}", true),
    MESSAGES(HttpMethod.GET, "/v1/messages", true),
    STREAM(HttpMethod.GET, "/v1/stream", true),
    OPENAPI(HttpMethod.GET, "/v1/openapi.json", false);

    final HttpMethod method;
    final String template;
    /** Whether the request must carry an API key. */
    final boolean authenticated;
    private final String[] segments;

    Route(HttpMethod method, String template, boolean authenticated) {
        this.method = method;
        this.template = template;
        this.authenticated = authenticated;
        this.segments = template.substring(1).split("/");
    }

    /**
     * The outcome of matching a request: the route and its path parameters, or, for a path that
     * exists with other methods, those methods (405), or neither (404).
     */
    record Match(Route route, List<String> parameters, Set<HttpMethod> allowed) {
    }

    /**
     * Matches {@code rawPath} (still percent-encoded; each segment is decoded after splitting, so
     * a device id with an encoded '/' stays one segment).
     */
    static Match match(HttpMethod method, String rawPath) {
        String[] parts = rawPath.length() > 1 && rawPath.startsWith("/") ? rawPath.substring(1).split("/", -1) : new String[0];
        Set<HttpMethod> allowed = new LinkedHashSet<>();
        for (Route r : values()) {
            List<String> params = r.bind(parts);
            if (params == null) {
                continue;
            }
            if (r.method.equals(method)) {
                return new Match(r, params, Set.of());
            }
            allowed.add(r.method);
        }
        return new Match(null, List.of(), allowed);
    }

    private List<String> bind(String[] parts) {
        if (parts.length != segments.length) {
            return null;
        }
        List<String> params = new ArrayList<>(2);
        for (int i = 0; i < parts.length; i++) {
            if (segments[i].startsWith("{")) {
                if (parts[i].isEmpty()) {
                    return null;
                }
                params.add(decodeSegment(parts[i]));
            } else if (!segments[i].equals(parts[i])) {
                return null;
            }
        }
        return params;
    }

    /**
     * Percent-decodes one path segment (RFC 3986: '+' is a plus sign here, not a space).
     *
     * @throws IllegalArgumentException for a bad escape or bytes that are not UTF-8
     */
    static String decodeSegment(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
                int lo = hi >= 0 ? Character.digit(s.charAt(i + 2), 16) : -1;
                if (lo < 0) {
                    throw new IllegalArgumentException("bad percent-escape in path segment '" + s + "'");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(out.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("path segment '" + s + "' is not UTF-8 once decoded");
        }
    }
}
