package io.tether.cli;

import io.tether.protocol.Frame;
import io.tether.testkit.Frames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Session events go to stdout, and stdout is a pipe whose reader stopped reading (a log shipper
 * that hung): the pipe fills after a few hundred events. The gateway must keep serving — the
 * event loops never wait on the event log — and SIGTERM must still end it (issue 11, item 1: it
 * used to hang until kill -9).
 */
class StalledStdoutIT {
    @TempDir
    Path dir;

    private Process server;

    @AfterEach
    void kill() throws InterruptedException {
        if (server != null) {
            server.destroyForcibly();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void stdoutNobodyReads_gatewayKeepsServing_andSigtermEndsIt() throws Exception {
        int port = freePort();
        int admin = freePort();
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                // A queue of 300 events (the default is 65,536): full after a few hundred devices.
                "-Dtether.events.queue=300",
                "-cp", System.getProperty("java.class.path"), TetherCommand.class.getName(), "serve",
                "--insecure-no-auth", "--store", "memory", "--bind", "127.0.0.1", "--port", String.valueOf(port),
                "--admin", "127.0.0.1:" + admin, "--shutdown-timeout", "2s"));
        // stdout: a pipe this test never reads. stderr: a file.
        server = new ProcessBuilder(cmd).redirectError(dir.resolve("serve.err").toFile()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> httpStatus(admin, "/health") == 200);

        // 1,000 devices come and go: 2,000 events, about 400 KB, far beyond the pipe's 64 KiB.
        long slowestMs = 0;
        for (int i = 0; i < 1_000; i++) {
            long t0 = System.nanoTime();
            try (Socket device = connect(port)) {
                send(device, new Frame.Hello(30_000, 0, "pipe-" + i, new byte[0]));
                assertThat(read(device)).as("WELCOME for device %d", i).isInstanceOf(Frame.Welcome.class);
            }
            slowestMs = Math.max(slowestMs, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
        // Long after the pipe filled: a device still gets its DATA acknowledged.
        try (Socket device = connect(port)) {
            send(device, new Frame.Hello(30_000, 0, "after-full", new byte[0]));
            assertThat(read(device)).isInstanceOf(Frame.Welcome.class);
            send(device, new Frame.Data(1, "still here".getBytes(StandardCharsets.US_ASCII)));
            assertThat(read(device)).isEqualTo(new Frame.Ack(1));
        }
        assertThat(httpStatus(admin, "/health")).as("a stalled event sink costs events, not devices").isEqualTo(200);
        String health = httpBody(admin, "/health");
        long dropped = Long.parseLong(health.replaceAll("(?s).*\"events\":\\{\"dropped\":(\\d+).*", "$1"));
        assertThat(dropped).as("events dropped, per /health: %s", health).isGreaterThan(0);

        long t0 = System.nanoTime();
        server.destroy(); // SIGTERM
        boolean exited = server.waitFor(30, TimeUnit.SECONDS);
        long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.printf("StalledStdoutIT: stdout unread; 1,000 handshakes, slowest %d ms; DATA acked after the"
                + " pipe filled; %d events dropped and counted; SIGTERM -> exit %s in %d ms%n", slowestMs, dropped,
                exited ? server.exitValue() : "none", stopMs);
        assertThat(exited).as("SIGTERM ends the gateway although its stdout is stalled").isTrue();
        assertThat(server.exitValue()).isZero();
        // shutdown-timeout 2 s + at most 5 s waiting for the stalled event sink, with slack.
        assertThat(stopMs).isLessThan(15_000);
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static void send(Socket s, Frame f) throws IOException {
        Frames.write(s.getOutputStream(), f);
    }

    private static Frame read(Socket s) throws IOException {
        return Frames.read(new DataInputStream(s.getInputStream()));
    }

    private static int httpStatus(int port, String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(5000);
            return c.getResponseCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String httpBody(int port, String path) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
        c.setConnectTimeout(1000);
        c.setReadTimeout(5000);
        try (var in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

}
