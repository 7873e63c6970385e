package io.tether.cli.trace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code tshark} says about a capture, for tests to compare {@code tether trace} with: per TCP
 * stream and direction, packets, bytes, SYN/FIN/RST, retransmissions, keepalives, zero windows,
 * first and last time ({@code -T fields}); and the {@code -z conv,tcp} table.
 */
final class TsharkView {
    /** One direction of one stream; the key is the sender's port. */
    static final class Dir {
        int packets;
        long bytes;
        int syn;
        int fin;
        int rst;
        int retransmissions;
        int keepalives;
        int zeroWindows;
        double first = -1;
        double last = -1;
    }

    record Conv(String a, String b, int framesToA, int framesFromA, int frames, double relStart, double duration) {
    }

    /** stream number -> sender port -> direction */
    final Map<Integer, Map<Integer, Dir>> streams = new LinkedHashMap<>();
    final List<Conv> conversations = new ArrayList<>();
    final String convText;

    private TsharkView(String convText) {
        this.convText = convText;
    }

    static boolean available() {
        try {
            return new ProcessBuilder("tshark", "--version").redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static TsharkView of(Path file) {
        String fields = run("tshark", "-r", file.toString(), "-T", "fields", "-E", "separator=\t", "-e", "tcp.stream",
                "-e", "tcp.srcport", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset",
                "-e", "tcp.analysis.retransmission", "-e", "tcp.analysis.keep_alive", "-e", "tcp.analysis.zero_window",
                "-e", "frame.time_relative", "-e", "frame.len");
        TsharkView v = new TsharkView(run("tshark", "-r", file.toString(), "-q", "-z", "conv,tcp"));
        for (String line : fields.split("\n")) {
            String[] f = line.split("\t", -1);
            if (f.length < 10 || f[0].isEmpty()) {
                continue;
            }
            Dir d = v.streams.computeIfAbsent(Integer.parseInt(f[0]), k -> new LinkedHashMap<>())
                    .computeIfAbsent(Integer.parseInt(f[1]), k -> new Dir());
            d.packets++;
            d.bytes += Long.parseLong(f[9]);
            d.syn += flag(f[2]);
            d.fin += flag(f[3]);
            d.rst += flag(f[4]);
            d.retransmissions += present(f[5]);
            d.keepalives += present(f[6]);
            d.zeroWindows += present(f[7]);
            double t = Double.parseDouble(f[8]);
            if (d.first < 0) {
                d.first = t;
            }
            d.last = t;
        }
        Pattern row = Pattern.compile("^(\\S+)\\s+<->\\s+(\\S+)\\s+(\\d+)\\s+[\\d,.]+\\s+\\S+\\s+(\\d+)\\s+[\\d,.]+\\s+\\S+\\s+(\\d+)"
                + "\\s+[\\d,.]+\\s+\\S+\\s+([\\d.]+)\\s+([\\d.]+)\\s*$");
        for (String line : v.convText.split("\n")) {
            Matcher m = row.matcher(line.strip());
            if (m.matches()) {
                v.conversations.add(new Conv(m.group(1), m.group(2), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                        Integer.parseInt(m.group(5)), Double.parseDouble(m.group(6)), Double.parseDouble(m.group(7))));
            }
        }
        return v;
    }

    private static int flag(String s) {
        return s.equals("1") || s.equalsIgnoreCase("true") ? 1 : 0;
    }

    private static int present(String s) {
        return s.isEmpty() || s.equals("0") || s.equalsIgnoreCase("false") ? 0 : 1;
    }

    static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
