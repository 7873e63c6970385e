package io.tether.server;

import io.tether.server.internal.admin.AdminServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tether.server.ConnectionInfo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The JSON of /sessions read back by the CLI, and the --admin address syntax. */
class SessionsSnapshotTest {
    @Test
    void addressArgument_acceptsHostPortAndBracketedIpv6() {
        assertThat(AdminServer.parseAddress("127.0.0.1:7401")).isEqualTo(new InetSocketAddress("127.0.0.1", 7401));
        assertThat(AdminServer.parseAddress("http://[::1]:7401/").getPort()).isEqualTo(7401);
        assertThatThrownBy(() -> AdminServer.parseAddress("7401")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected HOST:PORT");
        assertThatThrownBy(() -> AdminServer.parseAddress("::1:7401")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sessionsJson_roundTripsIpv6AndHandshakingConnections() throws IOException {
        SessionsSnapshot s = new SessionsSnapshot(7400, 1, List.of(
                new ConnectionInfo(new InetSocketAddress("2001:db8::7", 40100), "truck-42", 17, "OPEN"),
                new ConnectionInfo(new InetSocketAddress("10.0.0.9", 40101), null, 0, "HANDSHAKE"),
                new ConnectionInfo(null, null, 0, "HANDSHAKE")));

        assertThat(SessionsSnapshot.parse(s.toJson())).isEqualTo(s);
    }

    @Test
    void notASnapshot_isAnIoErrorNamingWhatIsMissing() {
        assertThatThrownBy(() -> SessionsSnapshot.parse("{\"status\":\"UP\"}")).isInstanceOf(IOException.class)
                .hasMessageContaining("'port', 'sessions' and 'connections' are required");
    }
}
