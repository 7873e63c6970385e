package io.tether.testkit.fault;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A fault installed in a namespace: iptables rules or a netem qdisc. {@link #close()} removes it
 * (idempotent); deleting the namespace removes it too.
 *
 * <p>The rules of one fault go in with one {@code iptables-restore --noflush} transaction, so a
 * two-way drop starts in both directions at the same instant. {@link #startedNanos()} and
 * {@link #activeNanos()} bracket that instant on the {@link System#nanoTime()} clock, which on
 * Linux is CLOCK_MONOTONIC and therefore comparable with the same clock read in the lab's child
 * processes.
 *
 * <p>Thread-safe.
 */
public final class Fault implements AutoCloseable {
    private final Namespace namespace;
    private final String description;
    private final List<String> rules;
    private final List<String> removeCommand;
    private long startedNanos;
    private long activeNanos;
    private boolean removed;

    private Fault(Namespace namespace, String description, List<String> rules, List<String> removeCommand) {
        this.namespace = namespace;
        this.description = description;
        this.rules = List.copyOf(rules);
        this.removeCommand = removeCommand == null ? null : List.copyOf(removeCommand);
    }

    /** Installs iptables rules, each {@code CHAIN args...}, atomically, inserted ahead of any other. */
    static Fault iptables(Namespace ns, String description, List<String> rules) {
        Fault f = new Fault(ns, description, rules, null);
        f.startedNanos = System.nanoTime();
        Shell.orThrow(ns.run(List.of("iptables-restore", "--noflush"), f.script("-I"), Shell.DEFAULT_TIMEOUT));
        f.activeNanos = System.nanoTime();
        return f;
    }

    /** Runs {@code install}; {@link #close()} runs {@code remove}. */
    static Fault command(Namespace ns, String description, List<String> install, List<String> remove) {
        Fault f = new Fault(ns, description, List.of(), remove);
        f.startedNanos = System.nanoTime();
        Shell.orThrow(ns.run(install, null, Shell.DEFAULT_TIMEOUT));
        f.activeNanos = System.nanoTime();
        return f;
    }

    private String script(String op) {
        StringBuilder s = new StringBuilder("*filter\n");
        for (String r : rules) {
            s.append(op).append(' ').append(r).append('\n');
        }
        return s.append("COMMIT\n").toString();
    }

    /** {@link System#nanoTime()} just before the fault was requested. */
    public long startedNanos() {
        return startedNanos;
    }

    /** {@link System#nanoTime()} just after the fault was in place. */
    public long activeNanos() {
        return activeNanos;
    }

    /** How long installing it took: the uncertainty of its start. */
    public Duration installTook() {
        return Duration.ofNanos(activeNanos - startedNanos);
    }

    /** Removes the fault; packets flow again. Idempotent; a no-op once the namespace is gone. */
    @Override
    public synchronized void close() {
        if (removed || namespace.isDeleted()) {
            removed = true;
            return;
        }
        removed = true;
        if (removeCommand != null) {
            Shell.orThrow(namespace.run(removeCommand, null, Shell.DEFAULT_TIMEOUT));
        } else {
            Shell.orThrow(namespace.run(List.of("iptables-restore", "--noflush"), script("-D"), Shell.DEFAULT_TIMEOUT));
        }
    }

    @Override
    public String toString() {
        return description + " in " + namespace.name();
    }

    /** Rules, each {@code CHAIN match... -j TARGET}, for a direction. */
    static List<String> rules(Direction d, Match m, String iface, String target) {
        List<String> out = new ArrayList<>(2);
        if (d != Direction.OUTBOUND) {
            out.add("INPUT " + String.join(" ", m.inbound(iface)) + " " + target);
        }
        if (d != Direction.INBOUND) {
            out.add("OUTPUT " + String.join(" ", m.outbound(iface)) + " " + target);
        }
        return out;
    }
}
