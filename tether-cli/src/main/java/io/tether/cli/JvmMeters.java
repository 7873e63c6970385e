package io.tether.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The JVM and process meters of {@code tether serve}: memory, GC pauses, threads, CPU, uptime,
 * open files (against the limit the gateway's admission reserves descriptors from).
 *
 * <p>Open files are counted every {@link #OPEN_FILES_PERIOD_SECONDS} s on a thread of their own,
 * not at each scrape as Micrometer's {@code FileDescriptorMetrics} does: the JVM counts them by
 * listing {@code /proc/self/fd}, which takes 25 to 80 ms at 19,000 descriptors (one per device),
 * longer than the rest of a scrape together. Same meter names as that binder.
 */
final class JvmMeters {
    static final int OPEN_FILES_PERIOD_SECONDS = 10;

    private JvmMeters() {
    }

    static void bindTo(MeterRegistry meters) {
        new JvmMemoryMetrics().bindTo(meters);
        // Lives as long as the process: its GC listeners go with the JVM.
        @SuppressWarnings("resource")
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(meters);
        new JvmThreadMetrics().bindTo(meters);
        new ClassLoaderMetrics().bindTo(meters);
        new ProcessorMetrics().bindTo(meters);
        new UptimeMetrics().bindTo(meters);
        bindOpenFiles(meters);
    }

    private static void bindOpenFiles(MeterRegistry meters) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (!(os instanceof com.sun.management.UnixOperatingSystemMXBean unix)) {
            return; // not a Unix JVM: no descriptor counts to show
        }
        AtomicLong open = new AtomicLong(unix.getOpenFileDescriptorCount());
        ScheduledExecutorService counter = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tether-open-files");
            t.setDaemon(true);
            return t;
        });
        counter.scheduleWithFixedDelay(() -> open.set(unix.getOpenFileDescriptorCount()),
                OPEN_FILES_PERIOD_SECONDS, OPEN_FILES_PERIOD_SECONDS, TimeUnit.SECONDS);
        Gauge.builder("process.files.open", open, AtomicLong::get).baseUnit("files")
                .description("open file descriptors, counted every " + OPEN_FILES_PERIOD_SECONDS + " s").register(meters);
        Gauge.builder("process.files.max", unix, com.sun.management.UnixOperatingSystemMXBean::getMaxFileDescriptorCount)
                .baseUnit("files").description("the open-files limit").register(meters);
    }
}
