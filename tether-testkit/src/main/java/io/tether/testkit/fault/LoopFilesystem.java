package io.tether.testkit.fault;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small ext4 filesystem in an image file, loop-mounted: a real disk that fills up, for tests of
 * what happens on ENOSPC. Needs root, {@code mkfs.ext4} and a loop device; {@link #mount} says
 * which is missing. {@link #close()} unmounts (lazily if something still holds it open, so the
 * image can go with the test's temporary directory). Not thread-safe.
 */
public final class LoopFilesystem implements AutoCloseable {
    private final Path root;
    private boolean mounted = true;

    private LoopFilesystem(Path root) {
        this.root = root;
    }

    /** Why a loop filesystem cannot be had here (not root, no mkfs.ext4, no loop device). */
    public static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        Unavailable(String why) {
            super(why);
        }
    }

    /**
     * Makes an image of {@code size} ({@code truncate -s} syntax: {@code 2M}, {@code 24M}) in
     * {@code dir} and mounts it at {@code dir/mnt}.
     *
     * @throws Unavailable with the reason, for the test to skip itself
     */
    public static LoopFilesystem mount(Path dir, String size) throws Unavailable, IOException {
        if (!"0".equals(output("id", "-u").trim())) {
            throw new Unavailable("needs root to mount a loop device");
        }
        Path image = dir.resolve("fs-" + size + ".img");
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        if (run("truncate", "-s", size, image.toString()) != 0) {
            throw new Unavailable("truncate failed");
        }
        if (run("mkfs.ext4", "-q", "-F", image.toString()) != 0) {
            throw new Unavailable("mkfs.ext4 unavailable (apt-get install e2fsprogs)");
        }
        if (run("mount", "-o", "loop", image.toString(), mnt.toString()) != 0) {
            throw new Unavailable("cannot loop-mount (no loop devices?)");
        }
        return new LoopFilesystem(mnt);
    }

    /** Where it is mounted. */
    public Path root() {
        return root;
    }

    /**
     * Writes filler files until not one byte more fits. Root may use the reserved blocks too, and
     * ext4 hands back a file's preallocated blocks when it is closed, so one file is not enough.
     *
     * @return the filler files; delete them to free the space
     */
    public List<Path> fill() throws IOException {
        List<Path> fillers = new ArrayList<>();
        for (int k = 0; k < 100; k++) {
            Path filler = root.resolve("filler-" + k);
            fillers.add(filler);
            if (fillOne(filler, Long.MAX_VALUE) == 0) {
                return fillers;
            }
        }
        throw new IllegalStateException("the filesystem at " + root + " never filled up");
    }

    /** One filler file that leaves about {@code leaveFree} bytes free. */
    public Path fillLeavingFree(long leaveFree) throws IOException {
        Path filler = root.resolve("filler");
        long usable = Files.getFileStore(root).getUsableSpace();
        fillOne(filler, Math.max(0, usable - leaveFree));
        return filler;
    }

    private static long fillOne(Path filler, long max) {
        long written = 0;
        try (OutputStream out = new FileOutputStream(filler.toFile())) {
            for (int size : new int[] {65_536, 4096, 1}) {
                byte[] chunk = new byte[size];
                try {
                    while (written + size <= max) {
                        out.write(chunk);
                        written += size;
                    }
                } catch (IOException full) {
                    // next, smaller size
                }
            }
        } catch (IOException closeOnFullDisk) {
            // close() may report the same ENOSPC; the file is as full as it gets.
        }
        return written;
    }

    /** Unmounts; lazily if still busy, so the image can be deleted. Idempotent. */
    @Override
    public void close() {
        if (!mounted) {
            return;
        }
        mounted = false;
        if (run("umount", root.toString()) != 0) {
            run("umount", "-l", root.toString());
        }
    }

    private static int run(String... command) {
        try {
            Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException notInstalled) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String output(String... command) throws IOException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }
}
