package io.tether.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.tether.server.ServerConfig;
import io.tether.server.TetherServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tether doctor}: reads the host's TCP sysctls and this process's open-files limit and says
 * in plain words what they mean for a gateway — how long a dead peer goes unnoticed, how many
 * connections fit — and which of them Tether's per-socket settings override (DESIGN.md R7).
 *
 * <p>Sysctls are read from {@code /proc/sys} of this process's network namespace (so
 * {@code ip netns exec NS tether doctor} reads that namespace's {@code net.*}); the limit from
 * {@code /proc/self/limits}. Tether's own figures come from the defaults of
 * {@link TetherServer#builder()}, the same place {@code tether serve} starts from.
 *
 * <p>Exit codes: 0 when the settings were read (a value that cannot be read is reported as
 * unknown), 2 when none could be read. An instance serves one invocation; not thread-safe.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {
            "Reads this host's TCP sysctls (network namespace of this process) and open-files limit, and says what they"
                    + " imply for a gateway: when a dead peer is noticed, how many connections fit, and which settings"
                    + " Tether overrides per socket."
        })
public final class DoctorCommand implements Callable<Integer> {

    /** TCP_RTO_MIN: the retransmission timeout the kernel's give-up model starts from (HZ / 5). */
    static final double RTO_MIN_SECONDS = 0.2;
    /** TCP_RTO_MAX: the cap of the doubling retransmission timeout. */
    static final double RTO_MAX_SECONDS = 120;
    /**
     * Descriptors a Tether JVM holds besides connections: jars, epoll and eventfds, log and
     * store files. An estimate; measured around 60 to 90 with the RocksDB store.
     */
    static final int JVM_RESERVED_FDS = 100;

    static final String KEEPALIVE_TIME = "net.ipv4.tcp_keepalive_time";
    static final String KEEPALIVE_INTVL = "net.ipv4.tcp_keepalive_intvl";
    static final String KEEPALIVE_PROBES = "net.ipv4.tcp_keepalive_probes";
    static final String RETRIES2 = "net.ipv4.tcp_retries2";
    static final String FIN_TIMEOUT = "net.ipv4.tcp_fin_timeout";
    static final String ORPHAN_RETRIES = "net.ipv4.tcp_orphan_retries";
    static final String MAX_SYN_BACKLOG = "net.ipv4.tcp_max_syn_backlog";
    static final String SYNCOOKIES = "net.ipv4.tcp_syncookies";
    static final String PORT_RANGE = "net.ipv4.ip_local_port_range";
    static final String SOMAXCONN = "net.core.somaxconn";
    static final String NR_OPEN = "fs.nr_open";
    static final String FILE_MAX = "fs.file-max";

    private static final List<String> SYSCTLS = List.of(KEEPALIVE_TIME, KEEPALIVE_INTVL, KEEPALIVE_PROBES, RETRIES2,
            FIN_TIMEOUT, ORPHAN_RETRIES, MAX_SYN_BACKLOG, SYNCOOKIES, PORT_RANGE, SOMAXCONN, NR_OPEN, FILE_MAX);

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object: the values read, each finding, Tether's figures.")
    boolean json;

    @Option(names = "--max-connections", paramLabel = "N",
            description = "The --max-connections the gateway will run with: warns if the open-files limit cannot hold "
                    + "that many beside the descriptor reserve (default: none; the cap the limit implies is reported).")
    int maxConnections;

    @Option(names = "--descriptor-reserve", paramLabel = "N",
            description = "The --descriptor-reserve the gateway will run with (default: tether serve's).")
    Integer descriptorReserve;

    /** For tests: a directory laid out like /proc (sys/net/ipv4/..., sys/fs/..., self/limits). */
    @Option(names = "--proc", paramLabel = "DIR", hidden = true)
    Path proc = Path.of("/proc");

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Host host = Host.read(proc);
        if (host.sysctls().isEmpty() && host.openFilesHard() == null) {
            err.println("tether doctor: cannot read any setting under " + proc + " (unreadable: "
                    + String.join(", ", host.unreadable()) + ")");
            err.flush();
            return 2;
        }
        ServerConfig tether;
        try {
            TetherServer.Builder b = TetherServer.builder().maxConnections(maxConnections);
            if (descriptorReserve != null) {
                b.descriptorReserve(descriptorReserve);
            }
            tether = b.config();
        } catch (IllegalArgumentException e) {
            err.println("tether doctor: --" + e.getMessage());
            err.flush();
            return 2;
        }
        List<Finding> findings = assess(host, tether);
        String tetherSummary = tetherSummary(tether, host);
        if (json) {
            out.println(toJson(host, findings, tether, tetherSummary));
        } else {
            print(host, findings, tetherSummary, out);
        }
        out.flush();
        return 0;
    }

    // ---- what the host holds ------------------------------------------------------------------

    /**
     * Values read from the host.
     *
     * @param sysctls       sysctl name to value, in {@link #SYSCTLS} order; absent if unreadable
     * @param portRange     ip_local_port_range as {low, high}, or null if unreadable
     * @param openFilesSoft RLIMIT_NOFILE soft limit; {@link Long#MAX_VALUE} for unlimited; null if unknown
     * @param openFilesHard RLIMIT_NOFILE hard limit; as above
     * @param unreadable    the settings that could not be read, each with why
     */
    record Host(Map<String, Long> sysctls, int[] portRange, Long openFilesSoft, Long openFilesHard,
                List<String> unreadable) {

        static Host read(Path proc) {
            Map<String, Long> values = new LinkedHashMap<>();
            List<String> unreadable = new ArrayList<>();
            int[] range = null;
            for (String name : SYSCTLS) {
                Path file = proc.resolve("sys").resolve(name.replace('.', '/'));
                try {
                    String text = readSysctl(file);
                    if (name.equals(PORT_RANGE)) {
                        String[] parts = text.split("\\s+");
                        range = new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
                    } else {
                        values.put(name, Long.parseLong(text));
                    }
                } catch (IOException | RuntimeException e) {
                    unreadable.add(name + " (" + file + ": " + e.getClass().getSimpleName() + ")");
                }
            }
            Long soft = null;
            Long hard = null;
            Path limits = proc.resolve("self").resolve("limits");
            try {
                for (String line : Files.readAllLines(limits, StandardCharsets.US_ASCII)) {
                    if (line.startsWith("Max open files")) {
                        String[] f = line.substring("Max open files".length()).strip().split("\\s+");
                        soft = limit(f[0]);
                        hard = limit(f[1]);
                    }
                }
                if (hard == null) {
                    unreadable.add("open-files limit (no 'Max open files' line in " + limits + ")");
                }
            } catch (IOException | RuntimeException e) {
                unreadable.add("open-files limit (" + limits + ": " + e.getClass().getSimpleName() + ")");
            }
            return new Host(values, range, soft, hard, List.copyOf(unreadable));
        }

        /**
         * Reads a sysctl in one read(2). The kernel's integer handlers answer a read at a non-zero
         * offset with EOF, so Files.readString, which probes with a one-byte read when the file
         * reports size 0, would see only the first digit.
         */
        private static String readSysctl(Path file) throws IOException {
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[4096];
                int n = 0;
                int r;
                while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
                    n += r;
                }
                return new String(buf, 0, n, StandardCharsets.US_ASCII).strip();
            }
        }

        private static long limit(String s) {
            return s.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(s);
        }

        Long get(String name) {
            return sysctls.get(name);
        }

        boolean has(String... names) {
            for (String n : names) {
                if (!sysctls.containsKey(n)) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * One implication.
     *
     * @param topic    a short key (keepalive, retransmission, ...)
     * @param settings the values it rests on, as {@code name = value}
     * @param seconds  the time it implies, or null if it is not a time
     * @param host     what it means on this host, in plain words
     * @param tether   how it applies to Tether's connections
     */
    record Finding(String topic, List<String> settings, Double seconds, String host, String tether) {
    }

    // ---- arithmetic -----------------------------------------------------------------------------

    /** Time for kernel keepalive alone to declare an idle peer dead: idle + interval x probes. */
    static long keepaliveSeconds(long time, long intvl, long probes) {
        return time + intvl * probes;
    }

    /**
     * When the kernel gives up on unacknowledged data after {@code retries} retransmissions, in
     * seconds from the first transmission: {@code tcp_model_timeout()} in
     * {@code net/ipv4/tcp_timer.c}. The timeout starts at TCP_RTO_MIN and doubles after each
     * retransmission until TCP_RTO_MAX; the doubling phase lasts {@code ilog2(RTO_MAX / RTO_MIN)}
     * retransmissions (9 for 120 s / 200 ms), each one after that waits RTO_MAX:
     * {@code (2^(n+1) - 1) x RTO_MIN} if n &lt;= 9, else {@code (2^10 - 1) x RTO_MIN + (n - 9) x RTO_MAX}.
     * tcp_retries2 = 15 gives 204.6 + 6 x 120 = 924.6 s.
     */
    static double retransmissionGiveUpSeconds(int retries) {
        int threshold = linearBackoffThreshold();
        if (retries <= threshold) {
            return ((2L << retries) - 1) * RTO_MIN_SECONDS;
        }
        return ((2L << threshold) - 1) * RTO_MIN_SECONDS + (retries - threshold) * RTO_MAX_SECONDS;
    }

    /**
     * The sum behind {@link #retransmissionGiveUpSeconds}, spelled out, e.g.
     * {@code 0.2 + 0.4 + ... + 102.4 s = 204.6 s, then 6 x 120 s}.
     */
    static String backoffFormula(int retries) {
        int doubling = Math.min(retries, linearBackoffThreshold());
        double last = RTO_MIN_SECONDS * (1L << doubling);
        double sum = retransmissionGiveUpSeconds(doubling);
        String s = doubling == 0 ? seconds(sum)
                : doubling == 1 ? num(RTO_MIN_SECONDS) + " + " + seconds(last) + " = " + seconds(sum)
                : num(RTO_MIN_SECONDS) + " + " + num(RTO_MIN_SECONDS * 2) + " + ... + " + seconds(last) + " = " + seconds(sum);
        if (retries > doubling) {
            s += ", then " + (retries - doubling) + " x " + seconds(RTO_MAX_SECONDS);
        }
        return s;
    }

    private static String num(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.format(Locale.ROOT, "%.1f", d);
    }

    /** ilog2(TCP_RTO_MAX / TCP_RTO_MIN) with the kernel's integer division: ilog2(600) = 9. */
    static int linearBackoffThreshold() {
        long ratio = Math.round(RTO_MAX_SECONDS * 1000) / Math.round(RTO_MIN_SECONDS * 1000);
        return 63 - Long.numberOfLeadingZeros(ratio);
    }

    /** tcp_orphan_retries 0 means 8 for a peer that still answers (tcp_orphan_retries() in tcp_timer.c). */
    static int effectiveOrphanRetries(long sysctl) {
        return sysctl == 0 ? 8 : (int) sysctl;
    }

    /** Ephemeral ports one source address has toward one destination address and port. */
    static long ephemeralPorts(int low, int high) {
        return (long) high - low + 1;
    }

    /** Connections a process fits: the descriptor limit minus what the JVM holds itself. */
    static long connectionCapacity(long openFilesLimit) {
        return Math.max(0, openFilesLimit - JVM_RESERVED_FDS);
    }

    /**
     * A duration in words: {@code 2 h 11 min 15 s}, {@code 45 s}, {@code 15 min 24.6 s}. Zero
     * components are left out; a fraction of a second is kept to one decimal.
     */
    static String human(double seconds) {
        long tenths = Math.round(seconds * 10);
        long whole = tenths / 10;
        long h = whole / 3600;
        long min = whole % 3600 / 60;
        long s = whole % 60;
        long frac = tenths % 10;
        List<String> parts = new ArrayList<>();
        if (h > 0) {
            parts.add(h + " h");
        }
        if (min > 0) {
            parts.add(min + " min");
        }
        if (s > 0 || frac > 0 || parts.isEmpty()) {
            parts.add(frac > 0 ? s + "." + frac + " s" : s + " s");
        }
        return String.join(" ", parts);
    }

    private static String seconds(double s) {
        return s == Math.rint(s) ? String.format(Locale.ROOT, "%d s", (long) s) : String.format(Locale.ROOT, "%.1f s", s);
    }

    private static String count(long n) {
        return n == Long.MAX_VALUE ? "unlimited" : String.format(Locale.ROOT, "%,d", n);
    }

    private static String secondsOf(Duration d) {
        return seconds(d.toMillis() / 1000.0);
    }

    // ---- what it means --------------------------------------------------------------------------

    /** Every implication that the values read allow; pure, for tests. */
    static List<Finding> assess(Host h, ServerConfig t) {
        List<Finding> out = new ArrayList<>();
        boolean tetherKeepalive = t.keepAliveEnabled();
        if (h.has(KEEPALIVE_TIME, KEEPALIVE_INTVL, KEEPALIVE_PROBES)) {
            long time = h.get(KEEPALIVE_TIME);
            long intvl = h.get(KEEPALIVE_INTVL);
            long probes = h.get(KEEPALIVE_PROBES);
            long total = keepaliveSeconds(time, intvl, probes);
            out.add(new Finding("keepalive",
                    List.of(KEEPALIVE_TIME + " = " + time, KEEPALIVE_INTVL + " = " + intvl, KEEPALIVE_PROBES + " = " + probes),
                    (double) total,
                    "A dead idle peer is found after " + human(total) + " by kernel keepalive alone (" + time + " + "
                            + intvl + " x " + probes + " s), on sockets that turn SO_KEEPALIVE on without values of their own.",
                    tetherKeepalive
                            ? "overridden per socket (TCP_KEEPIDLE " + secondsOf(t.keepAliveIdle()) + ", TCP_KEEPINTVL "
                                    + secondsOf(t.keepAliveInterval()) + ", TCP_KEEPCNT " + t.keepAliveCount()
                                    + "); these sysctls do not bound its connections."
                            : "do not apply; keepalive is off (--keepalive off), so no probes at all."));
        }
        if (h.has(RETRIES2)) {
            int retries = (int) (long) h.get(RETRIES2);
            double giveUp = retransmissionGiveUpSeconds(retries);
            out.add(new Finding("retransmission", List.of(RETRIES2 + " = " + retries), giveUp,
                    "A peer that dies while data is unacknowledged is given up after ~" + seconds(giveUp)
                            + (giveUp >= 60 ? String.format(Locale.ROOT, " = %.1f min", giveUp / 60) : "") + ": "
                            + retries + (retries == 1 ? " retransmission" : " retransmissions") + ", the timeout doubling from "
                            + "200 ms up to the 120 s cap (" + backoffFormula(retries) + "). Keepalive never fires while data"
                            + " is queued, so this is the only bound for such a peer.",
                    t.userTimeout().isZero()
                            ? "applies; TCP_USER_TIMEOUT is 0 (kernel default)."
                            : "overridden per socket by TCP_USER_TIMEOUT " + secondsOf(t.userTimeout())
                                    + "; tcp_retries2 does not bound its connections."));
        }
        if (h.has(ORPHAN_RETRIES)) {
            long sysctl = h.get(ORPHAN_RETRIES);
            int retries = effectiveOrphanRetries(sysctl);
            double giveUp = retransmissionGiveUpSeconds(retries);
            out.add(new Finding("orphans", List.of(ORPHAN_RETRIES + " = " + sysctl), giveUp,
                    "A socket its application has closed (an orphan) whose FIN or data the dead peer never acknowledges"
                            + " is dropped after ~" + seconds(giveUp) + " (" + retries + " retransmissions"
                            + (sysctl == 0 ? "; 0 means 8" : "") + ").",
                    "matters little; timed-out peers are ended with RST (SO_LINGER 0), which leaves no orphan."));
        }
        if (h.has(FIN_TIMEOUT)) {
            long fin = h.get(FIN_TIMEOUT);
            out.add(new Finding("fin-wait-2", List.of(FIN_TIMEOUT + " = " + fin), (double) fin,
                    "Orphaned FIN_WAIT2 sockets (closed by their application, the peer never sent its FIN) linger "
                            + seconds(fin) + " (tcp_fin_timeout).",
                    "matters little; timed-out peers are ended with RST, so a dead peer leaves no FIN_WAIT2 behind."));
        }
        if (h.openFilesHard() != null) {
            long soft = h.openFilesSoft();
            long hard = h.openFilesHard();
            List<String> settings = new ArrayList<>(List.of("open files soft = " + count(soft), "open files hard = " + count(hard)));
            StringBuilder says = new StringBuilder();
            if (hard == Long.MAX_VALUE) {
                says.append("The open-files limit is unlimited: other limits (memory, fs.nr_open) bound connections.");
            } else {
                says.append("This process can hold at most ~").append(count(connectionCapacity(hard)))
                        .append(" connections (hard limit ").append(count(hard)).append(" minus ~").append(JVM_RESERVED_FDS)
                        .append(" of the JVM's own descriptors); one connection is one descriptor.");
            }
            if (soft < hard) {
                says.append(" The soft limit is ").append(count(soft)).append(": ./tether raises it to the hard limit;"
                        + " a JVM started otherwise stops at ~").append(count(connectionCapacity(soft))).append(".");
            }
            if (h.has(NR_OPEN)) {
                settings.add(NR_OPEN + " = " + count(h.get(NR_OPEN)));
                says.append(" Root may raise the hard limit up to fs.nr_open = ").append(count(h.get(NR_OPEN))).append(".");
            }
            if (h.has(FILE_MAX)) {
                settings.add(FILE_MAX + " = " + count(h.get(FILE_MAX)));
                says.append(" All processes together may open ").append(count(h.get(FILE_MAX))).append(" files (fs.file-max).");
            }
            out.add(new Finding("open-files", settings, null, says.toString(), connectionCapText(t, hard)));
        }
        if (h.portRange() != null) {
            int low = h.portRange()[0];
            int high = h.portRange()[1];
            long ports = ephemeralPorts(low, high);
            out.add(new Finding("ephemeral-ports", List.of(PORT_RANGE + " = " + low + " " + high), null,
                    "One source address gives ~" + count(ports) + " ephemeral ports per destination (ip_local_port_range "
                            + low + "-" + high + ").",
                    "bounds clients, not the gateway; one server port accepts any number of devices. A load generator on"
                            + " this host needs one source address (127.0.0.x) per ~" + count(ports) + " connections."));
        }
        if (h.has(SOMAXCONN)) {
            long somaxconn = h.get(SOMAXCONN);
            long effective = Math.min(somaxconn, t.backlog());
            out.add(new Finding("backlog", List.of(SOMAXCONN + " = " + somaxconn), null,
                    "A listen backlog is capped at " + count(somaxconn) + " connections waiting to be accepted (somaxconn).",
                    "applies; --backlog " + t.backlog() + " becomes " + effective
                            + (effective < t.backlog() ? " (raise net.core.somaxconn to keep it)." : ".")));
        }
        if (h.has(MAX_SYN_BACKLOG)) {
            long syn = h.get(MAX_SYN_BACKLOG);
            Long cookies = h.get(SYNCOOKIES);
            // tcp_conn_request(): the SYN queue is bounded by the listen backlog; tcp_max_syn_backlog
            // only drops SYNs of unproven peers, once 3/4 of it is pending, and only without cookies.
            String cookieText = cookies == null
                    ? " It matters only with SYN cookies off (tcp_syncookies unknown here)."
                    : cookies == 0
                    ? " SYN cookies are off (tcp_syncookies = 0), so it applies: SYNs from peers never seen before are dropped"
                            + " once " + count(syn - (syn >> 2)) + " are pending; a reconnect storm loses connection attempts."
                    : " SYN cookies are on (tcp_syncookies = " + cookies + "), so it does not apply: when the SYN queue"
                            + " overflows, the kernel answers with cookies instead of dropping.";
            List<String> settings = new ArrayList<>(List.of(MAX_SYN_BACKLOG + " = " + syn));
            if (cookies != null) {
                settings.add(SYNCOOKIES + " = " + cookies);
            }
            out.add(new Finding("syn-backlog", settings, null,
                    "Half-open connections (SYN_RECV) of a listener are bounded by its listen backlog; tcp_max_syn_backlog = "
                            + count(syn) + " limits them further only without SYN cookies." + cookieText,
                    "applies; a reconnect storm of the whole fleet arrives as a burst of SYNs."));
        }
        return out;
    }

    /**
     * The connection cap the gateway would apply under the open-files limit {@code limit} (the
     * hard one, which ./tether raises the soft one to), and a warning when it is below
     * --max-connections.
     */
    static String connectionCapText(ServerConfig t, long limit) {
        int reserve = t.admission().descriptorReserve();
        long cap = t.admission().connectionCap(limit);
        int max = t.maxConnections();
        String fromLimit = "open-files limit " + count(limit) + " - descriptor-reserve " + reserve
                + " (store, admin, JVM)";
        if (cap < 1) {
            return "WARNING: the " + fromLimit + " leaves no descriptor for devices: tether serve refuses to start."
                    + " Raise the limit (ulimit -n, systemd LimitNOFILE=) or lower --descriptor-reserve.";
        }
        if (max > 0 && cap < max) {
            return "WARNING: --max-connections " + count(max) + " cannot be reached: the " + fromLimit + " caps"
                    + " connections at " + count(cap) + "; beyond that devices get BYE SERVER_BUSY. Raise the limit to"
                    + " at least " + count((long) max + reserve) + " (ulimit -n, systemd LimitNOFILE=).";
        }
        if (max > 0) {
            return "applies; --max-connections " + count(max) + " fits (the " + fromLimit + " would allow "
                    + count(cap) + ").";
        }
        return "applies; connections are capped at " + count(cap) + " (" + fromLimit + "); beyond that devices get"
                + " BYE SERVER_BUSY. --max-connections N lowers the cap.";
    }

    /** What Tether's own settings imply, in one sentence. */
    static String tetherSummary(ServerConfig t, Host h) {
        StringBuilder s = new StringBuilder("dead idle device found after ");
        List<String> by = new ArrayList<>();
        if (t.heartbeatsEnabled()) {
            double timeout = t.heartbeat().toMillis() / 1000.0 * t.heartbeatMultiplier();
            by.add(seconds(timeout) + " by heartbeat (" + secondsOf(t.heartbeat()) + " x " + trim(t.heartbeatMultiplier()) + ")");
        }
        if (t.keepAliveEnabled()) {
            long ka = keepaliveSeconds(t.keepAliveIdle().toSeconds(), t.keepAliveInterval().toSeconds(), t.keepAliveCount());
            by.add(seconds(ka) + " by keepalive (" + t.keepAliveIdle().toSeconds() + " + " + t.keepAliveInterval().toSeconds()
                    + " x " + t.keepAliveCount() + ")");
        }
        if (by.isEmpty()) {
            s = new StringBuilder("no heartbeat and no keepalive: a dead idle device is never found");
        } else {
            s.append(String.join(", ", by));
        }
        if (t.userTimeout().isZero()) {
            Long retries = h.get(RETRIES2);
            s.append(", unacked data bounded by the kernel's tcp_retries2")
                    .append(retries == null ? "" : " (~" + seconds(retransmissionGiveUpSeconds((int) (long) retries)) + ")");
        } else {
            s.append(", unacked data bounded by TCP_USER_TIMEOUT ").append(secondsOf(t.userTimeout()));
        }
        s.append("; a timed-out device gets ").append(secondsOf(t.drain())).append(" of drain, then RST");
        s.append("; HELLO due within ").append(secondsOf(t.handshakeTimeout()));
        return s.toString();
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    // ---- output ---------------------------------------------------------------------------------

    private static void print(Host h, List<Finding> findings, String tether, PrintWriter out) {
        out.println("Host: sysctls of this network namespace, limits of this process");
        for (Finding f : findings) {
            out.println();
            out.println(f.topic() + ": " + String.join(", ", f.settings()));
            out.println("  " + f.host());
            out.println("  Tether: " + f.tether());
        }
        if (!h.unreadable().isEmpty()) {
            out.println();
            out.println("unknown (cannot read): " + String.join("; ", h.unreadable()));
        }
        out.println();
        out.println("Tether (defaults of tether serve; its flags change them): " + tether + ".");
    }

    private static String toJson(Host h, List<Finding> findings, ServerConfig t, String tether) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
            g.writeStartObject();
            g.writeObjectFieldStart("sysctls");
            for (Map.Entry<String, Long> e : h.sysctls().entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue());
            }
            if (h.portRange() != null) {
                g.writeArrayFieldStart(PORT_RANGE);
                g.writeNumber(h.portRange()[0]);
                g.writeNumber(h.portRange()[1]);
                g.writeEndArray();
            }
            g.writeEndObject();
            g.writeObjectFieldStart("limits");
            writeLimit(g, "openFilesSoft", h.openFilesSoft());
            writeLimit(g, "openFilesHard", h.openFilesHard());
            g.writeEndObject();
            g.writeArrayFieldStart("findings");
            for (Finding f : findings) {
                g.writeStartObject();
                g.writeStringField("topic", f.topic());
                g.writeArrayFieldStart("settings");
                for (String s : f.settings()) {
                    g.writeString(s);
                }
                g.writeEndArray();
                if (f.seconds() != null) {
                    // to 0.1 s, as printed: 924.6, not the 924.6000000000001 of binary floating point
                    g.writeNumberField("seconds", Math.round(f.seconds() * 10) / 10.0);
                }
                g.writeStringField("host", f.host());
                g.writeStringField("tether", f.tether());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("tether");
            g.writeNumberField("heartbeatSeconds", t.heartbeat().toMillis() / 1000.0);
            g.writeNumberField("heartbeatMultiplier", t.heartbeatMultiplier());
            g.writeNumberField("heartbeatTimeoutSeconds", t.heartbeat().toMillis() / 1000.0 * t.heartbeatMultiplier());
            g.writeNumberField("keepaliveSeconds", t.keepAliveEnabled()
                    ? keepaliveSeconds(t.keepAliveIdle().toSeconds(), t.keepAliveInterval().toSeconds(), t.keepAliveCount()) : 0);
            g.writeNumberField("userTimeoutSeconds", t.userTimeout().toMillis() / 1000.0);
            g.writeNumberField("drainSeconds", t.drain().toMillis() / 1000.0);
            g.writeNumberField("backlog", t.backlog());
            g.writeStringField("says", tether);
            g.writeEndObject();
            g.writeArrayFieldStart("unreadable");
            for (String u : h.unreadable()) {
                g.writeString(u);
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return w.toString();
    }

    private static void writeLimit(JsonGenerator g, String name, Long value) throws IOException {
        if (value == null) {
            g.writeNullField(name);
        } else if (value == Long.MAX_VALUE) {
            g.writeStringField(name, "unlimited");
        } else {
            g.writeNumberField(name, value);
        }
    }
}
