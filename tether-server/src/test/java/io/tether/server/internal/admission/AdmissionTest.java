package io.tether.server.internal.admission;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class AdmissionTest {
    private static final long S = TimeUnit.SECONDS.toNanos(1);

    @Test
    void connectionCap_refusesBeyondTheCap_andFreesSlotsOnClose() throws Exception {
        Admission a = new Admission(2, 0, 1, 0, 1, 1, TimeUnit.SECONDS);
        InetAddress x = InetAddress.getByName("127.0.0.1");
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.NONE);
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.NONE);
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.MAX_CONNECTIONS);
        a.closed();
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.NONE);
        assertThat(a.open()).isEqualTo(2);
    }

    @Test
    void effectiveCap_isTheSmallerOfMaxConnectionsAndOpenFilesLessTheReserve() throws Exception {
        io.tether.server.Admission config = io.tether.server.Admission.DEFAULT;
        assertThat(config.descriptorReserve()).isEqualTo(256);
        assertThat(config.connectionCap(300)).as("no --max-connections, limit 300").isEqualTo(44);
        assertThat(config.connectionCap(Long.MAX_VALUE)).as("unlimited").isEqualTo(Long.MAX_VALUE);
        assertThat(config.withMaxConnections(200).connectionCap(20_000)).as("--max-connections binds").isEqualTo(200);
        assertThat(config.withMaxConnections(200).connectionCap(300)).as("the limit binds").isEqualTo(44);
        assertThat(config.withDescriptorReserve(100).connectionCap(300)).isEqualTo(200);
        assertThat(config.connectionCap(256)).as("nothing left: the server refuses to start").isZero();

        // The server admits that many and refuses the next with its own cause.
        Admission a = new Admission(200, config.withMaxConnections(200).connectionCap(300), 0, 1, 0, 1, 1, TimeUnit.SECONDS);
        InetAddress x = InetAddress.getByName("127.0.0.1");
        for (int i = 0; i < 44; i++) {
            assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.NONE);
        }
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.OPEN_FILES);
        assertThat(a.open()).isEqualTo(44);
        a.closed();
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.NONE);
    }

    @Test
    void refusalsBeingToldAtOnce_areBounded() {
        Admission a = new Admission(1, 0, 1, 0, 1, 1, TimeUnit.SECONDS);
        for (int i = 0; i < Admission.MAX_REFUSING; i++) {
            assertThat(a.startRefusal()).isTrue();
        }
        assertThat(a.startRefusal()).as("one more would spend the reserve").isFalse();
        a.refusalDone();
        assertThat(a.startRefusal()).isTrue();
    }

    @Test
    void openFilesLimit_isReadFromProcSelfLimits() throws Exception {
        java.nio.file.Path f = java.nio.file.Files.createTempFile("limits", "");
        try {
            java.nio.file.Files.writeString(f, "Limit                     Soft Limit           Hard Limit           Units\n"
                    + "Max open files            300                  20000                files\n");
            assertThat(OpenFilesLimit.soft(f)).isEqualTo(300);
            java.nio.file.Files.writeString(f, "Max open files            unlimited            unlimited            files\n");
            assertThat(OpenFilesLimit.soft(f)).isEqualTo(Long.MAX_VALUE);
            assertThat(OpenFilesLimit.soft(f.resolveSibling("no-such-file"))).isEqualTo(Long.MAX_VALUE);
            System.out.println("this process: open-files soft limit " + OpenFilesLimit.soft());
        } finally {
            java.nio.file.Files.delete(f);
        }
    }

    @Test
    void rateLimit_isPerSourceAddress_andRefills() throws Exception {
        Admission a = new Admission(0, 10, 3, 0, 1, 1, TimeUnit.SECONDS);
        InetAddress x = InetAddress.getByName("10.0.0.1");
        InetAddress y = InetAddress.getByName("10.0.0.2");
        for (int i = 0; i < 3; i++) {
            assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.NONE);
        }
        assertThat(a.admit(x, 0)).isEqualTo(Admission.Refusal.RATE_LIMITED);
        assertThat(a.admit(y, 0)).as("another address has its own bucket").isEqualTo(Admission.Refusal.NONE);
        assertThat(a.admit(x, S / 10)).as("one token after 100 ms at 10/s").isEqualTo(Admission.Refusal.NONE);
        assertThat(a.admit(x, S / 10)).isEqualTo(Admission.Refusal.RATE_LIMITED);
    }

    /** A device's session as Admission sees it. */
    private static final class Holder implements Admission.FlapHolder {
        long windowStart;
        int connects;

        @Override
        public long flapWindowStart() {
            return windowStart;
        }

        @Override
        public int flapConnects() {
            return connects;
        }

        @Override
        public void flapState(long windowStart, int connects) {
            this.windowStart = windowStart;
            this.connects = connects;
        }
    }

    /** Connects "d" at {@code t} and disconnects it again right away; returns the ban left. */
    private static long connectAndLeave(Admission a, String device, long t) {
        Holder h = new Holder();
        long ban = a.deviceConnect(device, t, null, h);
        if (ban == 0) {
            assertThat(h.connects).as("an admitted session carries the count").isPositive();
            a.deviceDisconnected(device, h, t);
        }
        return ban;
    }

    @Test
    void flapping_bansAfterNConnectsInTheWindow_thenReadmits() {
        Admission a = new Admission(0, 0, 1, 3, 10, 5, TimeUnit.SECONDS);
        for (int i = 0; i < 3; i++) {
            assertThat(connectAndLeave(a, "d", i * S)).isZero();
        }
        long ban = connectAndLeave(a, "d", 3 * S);
        assertThat(ban).isEqualTo(5 * S);
        assertThat(connectAndLeave(a, "d", 4 * S)).as("still banned, 4 s left").isEqualTo(4 * S);
        assertThat(connectAndLeave(a, "other", 4 * S)).isZero();
        assertThat(connectAndLeave(a, "d", 8 * S + 1)).as("ban over").isZero();
    }

    @Test
    void takeovers_countAsConnects_evenBeforeTheOldSessionHasEnded() {
        Admission a = new Admission(0, 0, 1, 3, 10, 5, TimeUnit.SECONDS);
        Holder previous = null;
        for (int i = 0; i < 3; i++) {
            Holder next = new Holder();
            // The reboot loop: the old session is still registered when the new HELLO comes.
            assertThat(a.deviceConnect("d", i * S, previous, next)).isZero();
            previous = next;
        }
        assertThat(a.deviceConnect("d", 3 * S, previous, new Holder())).isEqualTo(5 * S);
    }

    @Test
    void aConnectedDevice_isNotInTheTable_aDisconnectedOneIsUntilItsWindowEnds() {
        Admission a = new Admission(0, 0, 1, 3, 10, 5, TimeUnit.SECONDS);
        Holder h = new Holder();
        assertThat(a.deviceConnect("d", 0, null, h)).isZero();
        assertThat(a.flapEntries()).as("connected: the session holds the count").isZero();
        a.deviceDisconnected("d", h, S);
        assertThat(a.flapEntries()).isEqualTo(1);
        Holder again = new Holder();
        assertThat(a.deviceConnect("d", 2 * S, null, again)).isZero();
        assertThat(again.connects).isEqualTo(2);
        assertThat(a.flapEntries()).as("back in the session").isZero();
        a.deviceDisconnected("d", again, 11 * S);
        assertThat(a.flapEntries()).as("window over: nothing to remember").isZero();
    }

    @Test
    void connectsSpreadBeyondTheWindow_areNotFlapping() {
        Admission a = new Admission(0, 0, 1, 3, 10, 5, TimeUnit.SECONDS);
        for (int i = 0; i < 20; i++) {
            assertThat(connectAndLeave(a, "d", i * 4 * S)).isZero();
        }
    }
}
