package io.tether.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tether trace} at the command line: bad input gets a clear message and the right exit code. */
class TraceCommandTest {
    @TempDir
    Path dir;

    /** A pcap (little-endian, µs, Ethernet) with a SYN to 7400 and the RST that refuses it. */
    private Path refusedCapture() throws Exception {
        byte[] header = hex("d4c3b2a1 0200 0400 00000000 00000000 00000400 01000000");
        byte[] syn = ethTcp(0x0a000002, 40000, 0x0a000001, 7400, 0x02);
        byte[] rst = ethTcp(0x0a000001, 7400, 0x0a000002, 40000, 0x14);
        Path f = dir.resolve("refused.pcap");
        try (var out = Files.newOutputStream(f)) {
            out.write(header);
            out.write(record(1, syn));
            out.write(record(2, rst));
        }
        return f;
    }

    private static byte[] record(int usec, byte[] packet) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16 + packet.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(1_700_000_000).putInt(usec).putInt(packet.length).putInt(packet.length).put(packet);
        return b.array();
    }

    private static byte[] ethTcp(int src, int sport, int dst, int dport, int flags) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(14 + 40);
        b.put(new byte[12]).putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 40).putInt(0).put((byte) 64).put((byte) 6).putShort((short) 0)
                .putInt(src).putInt(dst);
        b.putShort((short) sport).putShort((short) dport).putInt(1000).putInt(flags == 0x02 ? 0 : 1001).put((byte) 0x50)
                .put((byte) flags).putShort((short) 0).putInt(0);
        return b.array();
    }

    private static byte[] hex(String s) {
        String h = s.replace(" ", "");
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    @Test
    void refusedConnection_isTold() throws Exception {
        Cli r = Cli.run("trace", refusedCapture().toString(), "--port", "7400");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("verdict: refused (RST to SYN)").contains("verdicts: refused 1");
    }

    @Test
    void json_isOneDocument() throws Exception {
        Cli r = Cli.run("trace", refusedCapture().toString(), "--json");
        assertThat(r.code()).isZero();
        var doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        assertThat(doc.get("connections").get(0).get("verdict").get("code").asText()).isEqualTo("refused");
        assertThat(doc.get("summary").get("verdicts").get("refused").asInt()).isEqualTo(1);
    }

    @Test
    void notACapture_exit2_saysWhatItIs() throws Exception {
        Path f = dir.resolve("notes.txt");
        Files.writeString(f, "hello, this is text\n");
        Cli r = Cli.run("trace", f.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("is not a pcap or pcapng capture").contains("68 65 6c 6c").contains("tcpdump -w");
        assertThat(r.errLines()).isEqualTo(1);
    }

    @Test
    void emptyFile_exit2() throws Exception {
        Path f = Files.createFile(dir.resolve("empty.pcap"));
        Cli r = Cli.run("trace", f.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("the file is empty");
    }

    @Test
    void missingFile_exit2() {
        Cli r = Cli.run("trace", dir.resolve("nope.pcap").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no such file");
    }

    @Test
    void truncatedCapture_analysesWhatIsComplete_andSaysSo() throws Exception {
        Path full = refusedCapture();
        byte[] all = Files.readAllBytes(full);
        Path cut = dir.resolve("cut.pcap");
        Files.write(cut, Arrays.copyOf(all, all.length - 20)); // the RST's record loses its last 20 bytes
        Cli r = Cli.run("trace", cut.toString(), "--port", "7400");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("1 packets").contains("the capture is truncated")
                .contains("verdict: SYN without answer"); // the RST is the part that is missing
        assertThat(r.err()).contains("is truncated").contains("50 bytes left over");
    }

    @Test
    void noTcpOnThePort_exit1_saysSo() throws Exception {
        Cli r = Cli.run("trace", refusedCapture().toString(), "--port", "9999");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no TCP on port 9999").contains("2 packets, 2 TCP").contains("is the port right?");
    }

    @Test
    void unknownDevice_exit1() throws Exception {
        Cli r = Cli.run("trace", refusedCapture().toString(), "--device", "meter-7");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no connection of device meter-7");
    }

    @Test
    void liveWithoutPort_exit2() {
        Cli r = Cli.run("trace", "--live");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--live needs --port P");
    }

    /**
     * --live on loopback: tcpdump captures a port where nothing listens while this test connects
     * to it every 200 ms (each refused); the analysis that follows tells those refusals.
     */
    @Test
    void live_onLoopback_capturesAndTells() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tcpdump"))
                || Files.isExecutable(Path.of("/usr/sbin/tcpdump")), "tcpdump is not installed");
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "capturing needs root");
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        java.util.concurrent.CompletableFuture<Cli> run = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> Cli.run("trace", "--live", "--port", String.valueOf(port), "--seconds", "3", "--interface", "lo"));
        int refused = 0;
        for (int i = 0; i < 100 && !run.isDone(); i++) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1000);
            } catch (java.net.ConnectException e) {
                refused++;
            }
            Thread.sleep(200);
        }
        Cli r = run.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(refused).isPositive();
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("capturing port " + port + " on lo for 3 s");
        assertThat(r.out()).contains("verdict: refused (RST to SYN)").doesNotContain("verdict: open");
    }

    @Test
    void noFile_exit2_saysWhatToGive() {
        Cli r = Cli.run("trace");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("which capture?");
    }
}
