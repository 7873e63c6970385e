package io.tether.testkit.fault;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The fault harness itself: isolation, faults that take effect and go away, cleanup. */
class NetworkLabIT {

    @BeforeEach
    void needsLab() {
        NetworkLab.unavailableReason().ifPresent(r -> System.err.println("SKIPPED NetworkLabIT: " + r));
        assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> NetworkLab.unavailableReason().get());
    }

    /**
     * A TCP connect from the device namespace to a closed port of the server: "refused" (exit 1)
     * when packets flow, a time-out (exit 124) when they are dropped.
     */
    private static int probe(NetworkLab lab) {
        return lab.device().exec("timeout", "1", "bash", "-c",
                "exec 3<>/dev/tcp/" + lab.server().address().getHostAddress() + "/9").exitCode();
    }

    @Test
    void create_joinsTwoNewNamespaces_closeRemovesThem() {
        NetworkLab lab = NetworkLab.create();
        String srv = lab.server().name();
        String dev = lab.device().name();
        try {
            assertThat(Shell.run(List.of("ip", "netns", "list")).stdout()).contains(srv, dev);
            assertThat(lab.server().execOrThrow("ip", "-4", "-o", "addr", "show", "dev", NetworkLab.LINK))
                    .contains(NetworkLab.SUBNET + ".1/24");
            assertThat(lab.device().addAddress().getHostAddress()).isEqualTo(NetworkLab.SUBNET + ".3");
            assertThat(lab.device().execOrThrow("ip", "-4", "-o", "addr", "show", "dev", NetworkLab.LINK))
                    .contains(NetworkLab.SUBNET + ".2/24", NetworkLab.SUBNET + ".3/24");
            assertThat(Shell.run(List.of("ip", "link", "show", NetworkLab.LINK)).ok())
                    .as("the link exists only inside the lab's namespaces").isFalse();
            assertThat(probe(lab)).as("connect to a closed port: refused").isEqualTo(1);
        } finally {
            lab.close();
        }
        assertThat(Shell.run(List.of("ip", "netns", "list")).stdout()).doesNotContain(srv, dev);
        lab.close(); // idempotent
    }

    @Test
    void blackhole_dropsUntilRemoved() {
        try (NetworkLab lab = NetworkLab.create()) {
            Fault f = lab.device().blackhole(Match.all());
            assertThat(lab.device().execOrThrow("iptables", "-S")).contains("-j DROP");
            assertThat(probe(lab)).as("connect while blackholed: no answer at all").isEqualTo(124);
            assertThat(f.activeNanos()).isGreaterThanOrEqualTo(f.startedNanos());
            f.close();
            f.close(); // idempotent
            assertThat(lab.device().execOrThrow("iptables", "-S")).doesNotContain("-j DROP");
            assertThat(probe(lab)).as("connect after the fault is removed: refused again").isEqualTo(1);
        }
    }

    @Test
    void close_stopsChildProcesses() throws Exception {
        NetworkLab lab = NetworkLab.create();
        NamespaceProcess child;
        try {
            child = lab.server().startJava("sleeper", SleeperMain.class.getName(), List.of("-Xmx32m"), List.of());
            child.awaitLine(l -> l.startsWith("ready"), Duration.ofSeconds(30), "ready");
            assertThat(Shell.run(List.of("ip", "netns", "pids", lab.server().name())).stdout())
                    .contains(String.valueOf(child.pid()));
        } finally {
            lab.close();
        }
        assertThat(ProcessHandle.of(child.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }

    @Test
    void sweepStale_deletesNamespacesOfDeadJvmsOnly() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor(5, TimeUnit.SECONDS);
        String stale = "tt-dev-" + gone.pid() + "-1";
        String live = "tt-dev-" + ProcessHandle.current().pid() + "-99999";
        try {
            assertThat(Shell.run(List.of("ip", "netns", "add", stale)).ok()).isTrue();
            assertThat(Shell.run(List.of("ip", "netns", "add", live)).ok()).isTrue();
            assertThat(NetworkLab.sweepStale()).isGreaterThanOrEqualTo(1);
            String left = Shell.run(List.of("ip", "netns", "list")).stdout();
            assertThat(left).as("a crashed run's namespace").doesNotContain(stale);
            assertThat(left).as("a live run's namespace").contains(live);
        } finally {
            Shell.run(List.of("ip", "netns", "del", stale));
            Shell.run(List.of("ip", "netns", "del", live));
        }
    }

    @Test
    void schedule_parsesAndCycles() {
        DelayProxy.Schedule p = DelayProxy.Schedule.parse("pattern:400,0,0");
        assertThat(p.delayNanos(0)).isEqualTo(400_000_000L);
        assertThat(p.delayNanos(1)).isZero();
        assertThat(p.delayNanos(3)).isEqualTo(400_000_000L);
        assertThat(DelayProxy.Schedule.parse("fixed:5").delayNanos(7)).isEqualTo(5_000_000L);
        long u = DelayProxy.Schedule.parse("uniform:10,20").delayNanos(0);
        assertThat(u).isBetween(10_000_000L, 20_000_000L);
    }
}
