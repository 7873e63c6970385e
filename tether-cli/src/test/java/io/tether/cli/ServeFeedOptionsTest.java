package io.tether.cli;

import io.tether.server.MessageStore;
import io.tether.server.internal.delivery.RocksDbMessageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The feed and forwarding flags of {@code tether serve} open the store with the matching options, or say what is missing. */
class ServeFeedOptionsTest {
    @TempDir
    Path dir;

    private ServeCommand serve(String... args) {
        CommandLine root = new CommandLine(new TetherCommand());
        String[] all = new String[args.length + 3];
        all[0] = "serve";
        all[1] = "--data-dir";
        all[2] = dir.resolve("data").toString();
        System.arraycopy(args, 0, all, 3, args.length);
        CommandLine.ParseResult pr = root.parseArgs(all);
        return (ServeCommand) pr.subcommand().commandSpec().userObject();
    }

    @Test
    void defaults_keepTheFeed_withoutForwarding() throws Exception {
        try (MessageStore s = serve().openStore()) {
            RocksDbMessageStore.Options o = ((RocksDbMessageStore) s).options();
            assertThat(o.feed()).isTrue();
            assertThat(o.forwarding()).isFalse();
            assertThat(o.ackAfterForward()).isFalse();
            assertThat(o.retention()).isEqualTo(Duration.ZERO);
            assertThat(o.maxUnforwardedBytes()).isZero();
        }
    }

    @Test
    void kafkaFlags_setTheStoreOptions() throws Exception {
        try (MessageStore s = serve("--kafka", "127.0.0.1:9092", "--ack-after", "kafka", "--retention", "2h",
                "--max-store-bytes", "64m").openStore()) {
            RocksDbMessageStore.Options o = ((RocksDbMessageStore) s).options();
            assertThat(o.forwarding()).isTrue();
            assertThat(o.ackAfterForward()).isTrue();
            assertThat(o.retention()).isEqualTo(Duration.ofHours(2));
            assertThat(o.maxUnforwardedBytes()).isEqualTo(64L << 20);
        }
    }

    @Test
    void noFeed_turnsItOff() throws Exception {
        try (MessageStore s = serve("--no-feed").openStore()) {
            assertThat(((RocksDbMessageStore) s).feed()).isNull();
        }
    }

    @Test
    void forwardingFlags_withoutKafka_sayWhatIsMissing() {
        assertThatThrownBy(() -> serve("--ack-after", "kafka").openStore())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs --kafka");
        assertThatThrownBy(() -> serve("--max-store-bytes", "1g").openStore())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs --kafka");
        assertThatThrownBy(() -> serve("--kafka", "127.0.0.1:9092", "--store", "memory").openStore())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--store rocksdb");
        assertThatThrownBy(() -> serve("--kafka", "127.0.0.1:9092", "--no-feed").openStore())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--no-feed");
        assertThatThrownBy(() -> serve("--max-store-bytes", "lots"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("'lots'");
    }
}
