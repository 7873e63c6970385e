package io.tether.cli.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ./tether launcher (repository root), run for real in a scratch copy of a checkout. The
 * build it runs is a stand-in (TETHER_BUILD_CMD) that writes jars this test makes, so the test
 * controls what a build leaves behind: a good jar, a jar cut short by Ctrl-C, a failure.
 */
class LauncherTest {
    private static final Path LAUNCHER = findLauncher();

    @TempDir
    Path checkout;

    private Path source;

    @Test
    void rebuildWhileAGatewayRuns_leavesTheRunningGatewaysJarAlone() throws Exception {
        setUpCheckout();
        nextBuild("1");
        Process server = start("serve");
        assertThat(readLine(server)).isEqualTo("build 1");
        Path serverJar = jarOf(server);
        byte[] before = Files.readAllBytes(serverJar);

        touchSource();
        nextBuild("2");
        assertThat(run("errno")).containsExactly("build 2");
        // A second rebuild too, and a direct write over the build output (what `mvn install` does).
        touchSource();
        nextBuild("3");
        assertThat(run("errno")).containsExactly("build 3");

        assertThat(serverJar).exists();
        assertThat(Files.readAllBytes(serverJar)).as("the running gateway's jar").isEqualTo(before);
        server.getOutputStream().close();
        assertThat(readLine(server)).isEqualTo("late class ok build 1");
        assertThat(server.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).isZero();
    }

    @Test
    void buildInterruptedByCtrlC_isNotTrusted_theNextRunBuildsAgain() throws Exception {
        setUpCheckout();
        nextBuild("1");
        assertThat(run("errno")).containsExactly("build 1");

        touchSource();
        // The build is interrupted after writing part of the jar, as Ctrl-C during shading does.
        writeBuildScript("head -c 4000 '" + jarFor("2") + "' > tether-cli/target/tether.jar; exit 130");
        Result interrupted = runResult("errno");
        assertThat(interrupted.exit).isNotZero();
        assertThat(interrupted.stderr).contains("the build failed");

        nextBuild("2");
        assertThat(run("errno")).as("built again, not the cut jar").containsExactly("build 2");
    }

    @Test
    void buildThatLeavesAJarWithoutMainClass_isRefusedWithAMessage_andBuiltAgainNextTime() throws Exception {
        setUpCheckout();
        Path noMain = checkout.resolve("no-main.jar");
        writeJar(noMain, "x", false);
        writeBuildScript("cp '" + noMain + "' tether-cli/target/tether.jar");
        Result r = runResult("errno");
        assertThat(r.exit).isNotZero();
        assertThat(r.stderr).contains("no Main-Class");

        nextBuild("1");
        assertThat(run("errno")).containsExactly("build 1");
        assertThat(run("errno")).as("no rebuild when nothing changed").containsExactly("build 1");
        assertThat(Files.readString(checkout.resolve("builds.log")).lines()).hasSize(2);
    }

    // ---- fixture ----------------------------------------------------------------------------

    private void setUpCheckout() throws IOException {
        Files.copy(LAUNCHER, checkout.resolve("tether"));
        checkout.resolve("tether").toFile().setExecutable(true);
        Files.createDirectories(checkout.resolve("tether-cli/target"));
        source = checkout.resolve("tether-cli/src/main/java/Main.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, "class Main {}\n");
        Files.setLastModifiedTime(source, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
    }

    /** A source edited now: newer than the start of any build that already ran. */
    private void touchSource() throws IOException {
        Files.setLastModifiedTime(source, FileTime.from(java.time.Instant.now()));
    }

    private void nextBuild(String build) throws IOException {
        writeBuildScript("cp '" + jarFor(build) + "' tether-cli/target/tether.jar");
    }

    private Path jarFor(String build) throws IOException {
        Path jar = checkout.resolve("probe-" + build + ".jar");
        if (!Files.exists(jar)) {
            writeJar(jar, build, true);
        }
        return jar;
    }

    private void writeBuildScript(String body) throws IOException {
        Path script = checkout.resolve("build.sh");
        Files.writeString(script, "#!/bin/sh\necho build >> builds.log\n" + body + "\n");
        script.toFile().setExecutable(true);
    }

    private static void writeJar(Path jar, String build, boolean withMain) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (withMain) {
            m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, LauncherProbe.class.getName());
        }
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), m)) {
            for (Class<?> c : List.of(LauncherProbe.class, LauncherProbe.Late.class)) {
                String name = c.getName().replace('.', '/') + ".class";
                out.putNextEntry(new JarEntry(name));
                try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
                    in.transferTo(out);
                }
            }
            out.putNextEntry(new JarEntry("probe-build.txt"));
            out.write(build.getBytes(StandardCharsets.UTF_8));
        }
    }

    private ProcessBuilder launcher(String... args) {
        List<String> cmd = new ArrayList<>(List.of(checkout.resolve("tether").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(checkout.toFile());
        pb.environment().put("TETHER_BUILD_CMD", checkout.resolve("build.sh").toString());
        pb.environment().put("TETHER_JAVA_OPTS", "-Xmx32m -Xshare:auto");
        return pb;
    }

    private Process start(String... args) throws IOException {
        return launcher(args).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    private record Result(int exit, List<String> stdout, String stderr) {
    }

    private Result runResult(String... args) throws Exception {
        Process p = launcher(args).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out.lines().toList(), err);
    }

    private List<String> run(String... args) throws Exception {
        Result r = runResult(args);
        assertThat(r.exit).as("exit of ./tether %s; stderr: %s", String.join(" ", args), r.stderr).isZero();
        return r.stdout;
    }

    private static String readLine(Process p) throws IOException {
        StringBuilder b = new StringBuilder();
        InputStream in = p.getInputStream();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            b.append((char) c);
        }
        return b.toString();
    }

    /** The jar a running launcher-started process has on its command line. */
    private static Path jarOf(Process p) throws IOException {
        String[] args = Files.readString(Path.of("/proc/" + p.pid() + "/cmdline")).split("\0");
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals("-jar")) {
                return Path.of(args[i + 1]);
            }
        }
        throw new AssertionError("no -jar in " + String.join(" ", args));
    }

    private static Path findLauncher() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("tether")) && Files.isDirectory(d.resolve("tether-cli"))) {
                return d.resolve("tether");
            }
        }
        throw new IllegalStateException("./tether not found above " + Path.of("").toAbsolutePath());
    }

}
