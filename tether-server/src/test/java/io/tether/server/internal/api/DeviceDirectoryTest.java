package io.tether.server.internal.api;

import io.tether.protocol.Reason;
import io.tether.server.SessionClosed;
import io.tether.server.SessionOpened;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DeviceDirectoryTest {
    private static SessionOpened open(String device, long epoch, long at) {
        return new SessionOpened(at, device, epoch, "10.0.0.1:" + (1000 + epoch), 30_000, 45_000, 0, false, false);
    }

    private static SessionClosed close(String device, long epoch, long at, Reason reason) {
        return new SessionClosed(at, device, epoch, "10.0.0.1:" + (1000 + epoch), reason, null, 0, null, 1, -1, 0, device, null);
    }

    @Test
    void lateCloseOfTheOldSession_doesNotRemoveTheNewSession() {
        DeviceDirectory d = new DeviceDirectory();
        d.onOpen(open("truck-1", 7, 1_000));
        d.onOpen(open("truck-1", 8, 2_000));            // takeover: the new session first
        d.onClose(close("truck-1", 7, 2_001, Reason.TAKEN_OVER));

        DeviceDirectory.Entry e = d.lookup("truck-1");
        assertThat(e.live()).isNotNull();
        assertThat(e.live().epoch()).isEqualTo(8);
        assertThat(e.lastClose().reason()).isEqualTo("TAKEN_OVER");
    }

    @Test
    void closeOfTheLiveSession_makesTheDeviceOffline() {
        DeviceDirectory d = new DeviceDirectory();
        d.onOpen(open("truck-1", 7, 1_000));
        d.onClose(close("truck-1", 7, 5_000, Reason.HEARTBEAT_TIMEOUT));

        DeviceDirectory.Entry e = d.lookup("truck-1");
        assertThat(e.live()).isNull();
        assertThat(e.lastClose().atMillis()).isEqualTo(5_000);
        assertThat(e.lastClose().reason()).isEqualTo("HEARTBEAT_TIMEOUT");
    }

    @Test
    void aStaleCloseArrivingLast_doesNotHideTheNewerOne() {
        DeviceDirectory d = new DeviceDirectory();
        d.onClose(close("truck-1", 8, 3_000, Reason.PEER_CLOSED));
        d.onClose(close("truck-1", 7, 3_001, Reason.TAKEN_OVER));

        assertThat(d.lookup("truck-1").lastClose().epoch()).isEqualTo(8);
    }

    @Test
    void connectionsThatNeverHandshook_areNotDevices() {
        DeviceDirectory d = new DeviceDirectory();
        d.onClose(new SessionClosed(1, null, 0, "10.0.0.1:1", Reason.HANDSHAKE_TIMEOUT, null, 0, null, 1, -1, 0, null, null));
        assertThat(d.historySize()).isZero();
    }

    @Test
    void history_isBounded_forgettingTheOldestCloses() {
        DeviceDirectory d = new DeviceDirectory(100);
        for (int i = 0; i < 1_000; i++) {
            d.onOpen(open("dev-" + i, i + 1, i));
            d.onClose(close("dev-" + i, i + 1, i, Reason.PEER_CLOSED));
        }

        assertThat(d.historySize()).isEqualTo(100);
        assertThat(d.lookup("dev-0").lastClose()).isNull();
        assertThat(d.lookup("dev-999").lastClose()).isNotNull();
    }
}
