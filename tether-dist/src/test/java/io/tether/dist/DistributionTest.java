package io.tether.dist;

import io.tether.protocol.Frame;
import io.tether.testkit.Frames;
import io.tether.protocol.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The distribution archive as an operator gets it: unpacked in an empty directory, with nothing
 * from the source tree around it, {@code bin/tether} runs the gateway.
 */
class DistributionTest {
    @TempDir
    Path dir;

    private Path home;
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void unpack() throws Exception {
        Path archive = Path.of(System.getProperty("tether.dist.archive"));
        assertThat(archive).exists();
        Process tar = new ProcessBuilder("tar", "xzf", archive.toString(), "-C", dir.toString()).inheritIO().start();
        assertThat(tar.waitFor()).isZero();
        home = dir.resolve("tether-" + System.getProperty("tether.dist.version"));
    }

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
    }

    @Test
    void archive_holdsTheLauncherTheJarTheConfigExampleTheUnitTheDocsAndTheSdk() throws Exception {
        assertThat(home.resolve("bin/tether")).isExecutable();
        assertThat(home.resolve("lib/tether.jar")).isRegularFile();
        assertThat(home.resolve("etc/tether.yaml")).isRegularFile();
        assertThat(Files.readString(home.resolve("etc/tether.service")))
                .contains("LimitNOFILE=", "User=tether", "ExecStart=/opt/tether/bin/tether serve");
        for (String doc : List.of("README.md", "PROTOCOL.md", "OPERATIONS.md")) {
            assertThat(home.resolve("docs").resolve(doc)).isRegularFile();
        }
        try (var sdk = Files.list(home.resolve("sdk"))) {
            assertThat(sdk.map(p -> p.getFileName().toString()))
                    .anySatisfy(n -> assertThat(n).startsWith("tether-client-"))
                    .anySatisfy(n -> assertThat(n).startsWith("tether-transport-"))
                    .anySatisfy(n -> assertThat(n).startsWith("tether-protocol-"));
        }

        Process errno = tether("errno", "104");
        assertThat(new String(errno.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).contains("ECONNRESET");
        assertThat(errno.waitFor()).isZero();
    }

    @Test
    void binTetherServe_acceptsADevice_andSigtermSaysGoodbyeAndExitsZero() throws Exception {
        int port = freePort();
        Process server = tether("serve", "--insecure-no-auth", "--bind", "127.0.0.1", "--port", String.valueOf(port),
                "--store", "memory");

        try (Socket device = connect(port)) {
            send(device, new Frame.Hello(0, 0, "dist-1", new byte[0]));
            assertThat(read(device)).isInstanceOf(Frame.Welcome.class);

            server.destroy(); // SIGTERM
            Frame bye = read(device);
            assertThat(bye).isInstanceOf(Frame.Bye.class);
            assertThat(((Frame.Bye) bye).reason()).isEqualTo(Reason.SERVER_SHUTDOWN);
        }
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).isZero();
    }

    @Test
    void theConfigExample_runsAsShipped_withPathsForThisHost() throws Exception {
        Path creds = dir.resolve("credentials");
        Process add = tether("credentials", "add", "--file", creds.toString(), "--device", "dist-1", "--secret", "s3cret");
        assertThat(add.waitFor()).isZero();
        int port = freePort();
        int admin = freePort();
        // The example's own keys, with the host paths and ports overridden by flags (flags win).
        Process server = tether("serve", "--config", home.resolve("etc/tether.yaml").toString(),
                "--bind", "127.0.0.1", "--port", String.valueOf(port), "--admin", "127.0.0.1:" + admin,
                "--credentials", creds.toString(), "--data-dir", dir.resolve("data").toString());

        await().atMost(Duration.ofSeconds(60)).until(() -> httpStatus(admin, "/health") == 200);
        server.destroy();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).isZero();
    }

    // ---- helpers ----------------------------------------------------------------------------

    private Process tether(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("bin/tether").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("TETHER_JAVA_OPTS", "-Xmx128m -Xss256k");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static Socket connect(int port) {
        return await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.setSoTimeout(30_000);
            return s;
        }, s -> true);
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
            c.setReadTimeout(2000);
            return c.getResponseCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
