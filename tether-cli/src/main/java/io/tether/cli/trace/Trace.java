package io.tether.cli.trace;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code tether trace} without the command line: reads a capture and writes every connection's
 * story, in words or as JSON. Not thread-safe; one call per analysis.
 */
public final class Trace {
    private Trace() {
    }

    /** What an analysis found, for the exit code and the closing lines. */
    public record Result(long packets, long tcpPackets, long portPackets, long connections, long shown, long truncatedBytes,
                         String format, long nanos) {
        /** True if the capture ended in the middle of a packet record or block. */
        public boolean truncated() {
            return truncatedBytes >= 0;
        }
    }

    /**
     * Analyses {@code file}.
     *
     * @param port   the Tether server port, 0 for every TCP connection
     * @param device only connections whose HELLO carried this device id; null for all
     * @param json   one JSON document instead of text
     * @throws CaptureFormatException if the file is not a pcap or pcapng capture
     * @throws IOException            if it cannot be read
     */
    public static Result run(Path file, int port, String device, boolean json, PrintWriter out)
            throws IOException, CaptureFormatException {
        Summary summary = new Summary();
        long start = System.nanoTime();
        CaptureReader reader;
        TraceAnalyzer analyzer;
        if (json) {
            JsonReport report = new JsonReport(out, summary, device, file.toString());
            analyzer = new TraceAnalyzer(port, report);
            reader = CaptureReader.read(file, analyzer);
            analyzer.finish();
            report.end(analyzer, reader, port);
        } else {
            TextReport report = new TextReport(out, summary, device);
            analyzer = new TraceAnalyzer(port, report);
            reader = CaptureReader.read(file, analyzer);
            analyzer.finish();
            long took = System.nanoTime() - start;
            double pps = analyzer.packets * 1e9 / Math.max(1, took);
            out.printf("%s: %s, %d packets, %d TCP%s, %d connection%s%s%s; read in %.3f s (%s packets/s)%n", file, reader.format(),
                    analyzer.packets, analyzer.tcpPackets, port == 0 ? "" : " (" + analyzer.portPackets + " on port " + port + ")",
                    analyzer.connections, analyzer.connections == 1 ? "" : "s",
                    device == null ? "" : ", " + summary.shown + " of device " + device,
                    analyzer.firstTime < 0 ? "" : ", " + TraceAnalyzer.seconds(analyzer.lastTime - analyzer.firstTime) + " s of traffic",
                    took / 1e9, pps >= 100_000 ? String.format("%.2f M", pps / 1e6) : String.valueOf(Math.round(pps)));
            if (!summary.verdicts.isEmpty()) {
                StringBuilder b = new StringBuilder("verdicts:");
                for (Map.Entry<Verdict, Long> e : summary.verdicts.entrySet()) {
                    b.append(' ').append(e.getKey().code()).append(' ').append(e.getValue()).append(',');
                }
                b.setLength(b.length() - 1);
                out.println(b);
            }
            if (reader.truncated() >= 0) {
                out.printf("the capture is truncated: it ends in the middle of a packet (%d bytes left over);"
                        + " everything before that was analysed%n", reader.truncated());
            }
            out.flush();
        }
        return new Result(analyzer.packets, analyzer.tcpPackets, analyzer.portPackets, analyzer.connections, summary.shown,
                reader.truncated(), reader.format(), System.nanoTime() - start);
    }
}
