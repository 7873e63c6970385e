package io.tether.transport;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostPortTest {

    @Test
    void bracketedIpv6_parsesToTheAddressAndPort() throws Exception {
        InetSocketAddress a = HostPort.resolve("--target", "[::1]:7400");

        assertThat(a.getAddress()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(a.getPort()).isEqualTo(7400);
    }

    @Test
    void hostNameAndIpv4_parseWithoutResolving() {
        InetSocketAddress name = HostPort.parse("--target", "gateway.example:7878");
        assertThat(name.isUnresolved()).as("no DNS lookup while parsing").isTrue();
        assertThat(name.getHostString()).isEqualTo("gateway.example");
        assertThat(name.getPort()).isEqualTo(7878);
        assertThat(HostPort.parse("--bind", "10.0.0.7:7400").getHostString()).isEqualTo("10.0.0.7");
    }

    @Test
    void barePortOrEmptyHost_meansAnyAddress() {
        assertThat(HostPort.parse("--bind", ":7400")).isEqualTo(new InetSocketAddress(7400));
        assertThat(HostPort.parse("--bind", "7400")).isEqualTo(new InetSocketAddress(7400));
        assertThat(HostPort.parse("--bind", "*:7400")).isEqualTo(new InetSocketAddress(7400));
    }

    @Test
    void unbracketedIpv6_isRefused_namingTheFlagAndTheFix() {
        assertThatThrownBy(() -> HostPort.parse("--target", "::1:7400"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--target '::1:7400': an IPv6 address needs brackets, e.g. [::1]:7400");
    }

    @Test
    void badForms_areRefused_namingTheFlagTheValueAndTheExpectedForm() {
        assertThatThrownBy(() -> HostPort.parse("--admin", "localhost"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--admin 'localhost': expected HOST:PORT, e.g. 127.0.0.1:7400 or [::1]:7400");
        assertThatThrownBy(() -> HostPort.parse("--admin", "[::1]7400"))
                .hasMessageStartingWith("--admin '[::1]7400': expected HOST:PORT");
        assertThatThrownBy(() -> HostPort.parse("--admin", "[::1"))
                .hasMessageStartingWith("--admin '[::1': expected HOST:PORT");
        assertThatThrownBy(() -> HostPort.parse("--target", "host:http"))
                .hasMessage("--target 'host:http': port 'http' is not 0 to 65535");
        assertThatThrownBy(() -> HostPort.parse("--target", "host:65536"))
                .hasMessage("--target 'host:65536': port '65536' is not 0 to 65535");
        assertThatThrownBy(() -> HostPort.parse("--target", null))
                .hasMessageStartingWith("--target 'null': expected HOST:PORT");
    }

    @Test
    void unknownHost_isNamedWhenResolving() {
        assertThatThrownBy(() -> HostPort.resolve("--target", "no-such-host.invalid:7400"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--target 'no-such-host.invalid:7400': unknown host 'no-such-host.invalid'");
    }

    @Test
    void format_bracketsIpv6_dropsTheScope_andLeavesIpv4AndNamesAlone() throws Exception {
        assertThat(HostPort.format(new InetSocketAddress(InetAddress.getByName("2001:db8::1"), 7400)))
                .isEqualTo("[2001:db8:0:0:0:0:0:1]:7400");
        assertThat(HostPort.format("fe80::1%eth0", 7400)).isEqualTo("[fe80::1]:7400");
        assertThat(HostPort.format(new InetSocketAddress(InetAddress.getByName("10.0.0.7"), 7400)))
                .isEqualTo("10.0.0.7:7400");
        assertThat(HostPort.format(InetSocketAddress.createUnresolved("gateway.example", 7878)))
                .isEqualTo("gateway.example:7878");
        assertThat(HostPort.format(null)).isNull();
    }

    @Test
    void formatThenParse_roundTripsAnIpv6Address() throws Exception {
        InetSocketAddress a = new InetSocketAddress(InetAddress.getByName("2001:db8::7"), 7878);

        assertThat(HostPort.resolve("--target", HostPort.format(a))).isEqualTo(a);
    }
}
