package io.tether.server.internal.admin;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** How {@code /metrics} finds a registry it can render in the Prometheus text format. */
final class Metrics {
    /** The Prometheus text exposition format, version 0.0.4: what every Prometheus server reads. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private Metrics() {
    }

    /**
     * {@code registry} itself if it is a Prometheus registry; else the first one a composite holds
     * (depth first); else null. A composite forwards every meter to each of its registries, so
     * the one found holds all of the server's meters.
     */
    static PrometheusMeterRegistry prometheus(MeterRegistry registry) {
        if (registry instanceof PrometheusMeterRegistry p) {
            return p;
        }
        if (registry instanceof CompositeMeterRegistry c) {
            for (MeterRegistry r : c.getRegistries()) {
                PrometheusMeterRegistry p = prometheus(r);
                if (p != null) {
                    return p;
                }
            }
        }
        return null;
    }
}
