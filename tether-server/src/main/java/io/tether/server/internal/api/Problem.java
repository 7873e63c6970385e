package io.tether.server.internal.api;

/**
 * The problem types of the HTTP API (RFC 9457 {@code application/problem+json}), as docs/API.md
 * lists them. The {@code type} member is {@link #BASE} + {@link #slug}.
 */
enum Problem {
    BAD_REQUEST(400, "bad-request", "Bad request"),
    UNAUTHORIZED(401, "unauthorized", "Unauthorized"),
    NOT_FOUND(404, "not-found", "Not found"),
    METHOD_NOT_ALLOWED(405, "method-not-allowed", "Method not allowed"),
    QUEUE_FULL(409, "queue-full", "Command queue full"),
    CONFLICT(409, "conflict", "Conflict"),
    PAYLOAD_TOO_LARGE(413, "payload-too-large", "Payload too large"),
    RATE_LIMITED(429, "rate-limited", "Rate limited"),
    INTERNAL_ERROR(500, "internal-error", "Internal error"),
    STORE_UNAVAILABLE(503, "store-unavailable", "Store unavailable"),
    TOO_MANY_CONNECTIONS(503, "too-many-connections", "Too many connections"),
    FEED_BUSY(503, "feed-busy", "Feed busy");

    static final String BASE = "https://tether.dev/problems/";

    final int status;
    final String slug;
    final String title;

    Problem(int status, String slug, String title) {
        this.status = status;
        this.slug = slug;
        this.title = title;
    }

    String type() {
        return BASE + slug;
    }
}
