package io.tether.server;

import io.tether.protocol.Frame;
import io.tether.protocol.Reason;
import io.tether.server.internal.feed.Feed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The application feed of a running server: messages with their session, and every session's open and close. */
class FeedIT {
    @TempDir
    Path dir;

    private TetherServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private TetherServer start() throws Exception {
        server = TetherServer.builder()
                .bindAddress(new InetSocketAddress("127.0.0.1", 0))
                .store(MessageStores.rocksDb(dir, true))
                .drain(Duration.ofMillis(200))
                .shutdownTimeout(Duration.ofSeconds(2))
                .build().start();
        return server;
    }

    private static List<Feed.Entry> all(Feed feed) throws Exception {
        List<Feed.Entry> out = new ArrayList<>();
        long after = 0;
        for (List<Feed.Entry> page; !(page = feed.read(after, 100)).isEmpty(); after = page.get(page.size() - 1).offset()) {
            out.addAll(page);
        }
        return out;
    }

    private static String text(Feed.Entry e) {
        return new String(e.body(), StandardCharsets.UTF_8);
    }

    @Test
    void messagesAndSessionEvents_inOrder_withTheirSession_andEveryOpenHasItsClose_acrossARestart() throws Exception {
        start();
        long first;
        try (RawDevice d = new RawDevice(server.port())) {
            first = d.hello("feed-1", 0).sessionId();
            for (int seq = 1; seq <= 5; seq++) {
                d.send(new Frame.Data(seq, ("m" + seq).getBytes(StandardCharsets.US_ASCII)));
            }
            for (int acked = 0; acked < 5; ) {
                if (d.read() instanceof Frame.Ack a) {
                    acked = (int) a.seq();
                }
            }
            d.send(new Frame.Bye(Reason.NORMAL));
            assertThat(d.awaitEnd()).isTrue();
        }
        RawDevice old = new RawDevice(server.port());
        long second = old.hello("feed-1", 0).sessionId();
        RawDevice rebooted = new RawDevice(server.port());
        long third = rebooted.hello("feed-1", 0).sessionId();   // takes the session over
        Feed feed = server.feed();
        await().atMost(5, TimeUnit.SECONDS).until(() -> all(feed).size() == 10);

        server.close();   // the live session ends with SERVER_SHUTDOWN, in the feed before the store closes
        old.close();
        rebooted.close();
        start();
        List<Feed.Entry> e = all(server.feed());
        assertThat(e).hasSize(11);
        assertThat(e).extracting(Feed.Entry::offset).isSorted().doesNotHaveDuplicates();
        assertThat(text(e.get(0))).contains("\"event\":\"open\"", "\"device\":\"feed-1\"");
        assertThat(e.get(0).session()).isEqualTo(first);
        for (int seq = 1; seq <= 5; seq++) {
            Feed.Entry m = e.get(seq);
            assertThat(m.kind()).isEqualTo(Feed.Kind.MESSAGE);
            assertThat(m.seq()).isEqualTo(seq);
            assertThat(m.session()).as("the message's session").isEqualTo(first);
            assertThat(text(m)).isEqualTo("m" + seq);
        }
        assertThat(text(e.get(6))).contains("\"event\":\"close\"", "\"reason\":\"NORMAL\"", "\"messagesIn\":5");
        List<String> rest = e.subList(7, 11).stream().map(FeedIT::text).toList();
        assertThat(rest).filteredOn(t -> t.contains("\"event\":\"open\"")).hasSize(2);
        assertThat(rest).anySatisfy(t -> assertThat(t).contains("\"session\":" + second, "\"reason\":\"TAKEN_OVER\""));
        assertThat(rest).anySatisfy(t -> assertThat(t).contains("\"session\":" + third, "\"tookOver\":true"));
        assertThat(text(e.get(10))).contains("\"session\":" + third, "\"reason\":\"SERVER_SHUTDOWN\"")
                .doesNotContain("unclean");
    }
}
