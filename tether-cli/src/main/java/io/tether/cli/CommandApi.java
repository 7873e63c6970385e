package io.tether.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;

/**
 * The client side of the HTTP API of docs/API.md, as the {@code tether command} subcommands use it:
 * one request, its JSON answer, or a {@link Failure} that says in words what went wrong (a
 * problem+json answer, no answer, an answer that is not the API's). Not thread-safe: one instance
 * serves one invocation.
 */
final class CommandApi {
    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final String base;
    private final String authorization;
    private final Duration timeout;

    /**
     * @param base    the API's root, e.g. {@code http://127.0.0.1:7480}, without a trailing slash
     * @param key     the API key, or null to send no Authorization header (a server started with
     *                {@code --insecure-no-api-auth})
     * @param tls     the context for an https base, or null for the JDK's default trust store
     * @param timeout bound on connecting, and on each answer beyond the long poll it asked for
     */
    CommandApi(String base, String key, SSLContext tls, Duration timeout) {
        this.base = base;
        this.authorization = key == null ? null : "Bearer " + key;
        this.timeout = timeout;
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER);
        if (tls != null) {
            b.sslContext(tls);
        }
        SSLParameters params = new SSLParameters();
        params.setProtocols(io.tether.transport.tls.Tls.PROTOCOLS.toArray(String[]::new));
        b.sslParameters(params);
        this.http = b.build();
    }

    /** An answer of the API: its status and JSON body. */
    record Answer(int status, JsonNode body) {}

    /**
     * Why a request did not give an answer to use; the message is for people, the exit code for
     * scripts. {@code status} is the HTTP status of a problem answer, 0 when there was no answer.
     */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String type;
        final Duration retryAfter;

        Failure(String message, int status, String type, Duration retryAfter) {
            super(message, null, false, false);
            this.status = status;
            this.type = type;
            this.retryAfter = retryAfter;
        }

        Failure(String message) {
            this(message, 0, "", null);
        }

        /** Whether the same request may succeed if made again later (429, 503). */
        boolean transientRefusal() {
            return status == 429 || status == 503;
        }
    }

    Answer post(String path, JsonNode body) throws Failure {
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return send(request(path, Duration.ZERO).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(json)));
    }

    /** A GET whose server side may hold the answer for up to {@code longPoll} (the {@code wait} parameter). */
    Answer get(String pathAndQuery, Duration longPoll) throws Failure {
        return send(request(pathAndQuery, longPoll).GET());
    }

    Answer delete(String path) throws Failure {
        return send(request(path, Duration.ZERO).DELETE());
    }

    private HttpRequest.Builder request(String pathAndQuery, Duration longPoll) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(base + pathAndQuery))
                .timeout(timeout.plus(longPoll))
                .header("Accept", "application/json, application/problem+json")
                .header("User-Agent", "tether-cli/" + TetherCommand.version());
        if (authorization != null) {
            r.header("Authorization", authorization);
        }
        return r;
    }

    private Answer send(HttpRequest.Builder builder) throws Failure {
        HttpRequest request = builder.build();
        String target = request.method() + " " + request.uri();
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (HttpConnectTimeoutException e) {
            throw new Failure("cannot connect to " + base + ": no answer to the connection within "
                    + io.tether.transport.KeepAlive.format(timeout) + " (is --api right? a firewall?)");
        } catch (HttpTimeoutException e) {
            throw new Failure(target + ": no answer within " + io.tether.transport.KeepAlive.format(request.timeout().orElseThrow()));
        } catch (ConnectException e) {
            throw new Failure("cannot connect to " + base + ": connection refused (is `tether serve --api "
                    + request.uri().getHost() + ":" + port(request.uri()) + "` running? see --api)");
        } catch (SSLHandshakeException e) {
            String why = String.valueOf(e.getMessage());
            if (why.contains("PKIX") || why.contains("certification path")) {
                why = "the API's certificate is not trusted (a self-signed or private-CA certificate needs --cacert FILE)";
            } else if (why.contains("subject alternative name") || why.contains("No name matching")) {
                why = "the API's certificate does not name " + request.uri().getHost() + " (" + why + ")";
            }
            throw new Failure("TLS handshake with " + base + " failed: " + why);
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (base.startsWith("https:") && why.contains("plaintext")) {
                why += " (is the API listening without TLS? then use http://)";
            }
            throw new Failure(target + " failed: " + why);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(target + ": interrupted");
        }
        int status = response.statusCode();
        JsonNode body = parse(response.body());
        if (status == 200 || status == 201 || status == 202) {
            if (body == null || !body.isObject()) {
                throw new Failure(target + ": answer " + status + " is not a JSON object (is " + base
                        + " the Tether API? see --api)");
            }
            return new Answer(status, body);
        }
        throw problem(target, response, body);
    }

    private static Failure problem(String target, HttpResponse<byte[]> response, JsonNode body) {
        int status = response.statusCode();
        Duration retryAfter = response.headers().firstValue("Retry-After").flatMap(CommandApi::seconds).orElse(null);
        String after = retryAfter == null ? "" : " (retry after " + io.tether.transport.KeepAlive.format(retryAfter) + ")";
        if (body != null && body.hasNonNull("title")) {
            String title = body.path("title").asText();
            String detail = body.path("detail").asText("");
            String type = body.path("type").asText("");
            return new Failure(title + (detail.isEmpty() ? "" : ": " + detail) + after, status,
                    type.substring(type.lastIndexOf('/') + 1), retryAfter);
        }
        String text = new String(response.body(), StandardCharsets.UTF_8).strip();
        if (text.length() > 200) {
            text = text.substring(0, 200) + "...";
        }
        return new Failure(target + ": HTTP " + status + (text.isEmpty() ? "" : ": " + text) + after,
                status, "", retryAfter);
    }

    private static JsonNode parse(byte[] body) {
        if (body.length == 0) {
            return null;
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static Optional<Duration> seconds(String header) {
        try {
            return Optional.of(Duration.ofSeconds(Long.parseLong(header.strip())));
        } catch (NumberFormatException e) {
            return Optional.empty(); // an HTTP-date: not worth parsing for a hint
        }
    }

    private static int port(URI uri) {
        return uri.getPort() != -1 ? uri.getPort() : uri.getScheme().equals("https") ? 443 : 80;
    }

    /** {@code s} as one path segment: everything but RFC 3986's unreserved characters percent-encoded. */
    static String segment(String s) {
        StringBuilder b = new StringBuilder();
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit((c >> 4) & 0xF, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return b.toString();
    }
}
