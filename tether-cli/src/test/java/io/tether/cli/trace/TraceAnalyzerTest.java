package io.tether.cli.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;

import static io.tether.cli.trace.TcpSegment.ACK;
import static io.tether.cli.trace.TcpSegment.FIN;
import static io.tether.cli.trace.TcpSegment.PSH;
import static io.tether.cli.trace.TcpSegment.RST;
import static org.assertj.core.api.Assertions.assertThat;

/** The analysis on captures written by {@link SyntheticCapture}: formats, reassembly, verdicts. */
class TraceAnalyzerTest {
    static final byte[] DEV = {10, 0, 0, 2};
    static final byte[] SRV = {10, 0, 0, 1};
    static final long T0 = 1_700_000_000_000_000_000L;
    static final long MS = 1_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static JsonNode json(Path file, int port) throws Exception {
        StringWriter w = new StringWriter();
        Trace.run(file, port, null, true, new PrintWriter(w));
        return JSON.readTree(w.toString());
    }

    static String text(Path file, int port) throws Exception {
        StringWriter w = new StringWriter();
        Trace.run(file, port, null, false, new PrintWriter(w));
        System.out.println(w);
        return w.toString();
    }

    /** HELLO, WELCOME, a DATA, its ACK, BYE NORMAL from the device, FINs both ways. */
    static void cleanClose(SyntheticCapture cap, byte[] dev, byte[] srv, int devPort, long start) {
        SyntheticCapture.Flow f = cap.flow(dev, devPort, srv, 7400, start).handshake();
        f.after(MS).device(new Frame.Hello(1000, 0, "dev-7", new byte[0]));
        f.after(MS).server(new Frame.Welcome(42, 1000, 1500, 0, 65536, 0));
        f.after(MS).device(new Frame.Data(1, new byte[] {1, 2, 3}));
        f.after(MS).server(new Frame.Ack(1));
        f.after(MS).device(new Frame.Bye(Reason.NORMAL));
        f.after(MS).fromDevice(ACK | FIN, new byte[0]);
        f.after(MS).fromServer(ACK | FIN, new byte[0]);
        f.after(MS).fromDevice(ACK, new byte[0]);
    }

    @ParameterizedTest
    @EnumSource(SyntheticCapture.Format.class)
    void everyFileFormat_readsTheSameStory(SyntheticCapture.Format format) throws Exception {
        Path file = dir.resolve("c.cap");
        try (SyntheticCapture cap = new SyntheticCapture(file, format, TcpSegment.LINKTYPE_ETHERNET)) {
            cleanClose(cap, DEV, SRV, 40000, T0 + 123_456_789L);
        }
        JsonNode c = json(file, 7400).get("connections").get(0);
        assertThat(c.get("verdict").get("code").asText()).isEqualTo("clean-close");
        assertThat(c.get("device").get("id").asText()).isEqualTo("dev-7");
        assertThat(c.get("sides").get("device").get("packets").asInt()).isEqualTo(7); // SYN, ACK, HELLO, DATA, BYE, FIN, ACK
        assertThat(c.get("sides").get("server").get("packets").asInt()).isEqualTo(4); // SYN-ACK, WELCOME, ACK, FIN
        assertThat(c.get("sides").get("device").get("frames").get("DATA").asInt()).isEqualTo(1);
        assertThat(c.get("close").get("first").asText()).isEqualTo("device");
        // 1 ms between the SYN-ACK's ACK and the HELLO, 0.2 ms handshake: the HELLO is at 0.0012 s
        assertThat(c.get("hello").get("at").asDouble()).isEqualTo(0.0012);
        assertThat(c.get("startTime").asText()).startsWith("2023-11-14T22:13:20.123456");
    }

    @ParameterizedTest
    @ValueSource(ints = {TcpSegment.LINKTYPE_ETHERNET, TcpSegment.LINKTYPE_LINUX_SLL, TcpSegment.LINKTYPE_LINUX_SLL2,
            TcpSegment.LINKTYPE_RAW})
    void everyLinkType_ipv4AndIpv6(int linkType) throws Exception {
        Path file = dir.resolve("c.pcap");
        byte[] dev6 = new byte[16];
        byte[] srv6 = new byte[16];
        dev6[0] = (byte) 0xfd;
        dev6[15] = 2;
        srv6[0] = (byte) 0xfd;
        srv6[15] = 1;
        try (SyntheticCapture cap = new SyntheticCapture(file, SyntheticCapture.Format.PCAP_LE_US, linkType)) {
            cleanClose(cap, DEV, SRV, 40000, T0);
            cleanClose(cap, dev6, srv6, 40001, T0 + 100 * MS);
        }
        JsonNode all = json(file, 7400);
        assertThat(all.get("connections")).hasSize(2);
        assertThat(all.get("connections").get(1).get("device").get("address").asText()).isEqualTo("[fd00:0:0:0:0:0:0:2]");
        for (JsonNode c : all.get("connections")) {
            assertThat(c.get("verdict").get("code").asText()).isEqualTo("clean-close");
            assertThat(c.get("device").get("id").asText()).isEqualTo("dev-7");
        }
    }

    @Test
    void framesSplitReorderedAndRetransmitted_areReassembledBySeq() throws Exception {
        Path file = dir.resolve("c.pcap");
        byte[] hello = SyntheticCapture.frame(new Frame.Hello(1000, 0, "split-device", new byte[0]));
        byte[] two = concat(SyntheticCapture.frame(new Frame.Data(1, new byte[100])), SyntheticCapture.frame(Frame.Ping.INSTANCE));
        try (SyntheticCapture cap = new SyntheticCapture(file, SyntheticCapture.Format.PCAP_LE_US, TcpSegment.LINKTYPE_ETHERNET)) {
            SyntheticCapture.Flow f = cap.flow(DEV, 40000, SRV, 7400, T0).handshake();
            int s0 = f.devSeq;
            // HELLO in three pieces, the last one first, the first one twice
            f.after(MS).packet3(s0 + 10, Arrays.copyOfRange(hello, 10, hello.length));
            f.after(MS).packet3(s0, Arrays.copyOfRange(hello, 0, 5));
            f.after(MS).packet3(s0, Arrays.copyOfRange(hello, 0, 5));
            f.after(MS).packet3(s0 + 5, Arrays.copyOfRange(hello, 5, 10));
            f.devSeq = s0 + hello.length;
            f.after(MS).server(new Frame.Welcome(42, 1000, 1500, 0, 65536, 0));
            f.after(MS).fromDevice(ACK | PSH, two); // two frames in one segment
            f.after(MS).fromDevice(ACK | RST, new byte[0]);
        }
        JsonNode c = json(file, 7400).get("connections").get(0);
        assertThat(c.get("device").get("id").asText()).isEqualTo("split-device");
        assertThat(c.get("sides").get("device").get("frames").toString()).isEqualTo("{\"HELLO\":1,\"PING\":1,\"DATA\":1}");
        assertThat(c.get("sides").get("device").get("retransmissions").get("count").asInt()).isEqualTo(1);
        assertThat(c.get("verdict").get("code").asText()).isEqualTo("peer-reset");
    }

    @Test
    void heartbeatTimeoutWithNothingBack_isPowerLoss_withDrainAndBackoff() throws Exception {
        Path file = dir.resolve("c.pcap");
        try (SyntheticCapture cap = new SyntheticCapture(file, SyntheticCapture.Format.PCAP_LE_US, TcpSegment.LINKTYPE_ETHERNET)) {
            SyntheticCapture.Flow f = cap.flow(DEV, 40000, SRV, 7400, T0).handshake();
            f.after(MS).device(new Frame.Hello(1000, 0, "dev-1", new byte[0]));
            f.after(MS).server(new Frame.Welcome(42, 1000, 1500, 0, 65536, 0));
            f.after(1000 * MS).device(Frame.Ping.INSTANCE);
            f.after(MS).server(Frame.Pong.INSTANCE);
            f.after(1500 * MS);
            int byeSeq = f.srvSeq;
            byte[] bye = SyntheticCapture.frame(new Frame.Bye(Reason.HEARTBEAT_TIMEOUT, 0, "silent"));
            f.server(new Frame.Bye(Reason.HEARTBEAT_TIMEOUT, 0, "silent"));
            f.fromServer(ACK | FIN, new byte[0]);
            f.after(200 * MS).serverAgain(byeSeq, ACK | PSH, bye);
            f.after(400 * MS).serverAgain(byeSeq, ACK | PSH, bye);
            f.after(800 * MS).fromServer(ACK | RST, new byte[0]);
        }
        JsonNode c = json(file, 7400).get("connections").get(0);
        assertThat(c.get("verdict").get("code").asText()).isEqualTo("power-loss-heartbeat");
        assertThat(c.get("bye").get("server").get("reason").asText()).isEqualTo("HEARTBEAT_TIMEOUT");
        JsonNode rtx = c.get("sides").get("server").get("retransmissions");
        assertThat(rtx.get("count").asInt()).isEqualTo(2);
        assertThat(rtx.get("longestRunIntervalsMs").toString()).isEqualTo("[200.0,400.0]");
        assertThat(rtx.get("backoff").asDouble()).isEqualTo(2.0);
        assertThat(c.get("drain").get("windowMs").asDouble()).isEqualTo(1400.0);
        assertThat(c.get("halfOpen").get("silent").asText()).isEqualTo("device");
        assertThat(text(file, 7400)).contains("verdict: power loss, detected by heartbeat");
    }

    @Test
    void keepaliveProbesUnanswered_thenReset_isPowerLossByKeepalive() throws Exception {
        Path file = dir.resolve("c.pcap");
        try (SyntheticCapture cap = new SyntheticCapture(file, SyntheticCapture.Format.PCAP_LE_US, TcpSegment.LINKTYPE_ETHERNET)) {
            SyntheticCapture.Flow f = cap.flow(DEV, 40000, SRV, 7400, T0).handshake();
            f.after(MS).device(new Frame.Hello(0, 0, "dev-1", new byte[0]));
            f.after(MS).server(new Frame.Welcome(42, 0, 0, 0, 65536, 0));
            f.after(MS).fromDevice(ACK, new byte[0]);
            f.after(2000 * MS).serverProbe();
            f.after(1000 * MS).serverProbe();
            f.after(1000 * MS).serverProbe();
            f.after(1000 * MS).fromServer(ACK | RST, new byte[0]);
        }
        JsonNode c = json(file, 7400).get("connections").get(0);
        assertThat(c.get("verdict").get("code").asText()).isEqualTo("power-loss-keepalive");
        assertThat(c.get("sides").get("server").get("keepalive").get("probes").asInt()).isEqualTo(3);
        assertThat(c.get("sides").get("server").get("keepalive").get("answered").asInt()).isZero();
        assertThat(c.get("sides").get("server").get("retransmissions").get("count").asInt()).isZero();
    }

    @Test
    void silenceThenTheSameDeviceResumesItsSession_isMiddleboxSilence() throws Exception {
        Path file = dir.resolve("c.pcap");
        try (SyntheticCapture cap = new SyntheticCapture(file, SyntheticCapture.Format.PCAP_LE_US, TcpSegment.LINKTYPE_ETHERNET)) {
            SyntheticCapture.Flow f = cap.flow(DEV, 40000, SRV, 7400, T0).handshake();
            f.after(MS).device(new Frame.Hello(1000, 0, "dev-1", new byte[0]));
            f.after(MS).server(new Frame.Welcome(77, 1000, 1500, 0, 65536, 0));
            f.after(1500 * MS).server(new Frame.Bye(Reason.HEARTBEAT_TIMEOUT, 0, ""));
            f.fromServer(ACK | FIN, new byte[0]);
            f.after(500 * MS).fromServer(ACK | RST, new byte[0]);
            SyntheticCapture.Flow g = cap.flow(DEV, 40001, SRV, 7400, f.now + 2000 * MS).handshake();
            g.after(MS).device(new Frame.Hello(1000, 77, "dev-1", new byte[0]));
            g.after(MS).server(new Frame.Welcome(78, 1000, 1500, 0, 65536, 0));
        }
        JsonNode all = json(file, 7400);
        assertThat(all.get("connections").get(0).get("verdict").get("code").asText()).isEqualTo("middlebox-silence");
        assertThat(all.get("connections").get(0).get("resumedBy").asInt()).isEqualTo(1);
        assertThat(all.get("connections").get(1).get("verdict").get("code").asText()).isEqualTo("open");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
