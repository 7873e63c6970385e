package io.tether.server.internal.admin;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tether.server.SocketAudit;
import io.tether.transport.kernel.TcpState;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The last socket audit of the gateway's port as gauges: the kernel's sockets by TCP state,
 * ghosts (kernel ESTABLISHED sockets the gateway does not know), orphans (connections without a
 * kernel socket) and when the audit ran. -1 until the first audit (and for ghosts and orphans
 * when the audit could not compare), so a missing figure never reads as "none".
 *
 * <p>Thread-safe: {@link #update} runs on the admin's event loop, gauges are read by scrapes.
 */
final class KernelGauges {
    private static final TcpState[] STATES = TcpState.values();
    private static final int GHOSTS = STATES.length;
    private static final int ORPHANS = STATES.length + 1;
    private static final int AT_MILLIS = STATES.length + 2;

    private final MeterRegistry registry;
    private final AtomicLongArray values = new AtomicLongArray(STATES.length + 3);
    private final List<Meter> meters = new ArrayList<>();

    KernelGauges(MeterRegistry registry) {
        this.registry = registry;
        for (int i = 0; i < values.length(); i++) {
            values.set(i, -1);
        }
        for (TcpState s : STATES) {
            int i = s.ordinal();
            meters.add(Gauge.builder("tether.kernel.sockets", values, v -> v.get(i))
                    .description("the kernel's TCP sockets of the gateway's port by state, at the last audit")
                    .tag("state", s.name()).register(registry));
        }
        meters.add(Gauge.builder("tether.kernel.ghosts", values, v -> v.get(GHOSTS))
                .description("kernel ESTABLISHED sockets of the port the gateway does not know, at the last audit")
                .register(registry));
        meters.add(Gauge.builder("tether.kernel.orphans", values, v -> v.get(ORPHANS))
                .description("gateway connections without a kernel socket, at the last audit").register(registry));
        meters.add(Gauge.builder("tether.kernel.audit.timestamp", values, v -> {
                    long at = v.get(AT_MILLIS);
                    return at < 0 ? -1 : at / 1000.0;
                })
                .description("when the last socket audit ran, epoch").baseUnit("seconds").register(registry));
    }

    void update(SocketAudit.Report r) {
        for (TcpState s : STATES) {
            values.set(s.ordinal(), r.count(s));
        }
        values.set(GHOSTS, r.compared() ? r.ghosts().size() : -1);
        values.set(ORPHANS, r.compared() ? r.orphans().size() : -1);
        values.set(AT_MILLIS, System.currentTimeMillis());
    }

    /** Unregisters the gauges: an admin endpoint that stopped has no audits to show. */
    void remove() {
        for (Meter m : meters) {
            registry.remove(m);
        }
    }
}
