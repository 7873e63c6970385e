package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tether.protocol.Frame;
import io.tether.protocol.Protocol;
import io.tether.testkit.Frames;
import org.junit.jupiter.api.Test;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tether sim --command-reply}: devices take commands (protocol version 2) and answer them,
 * against a fake version 2 gateway on a blocking socket (the real gateway's side is separate work).
 */
class SimCommandsTest {

    @Test
    void commandFlags_areCheckedAgainstTheBehaviourAndEachOther() {
        Cli bad = Cli.run("sim", "--target", "127.0.0.1:9", "--command-reply", "maybe");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--command-reply").contains("maybe");

        Cli raw = Cli.run("sim", "--target", "127.0.0.1:9", "--behaviour", "silent", "--command-reply", "ok");
        assertThat(raw.code()).isEqualTo(2);
        assertThat(raw.err()).contains("--command-reply ok: only --behaviour normal or late devices take commands");

        Cli delayAlone = Cli.run("sim", "--target", "127.0.0.1:9", "--command-delay", "1s");
        assertThat(delayAlone.code()).isEqualTo(2);
        assertThat(delayAlone.err()).contains("--command-delay PT1S: needs --command-reply");
    }

    @Test
    void withoutCommandReply_simDevicesSpeakVersion1() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Cli> sim = CompletableFuture.supplyAsync(() -> Cli.run("sim", "--target",
                    "127.0.0.1:" + server.getLocalPort(), "--devices", "1", "--duration", "1s"));
            server.setSoTimeout(5_000);
            try (Socket s = server.accept()) {
                Frame.Hello hello = (Frame.Hello) Frames.read(new DataInputStream(s.getInputStream()));
                assertThat(hello.version()).isEqualTo(Protocol.VERSION);
            }
            sim.get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void aSimDevice_answersCommands_processesEachOnce_andCountsThem() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5_000);
            CompletableFuture<Cli> sim = CompletableFuture.supplyAsync(() -> Cli.run("sim", "--target",
                    "127.0.0.1:" + server.getLocalPort(), "--devices", "1", "--command-reply", "fail",
                    "--command-delay", "100ms", "--duration", "4s"));
            List<Frame> fromDevice = new ArrayList<>();
            long t0;
            long ackedAfterMillis;
            try (Socket s = server.accept()) {
                s.setSoTimeout(15_000);
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                OutputStream out = s.getOutputStream();
                Frame.Hello hello = (Frame.Hello) Frames.read(in);
                assertThat(hello.version()).isEqualTo(Protocol.VERSION_COMMANDS);
                Frames.write(out, new Frame.Welcome(7, 0, 0, 0, Protocol.DEFAULT_MAX_FRAME_LENGTH, 0), 2);
                t0 = System.nanoTime();
                Frames.write(out, new Frame.Command(1, "reboot".getBytes(StandardCharsets.UTF_8)), 2);
                Frames.write(out, new Frame.Command(2, "ping".getBytes(StandardCharsets.UTF_8)), 2);
                while (fromDevice.stream().filter(f -> f instanceof Frame.Result).count() < 2) {
                    Frame f = Frames.read(in, 2);
                    if (!(f instanceof Frame.Ping)) {
                        fromDevice.add(f);
                    }
                }
                ackedAfterMillis = (System.nanoTime() - t0) / 1_000_000;
                Frames.write(out, new Frame.ResultAck(1), 2);
                Frames.write(out, new Frame.ResultAck(2), 2);
                // A resend, as after a lost ACK: acknowledged again, not processed again.
                Frames.write(out, new Frame.Command(1, "reboot".getBytes(StandardCharsets.UTF_8)), 2);
                Frame f;
                do {
                    f = Frames.read(in, 2);
                    if (f != null && !(f instanceof Frame.Ping)) {
                        fromDevice.add(f);
                    }
                } while (f != null && !(f instanceof Frame.Bye)); // until the sim ends with its BYE
            }
            Cli r = sim.get(20, TimeUnit.SECONDS);
            assertThat(r.code()).isZero();

            List<Frame> results = fromDevice.stream().filter(f -> f instanceof Frame.Result).toList();
            assertThat(results).containsExactly(
                    new Frame.Result(1, Frame.Result.FAILED, "fail".getBytes(StandardCharsets.US_ASCII)),
                    new Frame.Result(2, Frame.Result.FAILED, "fail".getBytes(StandardCharsets.US_ASCII)));
            assertThat(fromDevice.stream().filter(f -> f instanceof Frame.CommandAck)
                    .map(f -> ((Frame.CommandAck) f).seq()).toList()).containsExactly(1L, 2L, 2L);
            assertThat(ackedAfterMillis).as("two commands of --command-delay 100ms, one after the other")
                    .isGreaterThanOrEqualTo(200);

            JsonNode summary = new ObjectMapper().readTree(r.out());
            assertThat(summary.get("commandsReceived").asLong()).isEqualTo(3);
            assertThat(summary.get("commandsProcessed").asLong()).isEqualTo(2);
            assertThat(summary.get("commandsDuplicate").asLong()).isEqualTo(1);
            assertThat(summary.get("resultsAcked").asLong()).isEqualTo(2);
        }
    }
}
