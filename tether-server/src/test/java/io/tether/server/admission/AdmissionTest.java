package io.tether.server.admission;

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

    @Test
    void flapping_bansAfterNConnectsInTheWindow_thenReadmits() {
        Admission a = new Admission(0, 0, 1, 3, 10, 5, TimeUnit.SECONDS);
        for (int i = 0; i < 3; i++) {
            assertThat(a.deviceConnect("d", i * S)).isZero();
        }
        long ban = a.deviceConnect("d", 3 * S);
        assertThat(ban).isEqualTo(5 * S);
        assertThat(a.deviceConnect("d", 4 * S)).as("still banned, 4 s left").isEqualTo(4 * S);
        assertThat(a.deviceConnect("other", 4 * S)).isZero();
        assertThat(a.deviceConnect("d", 8 * S + 1)).as("ban over").isZero();
    }

    @Test
    void connectsSpreadBeyondTheWindow_areNotFlapping() {
        Admission a = new Admission(0, 0, 1, 3, 10, 5, TimeUnit.SECONDS);
        for (int i = 0; i < 20; i++) {
            assertThat(a.deviceConnect("d", i * 4 * S)).isZero();
        }
    }
}
