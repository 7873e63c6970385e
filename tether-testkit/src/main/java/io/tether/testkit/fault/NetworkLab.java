package io.tether.testkit.fault;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A two-host network made of real kernel parts, for tests that need real faults: a server
 * namespace and a device namespace joined by a veth pair, with private addresses
 * ({@value #SUBNET}.1 for the server, {@value #SUBNET}.2 and up for devices). Faults are iptables
 * rules or netem qdiscs inside those namespaces ({@link Namespace#blackhole},
 * {@link Namespace#drop}, {@link Namespace#reset}, {@link Namespace#delay}); programs run inside
 * them as child JVMs ({@link Namespace#startJava}), since one Java process cannot straddle network
 * namespaces.
 *
 * <pre>{@code
 * assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> NetworkLab.unavailableReason().get());
 * try (NetworkLab lab = NetworkLab.create(Path.of("target/fault-logs/test"))) {
 *     NamespaceProcess server = lab.server().startJava("server", "my.ServerMain", List.of(), List.of());
 *     InetAddress dev = lab.device().addAddress();
 *     ...
 *     Fault powerLoss = lab.device().blackhole(Match.address(dev));
 * }
 * }</pre>
 *
 * <h2>Isolation and cleanup</h2>
 * Namespaces are named {@code tt-srv-<pid>-<n>} and {@code tt-dev-<pid>-<n>} (pid of this JVM, n a
 * counter), and the veth pair is created directly inside them: nothing is added to the host's
 * own network. {@link #close()} stops the lab's processes and deletes both namespaces (which
 * destroys the link and every rule). A JVM shutdown hook does the same for labs still open, and
 * {@link #create} first deletes {@code tt-*} namespaces left by an earlier JVM that crashed (one
 * whose pid no longer runs), ending by pid the processes still inside them.
 *
 * <h2>Requirements</h2>
 * Root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 and iptables. {@link #unavailableReason()}
 * says why a lab cannot be created here, so tests can skip with that reason;
 * {@link #netemUnavailableReason()} does the same for {@code tc qdisc netem}, which some kernels
 * lack.
 *
 * <p>Thread-safe.
 */
public final class NetworkLab implements AutoCloseable {
    /** The interface name of the link inside each namespace. */
    public static final String LINK = "tt0";
    /** The lab's /24 (inside the lab's namespaces only). */
    public static final String SUBNET = "10.213.0";
    static final int PREFIX_LENGTH = 24;
    private static final String PREFIX = "tt-";
    private static final Pattern OURS = Pattern.compile("^tt-(?:srv|dev|probe)-(\\d+)-\\d+$");
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Set<NetworkLab> OPEN = ConcurrentHashMap.newKeySet();
    private static final long PID = ProcessHandle.current().pid();
    private static volatile Optional<String> unavailable;
    private static volatile Optional<String> netemUnavailable;
    private static boolean hookInstalled;
    private static boolean swept;

    private final Namespace server;
    private final Namespace device;
    private final Path logDir;
    private final List<NamespaceProcess> processes = new CopyOnWriteArrayList<>();
    private final AtomicInteger nextHost = new AtomicInteger(3);
    private volatile int childNiceness;
    private boolean closed;

    private NetworkLab(int n, Path logDir) {
        this.logDir = logDir;
        this.server = new Namespace(this, PREFIX + "srv-" + PID + "-" + n, host(1));
        this.device = new Namespace(this, PREFIX + "dev-" + PID + "-" + n, host(2));
    }

    /**
     * Why a lab cannot be made on this machine (not root, no {@code ip}, no {@code iptables}, no
     * namespaces), or empty if it can. Probed once per JVM by creating and deleting a namespace.
     */
    public static Optional<String> unavailableReason() {
        Optional<String> u = unavailable;
        if (u == null) {
            synchronized (NetworkLab.class) {
                if (unavailable == null) {
                    probe();
                }
                u = unavailable;
            }
        }
        return u;
    }

    /**
     * Why {@code tc qdisc ... netem} cannot be used here (e.g. "Specified qdisc kind is unknown"
     * on kernels built without sch_netem), or empty if it can. Also present when no lab can be
     * made at all.
     */
    public static Optional<String> netemUnavailableReason() {
        unavailableReason();
        return netemUnavailable;
    }

    private static void probe() {
        String ns = PREFIX + "probe-" + PID + "-" + COUNTER.incrementAndGet();
        ExecResult add = Shell.run(List.of("ip", "netns", "add", ns));
        if (!add.ok()) {
            unavailable = Optional.of("network namespaces unavailable (needs root or CAP_NET_ADMIN, and iproute2): "
                    + add.describe());
            netemUnavailable = unavailable;
            return;
        }
        try {
            ExecResult ipt = Shell.run(List.of("ip", "netns", "exec", ns, "iptables-restore", "--noflush"),
                    "*filter\n-A INPUT -i lo -p tcp --dport 9 -j REJECT --reject-with tcp-reset\nCOMMIT\n",
                    Shell.DEFAULT_TIMEOUT);
            unavailable = ipt.ok() ? Optional.empty()
                    : Optional.of("iptables unavailable inside a network namespace: " + ipt.describe());
            ExecResult lo = Shell.run(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
            ExecResult netem = lo.ok()
                    ? Shell.run(List.of("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                    "delay", "1ms"))
                    : lo;
            netemUnavailable = unavailable.isPresent() ? unavailable
                    : netem.ok() ? Optional.empty()
                    : Optional.of("tc netem unavailable on this kernel: " + netem.describe());
        } finally {
            Shell.run(List.of("ip", "netns", "del", ns));
        }
    }

    /** A lab without log files. */
    public static NetworkLab create() {
        return create(null);
    }

    /**
     * Creates both namespaces and the link between them, with loopback and the link up.
     *
     * @param logDir where child processes' output is written ({@code <label>.log}); created if
     *     absent; null for none
     * @throws IllegalStateException if {@link #unavailableReason()} is present
     * @throws UncheckedIOException if a setup command fails (the partial lab is removed)
     */
    public static NetworkLab create(Path logDir) {
        unavailableReason().ifPresent(r -> {
            throw new IllegalStateException(r);
        });
        synchronized (NetworkLab.class) {
            if (!swept) {
                swept = true;
                sweepStale();
            }
            if (!hookInstalled) {
                hookInstalled = true;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    for (NetworkLab lab : OPEN) {
                        lab.close();
                    }
                }, "network-lab-cleanup"));
            }
        }
        if (logDir != null) {
            try {
                Files.createDirectories(logDir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        NetworkLab lab = new NetworkLab(COUNTER.incrementAndGet(), logDir);
        OPEN.add(lab);
        try {
            lab.setUp();
        } catch (RuntimeException e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    private void setUp() {
        String s = server.name();
        String d = device.name();
        run("ip", "netns", "add", s);
        run("ip", "netns", "add", d);
        // Created inside the server namespace with its peer inside the device namespace: the pair
        // never exists in the host's namespace, so no host interface name can clash.
        run("ip", "-n", s, "link", "add", LINK, "type", "veth", "peer", "name", LINK, "netns", d);
        run("ip", "-n", s, "addr", "add", server.address().getHostAddress() + "/" + PREFIX_LENGTH, "dev", LINK);
        run("ip", "-n", d, "addr", "add", device.address().getHostAddress() + "/" + PREFIX_LENGTH, "dev", LINK);
        for (String ns : List.of(s, d)) {
            run("ip", "-n", ns, "link", "set", "lo", "up");
            run("ip", "-n", ns, "link", "set", LINK, "up");
        }
    }

    private static void run(String... cmd) {
        Shell.orThrow(Shell.run(List.of(cmd)));
    }

    /** The server's namespace; its address is {@value #SUBNET}.1. */
    public Namespace server() {
        return server;
    }

    /** The devices' namespace; its primary address is {@value #SUBNET}.2. */
    public Namespace device() {
        return device;
    }

    /**
     * Runs JVMs started from now on with {@code nice -n niceness}. A negative value (root only;
     * elsewhere nice warns and runs the program unchanged) keeps a timing test's heartbeat timers
     * from being starved by other work on a loaded machine. Default 0: not changed.
     *
     * @throws IllegalArgumentException if not within -20 to 19
     */
    public NetworkLab childNiceness(int niceness) {
        if (niceness < -20 || niceness > 19) {
            throw new IllegalArgumentException("niceness: " + niceness + " (expected: -20 to 19)");
        }
        this.childNiceness = niceness;
        return this;
    }

    int childNiceness() {
        return childNiceness;
    }

    /** Where child processes' output goes, or null. */
    public Path logDir() {
        return logDir;
    }

    InetAddress allocateAddress() {
        int h = nextHost.getAndIncrement();
        if (h > 254) {
            throw new IllegalStateException("no address left in " + SUBNET + ".0/24");
        }
        return host(h);
    }

    private static InetAddress host(int h) {
        try {
            return InetAddress.getByAddress(new byte[] {10, (byte) 213, 0, (byte) h});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // unreachable: 4 bytes
        }
    }

    synchronized NamespaceProcess register(NamespaceProcess p) {
        if (closed) {
            p.kill();
            throw new IllegalStateException("lab is closed");
        }
        processes.add(p);
        return p;
    }

    /**
     * Stops every process started in the lab (EOF on stdin, a short grace, then a kill), ends any
     * other process still inside its namespaces, and deletes both namespaces. Idempotent; safe
     * after a failed test and from the shutdown hook.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        List<Thread> stoppers = new ArrayList<>();
        for (NamespaceProcess p : processes) {
            Thread t = new Thread(() -> p.stop(Duration.ofSeconds(2)), "stop-" + p.label());
            t.start();
            stoppers.add(t);
        }
        for (Thread t : stoppers) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Namespace ns : List.of(server, device)) {
            delete(ns.name());
            ns.markDeleted();
        }
        OPEN.remove(this);
    }

    /** Kills (by pid) whatever still runs inside a namespace of ours, then deletes it. */
    private static void delete(String ns) {
        ExecResult pids = Shell.run(List.of("ip", "netns", "pids", ns));
        if (pids.ok()) {
            for (String pid : pids.stdout().split("\\s+")) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
        Shell.run(List.of("ip", "netns", "del", ns));
    }

    /**
     * Deletes {@code tt-srv-*}, {@code tt-dev-*} and {@code tt-probe-*} namespaces whose creating
     * JVM (the pid in the name) no longer runs: leftovers of a run that was killed before its
     * cleanup. Namespaces of live JVMs, including concurrent test runs, are left alone.
     *
     * @return how many were deleted
     */
    public static int sweepStale() {
        ExecResult list = Shell.run(List.of("ip", "netns", "list"));
        if (!list.ok()) {
            return 0;
        }
        int deleted = 0;
        for (String line : list.stdout().split("\n")) {
            String name = line.strip().split("\\s+")[0];
            Matcher m = OURS.matcher(name);
            if (m.matches() && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
                delete(name);
                deleted++;
            }
        }
        return deleted;
    }

    /**
     * The class path for child JVMs: this JVM's test class path. Under Surefire,
     * {@code java.class.path} may be a manifest-only jar, which works as well while the test runs.
     */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    @Override
    public String toString() {
        return "NetworkLab[" + server + " <-> " + device + "]";
    }
}
