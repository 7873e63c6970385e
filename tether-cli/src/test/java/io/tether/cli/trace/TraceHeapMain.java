package io.tether.cli.trace;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;

/**
 * Runs the analysis of one file in a JVM of its own (the test gives it a small -Xmx), output
 * discarded, and prints one line: {@code packets connections shown millis peakHeapBytes cpuMillis}
 * (cpuMillis: the analysing thread's CPU time, which a loaded machine does not inflate).
 */
public final class TraceHeapMain {
    private TraceHeapMain() {
    }

    public static void main(String[] args) throws Exception {
        long start = System.nanoTime();
        long cpu0 = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        Trace.Result r = Trace.run(Path.of(args[0]), Integer.parseInt(args[1]), null, args.length > 2 && args[2].equals("json"),
                new PrintWriter(OutputStream.nullOutputStream()));
        long ms = (System.nanoTime() - start) / 1_000_000;
        long cpuMs = (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0) / 1_000_000;
        long peak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                peak += p.getPeakUsage().getUsed();
            }
        }
        System.out.println(r.packets() + " " + r.connections() + " " + r.shown() + " " + ms + " " + peak + " " + cpuMs);
    }
}
