package io.tether.testkit.fault;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One network namespace of a {@link NetworkLab}: an isolated network stack with loopback and one
 * end of the lab's veth link, named {@value NetworkLab#LINK}. Commands run in it with
 * {@code ip netns exec}; faults are iptables rules (or a netem qdisc) inside it, so they never
 * touch the host's own interfaces, addresses or firewall.
 *
 * <p>Thread-safe.
 */
public final class Namespace {
    private final NetworkLab lab;
    private final String name;
    private final InetAddress address;
    private final List<InetAddress> extraAddresses = new ArrayList<>();
    private volatile boolean deleted;

    Namespace(NetworkLab lab, String name, InetAddress address) {
        this.lab = lab;
        this.name = name;
        this.address = address;
    }

    /** The namespace's name, as {@code ip netns list} shows it. */
    public String name() {
        return name;
    }

    /** The interface on the lab's link. */
    public String link() {
        return NetworkLab.LINK;
    }

    /** This namespace's primary address on the link. */
    public InetAddress address() {
        return address;
    }

    /**
     * Adds one more address to this namespace's end of the link and returns it, so that a device
     * (or a process) can bind to it and be faulted alone with {@link Match#address}.
     *
     * @throws IllegalStateException if the lab's subnet is used up (250 addresses)
     */
    public synchronized InetAddress addAddress() {
        InetAddress a = lab.allocateAddress();
        Shell.orThrow(Shell.run(List.of("ip", "-n", name, "addr", "add", a.getHostAddress() + "/" + NetworkLab.PREFIX_LENGTH,
                "dev", NetworkLab.LINK)));
        extraAddresses.add(a);
        return a;
    }

    /** The addresses added with {@link #addAddress()}, in order. */
    public synchronized List<InetAddress> extraAddresses() {
        return List.copyOf(extraAddresses);
    }

    /** Runs a command inside this namespace, bounded by 20 s, and returns what happened. */
    public ExecResult exec(String... command) {
        return run(List.of(command), null, Shell.DEFAULT_TIMEOUT);
    }

    /**
     * Runs a command inside this namespace and returns its standard output.
     *
     * @throws java.io.UncheckedIOException if it fails
     */
    public String execOrThrow(String... command) {
        return Shell.orThrow(exec(command));
    }

    ExecResult run(List<String> command, String stdin, Duration timeout) {
        return Shell.run(commandLine(command), stdin, timeout);
    }

    /**
     * The command line that runs {@code command} inside this namespace, for a caller that starts
     * and ends the process itself (as {@code io.tether.testkit.kafka.KafkaBroker} does). {@code ip
     * netns exec} replaces itself with the command, so the started process's pid is the
     * command's own and a signal sent to it reaches the command. The process is not the lab's:
     * closing the lab still ends it, with everything else left inside the namespace.
     */
    public List<String> commandLine(List<String> command) {
        List<String> full = new ArrayList<>(command.size() + 4);
        full.addAll(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return full;
    }

    /**
     * Starts a JVM inside this namespace running {@code mainClass} with this JVM's class path (so
     * test classes are available), at the lab's {@linkplain NetworkLab#childNiceness niceness}. Its
     * standard output is readable from the returned handle; it is stopped when the lab closes.
     *
     * @param label      a short name for logs, unique within the lab
     * @param jvmOptions options before the class path, e.g. {@code -Xmx64m}
     */
    public NamespaceProcess startJava(String label, String mainClass, List<String> jvmOptions, List<String> args) {
        Objects.requireNonNull(mainClass, "mainClass");
        List<String> cmd = new ArrayList<>();
        cmd.addAll(List.of("ip", "netns", "exec", name));
        if (lab.childNiceness() != 0) {
            cmd.addAll(List.of("nice", "-n", String.valueOf(lab.childNiceness())));
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", NetworkLab.classPath(), mainClass));
        cmd.addAll(args);
        return lab.register(new NamespaceProcess(label, cmd, lab.logDir()));
    }

    /**
     * Drops every matching packet in both directions: the peer on the other side sees nothing
     * more, neither FIN nor RST, as after a power loss or when the radio is gone.
     */
    public Fault blackhole(Match match) {
        return drop(Direction.BOTH, match);
    }

    /** Drops matching packets in one direction, or both. */
    public Fault drop(Direction direction, Match match) {
        return Fault.iptables(this, "drop " + direction + " " + match,
                Fault.rules(direction, match, NetworkLab.LINK, "-j DROP"));
    }

    /**
     * Answers matching TCP packets with an RST instead of letting them through, as a middlebox
     * that lost its state does: an inbound segment is rejected with an RST to its sender (the
     * remote peer), an outbound one with an RST to the local socket. Either side learns of it only
     * when it next sends something.
     */
    public Fault reset(Direction direction, Match match) {
        // RSTs themselves pass: the RST that REJECT generates for an inbound segment leaves
        // through the OUTPUT chain with this namespace's address as its source, and would
        // otherwise be swallowed by the outbound rule.
        List<String> rules = Fault.rules(direction, match, NetworkLab.LINK,
                (match.isTcp() ? "" : "-p tcp ") + "--tcp-flags RST NONE -j REJECT --reject-with tcp-reset");
        return Fault.iptables(this, "reset " + direction + " " + match, rules);
    }

    /**
     * Delays every packet leaving this namespace over the link with a netem qdisc: {@code delay}
     * plus a uniformly distributed {@code ± jitter}.
     *
     * @throws IllegalStateException if this kernel has no netem ({@link NetworkLab#netemUnavailableReason()}
     *     says why; tests should skip on it first)
     */
    public Fault delay(Duration delay, Duration jitter) {
        NetworkLab.netemUnavailableReason().ifPresent(r -> {
            throw new IllegalStateException(r);
        });
        List<String> install = new ArrayList<>(List.of("tc", "qdisc", "add", "dev", NetworkLab.LINK, "root", "netem",
                "delay", delay.toMillis() + "ms"));
        if (!jitter.isZero()) {
            // No distribution table: netem's default jitter is uniform.
            install.add(jitter.toMillis() + "ms");
        }
        return Fault.command(this, "netem delay " + delay.toMillis() + "ms ± " + jitter.toMillis() + "ms", install,
                List.of("tc", "qdisc", "del", "dev", NetworkLab.LINK, "root"));
    }

    boolean isDeleted() {
        return deleted;
    }

    void markDeleted() {
        deleted = true;
    }

    @Override
    public String toString() {
        return name + "(" + address.getHostAddress() + ")";
    }
}
