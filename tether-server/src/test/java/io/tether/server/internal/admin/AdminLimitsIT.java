package io.tether.server.internal.admin;

import io.tether.server.TetherServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Admin connections cost descriptors the gateway and its store need, so they are bounded: in
 * number, in time per request, and in idle time — and trickled bytes extend none of these (the
 * attack of issue 11: 400 connections sending a byte every 30 s beat a 60 s read timeout).
 */
class AdminLimitsIT {
    private static final Duration REQUEST = Duration.ofMillis(500);
    private static final Duration IDLE = Duration.ofSeconds(1);

    private TetherServer server;
    private AdminServer admin;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void start() {
        server = TetherServer.builder().bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .shutdownTimeout(Duration.ofSeconds(1)).build().start();
        admin = AdminServer.start(server, new InetSocketAddress("127.0.0.1", 0), new AdminServer.Limits(4, REQUEST, IDLE));
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        admin.close();
        server.close();
    }

    @Test
    void connectionsBeyondTheLimit_areAnswered503AndClosed_andASlotFreesWhenOneCloses() throws Exception {
        for (int i = 0; i < 4; i++) {
            connect();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> admin.openConnections() == 4);

        Socket fifth = connect();
        String answer = new String(fifth.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(answer).startsWith("HTTP/1.1 503").contains("too many admin connections");

        sockets.get(0).close();
        await().atMost(Duration.ofSeconds(5)).until(() -> admin.openConnections() == 3);
        Socket again = connect();
        again.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(readHead(again.getInputStream())).startsWith("HTTP/1.1 200");
    }

    @Test
    void aRequestTrickledByteByByte_isCutAtTheRequestTimeout_notExtendedByEachByte() throws Exception {
        Socket s = connect();
        long start = System.nanoTime();
        byte[] request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        int sent = 0;
        try {
            // One byte every 100 ms: 3.4 s for the whole request, far past the 500 ms bound.
            for (; sent < request.length; sent++) {
                s.getOutputStream().write(request[sent]);
                Thread.sleep(100);
            }
        } catch (IOException closed) {
            // the server closed the connection while we were still trickling: what we want
        }
        assertThat(s.getInputStream().read()).as("closed without an answer").isEqualTo(-1);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(sent).as("bytes trickled before the cut").isLessThan(request.length);
        // 500 ms bound; slack 1.5 s for a loaded machine (the trickle alone would take 3.4 s).
        assertThat(elapsedMs).isLessThan(REQUEST.toMillis() + 1_500);
    }

    @Test
    void aKeptAliveConnectionWithoutANextRequest_isClosedAfterTheIdleTimeout() throws Exception {
        Socket s = connect();
        s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        assertThat(readHead(in)).startsWith("HTTP/1.1 200");
        long start = System.nanoTime();
        in.skip(in.available());
        while (in.read() >= 0) {
            // drain the body until the server closes
        }
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(elapsedMs).isBetween(IDLE.toMillis() - 200, IDLE.toMillis() + 2_000);
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(admin.address(), 2_000);
        s.setSoTimeout(10_000);
        sockets.add(s);
        return s;
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            b.append((char) c);
        }
        return b.toString();
    }
}
