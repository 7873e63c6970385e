package io.tether.server.internal.admin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The dashboard page: one HTML file with its script and styles, a resource of this module. */
final class Dashboard {
    private static final String RESOURCE = "dashboard.html";
    private static volatile String page;

    private Dashboard() {
    }

    /** The page; read once from the class path. */
    static String page() {
        String p = page;
        if (p == null) {
            try (InputStream in = Dashboard.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("the dashboard page " + RESOURCE + " is missing from the jar");
                }
                p = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            page = p;
        }
        return p;
    }
}
