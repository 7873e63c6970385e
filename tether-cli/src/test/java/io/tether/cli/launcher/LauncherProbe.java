package io.tether.cli.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Stands in for the tether CLI inside jars that {@link LauncherTest} builds: prints the build it
 * came from, and with "serve" waits until stdin closes, then loads a class it had not loaded
 * yet (as a running gateway does) and prints whether that worked.
 */
public final class LauncherProbe {
    private LauncherProbe() {
    }

    public static void main(String[] args) throws IOException {
        System.out.println("build " + build());
        System.out.flush();
        if (args.length > 0 && args[0].equals("serve")) {
            while (System.in.read() >= 0) {
                // wait for stdin to close
            }
            // A class first loaded now comes from the jar the process started with: if a build
            // had replaced that jar, this would fail with NoClassDefFoundError or a zip error.
            System.out.println("late class " + Late.hello() + " build " + build());
        }
    }

    private static String build() throws IOException {
        try (InputStream in = LauncherProbe.class.getResourceAsStream("/probe-build.txt")) {
            return in == null ? "none" : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    static final class Late {
        static String hello() {
            return "ok";
        }
    }
}
