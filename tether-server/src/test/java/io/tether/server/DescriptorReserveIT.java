package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A gateway under {@code prlimit --nofile=300} (issue 11, item 2: 600 connections used to take
 * the store's descriptors and break it for good). The reserve of 256 leaves 44 connections: the
 * rest are refused with SERVER_BUSY, a burst of more is shed, and the admitted devices go on
 * being acknowledged by a store that never sees EMFILE.
 */
class DescriptorReserveIT {
    private static final int LIMIT = 300;

    @TempDir
    Path dir;

    @Test
    void underALowOpenFilesLimit_excessConnectionsAreRefused_andTheStoreKeepsAcknowledging() throws Exception {
        List<String> cmd = List.of("prlimit", "--nofile=" + LIMIT + ":" + LIMIT,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), FdLimitChild.class.getName(), dir.resolve("store").toString());
        Path stderr = dir.resolve("child-stderr.txt");
        Process child = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // the child ended
            }
        });
        reader.start();
        List<Socket> admitted = new ArrayList<>();
        List<Socket> burst = new ArrayList<>();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> lines.stream().anyMatch(l -> l.startsWith("PORT ")));
            int port = Integer.parseInt(lines.get(0).substring(5));

            // 600 devices, one after another, each told at once whether it is in.
            int busy = 0;
            int other = 0;
            for (int i = 0; i < 600; i++) {
                Socket s = open(port);
                RawDeviceFrames.write(s, new Frame.Hello(0, 0, "fd-" + i, new byte[0]));
                Frame f = read(s);
                if (f instanceof Frame.Welcome) {
                    admitted.add(s);
                } else {
                    if (f instanceof Frame.Bye bye && bye.reason() == Reason.SERVER_BUSY) {
                        busy++;
                    } else {
                        other++;
                    }
                    s.close();
                }
            }
            // A burst on top, held open without reading: shed without spending the reserve.
            for (int i = 0; i < 300; i++) {
                try {
                    burst.add(open(port));
                } catch (IOException e) {
                    break; // the listen backlog is full: also fine
                }
            }
            // The admitted devices are still acknowledged, through the store.
            int acked = 0;
            for (int seq = 1; seq <= 5; seq++) {
                for (Socket s : admitted) {
                    RawDeviceFrames.write(s, new Frame.Data(seq, ("m" + seq).getBytes()));
                }
            }
            for (Socket s : admitted) {
                Frame f;
                do {
                    f = read(s);
                } while (f instanceof Frame.Ack a && a.seq() < 5);
                if (f instanceof Frame.Ack) {
                    acked++;
                }
            }
            String log = Files.readString(stderr);
            String capLine = log.lines().filter(l -> l.contains("connection cap")).findFirst().orElse("(no cap line)");
            System.out.printf("prlimit --nofile=%d: %d admitted, %d SERVER_BUSY, %d other; burst of %d held; "
                            + "%d of %d admitted acknowledged seq 5 after the burst; child: %s; other closes: %s%n",
                    LIMIT, admitted.size(), busy, other, burst.size(), acked, admitted.size(), capLine,
                    lines.stream().filter(l -> l.startsWith("CLOSE")).toList());
            assertThat(admitted).hasSize(LIMIT - Admission.DEFAULT_DESCRIPTOR_RESERVE);
            assertThat(busy).isEqualTo(600 - admitted.size());
            assertThat(other).isZero();
            assertThat(acked).isEqualTo(admitted.size());
            assertThat(capLine).contains("connection cap 44");
            assertThat(log).doesNotContain("Too many open files");
            assertThat(lines).noneMatch(l -> l.startsWith("CLOSE"));
        } finally {
            for (Socket s : admitted) {
                s.close();
            }
            for (Socket s : burst) {
                s.close();
            }
            child.getOutputStream().close();
            if (!child.waitFor(20, TimeUnit.SECONDS)) {
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            reader.join(5_000);
        }
    }

    private static Socket open(int port) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** The next frame, or null on EOF or reset. */
    private static Frame read(Socket s) throws IOException {
        java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
        int length;
        try {
            length = in.readInt();
        } catch (java.io.EOFException | java.net.SocketException e) {
            return null;
        }
        byte[] frame = new byte[4 + length];
        java.nio.ByteBuffer.wrap(frame).putInt(length);
        in.readFully(frame, 4, length);
        io.netty.buffer.ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(frame);
        try {
            return io.tether.protocol.FrameCodec.decode(buf);
        } finally {
            buf.release();
        }
    }
}
