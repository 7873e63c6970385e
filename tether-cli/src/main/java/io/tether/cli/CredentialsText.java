package io.tether.cli;

import io.tether.protocol.Protocol;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * The credentials file as text, for the commands that look at it or edit it without loading keys:
 * {@code credentials list} and {@code remove}, and the checks before {@code add} appends to a file
 * or {@code serve} reads one. The format is the server's ({@code device ID KEY} and
 * {@code group PREFIX KEY} lines, {@code #} comments; see {@link io.tether.server.Credentials}).
 * Keys are read only to check their form; nothing here prints them.
 */
final class CredentialsText {
    /** One line of the file: "device" or "group", the id or prefix, and the whole line as written. */
    record Entry(String kind, String name, String line) {
    }

    private final Path file;
    private final List<String> lines;
    private final List<Entry> entries;

    private CredentialsText(Path file, List<String> lines, List<Entry> entries) {
        this.file = file;
        this.lines = lines;
        this.entries = entries;
    }

    /**
     * Reads and checks {@code file}.
     *
     * @throws IllegalArgumentException saying what is wrong with it: missing, not text, a line
     *                                  that is not an entry (the message names the line)
     */
    static CredentialsText read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("credentials file " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("credentials file " + file + ": permission denied");
        } catch (IOException e) {
            throw new IllegalArgumentException("credentials file " + file + ": cannot read it (" + e.getMessage() + ")");
        }
        checkText(file, bytes);
        String text = new String(bytes, StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(text.lines().toList());
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String[] f = l.split("\\s+");
            if (f.length != 3 || !(f[0].equals("device") || f[0].equals("group")) || !f[2].matches("[0-9a-fA-F]{64}")) {
                throw new IllegalArgumentException("credentials file " + file + " is not a credentials file: line "
                        + (i + 1) + " is not 'device ID KEY' or 'group PREFIX KEY'");
            }
            entries.add(new Entry(f[0], f[1], lines.get(i)));
        }
        return new CredentialsText(file, lines, entries);
    }

    /**
     * @throws IllegalArgumentException if {@code bytes} are binary (a NUL byte, or not UTF-8)
     */
    static void checkText(Path file, byte[] bytes) {
        boolean text = true;
        for (byte b : bytes) {
            if (b == 0) {
                text = false;
                break;
            }
        }
        if (text) {
            try {
                StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
            } catch (CharacterCodingException e) {
                text = false;
            }
        }
        if (!text) {
            throw new IllegalArgumentException("credentials file " + file + " is not a credentials file: it holds "
                    + "binary data (expected text lines 'device ID KEY', written by tether credentials add)");
        }
    }

    /** If {@code file} exists and is binary, says so; else leaves the rest of the checks to the server. */
    static void checkNotBinary(Path file) {
        if (Files.isRegularFile(file)) {
            try {
                checkText(file, Files.readAllBytes(file));
            } catch (IOException e) {
                // The server's own load reports what it cannot read.
            }
        }
    }

    List<Entry> entries() {
        return entries;
    }

    /**
     * Removes the entry of {@code kind} {@code name}, rewriting the file atomically, owner-only.
     *
     * @return whether there was such an entry
     */
    boolean remove(String kind, String name) throws IOException {
        List<String> kept = new ArrayList<>(lines.size());
        boolean found = false;
        for (String l : lines) {
            String[] f = l.strip().split("\\s+");
            if (f.length == 3 && f[0].equals(kind) && f[1].equals(name)) {
                found = true;
            } else {
                kept.add(l);
            }
        }
        if (found) {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, kept);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return found;
    }

    /**
     * @throws IllegalArgumentException naming {@code flag} and what is wrong with {@code id}
     */
    static void checkId(String flag, String id) {
        if (id.isEmpty()) {
            throw new IllegalArgumentException(flag + " is empty (expected: 1 to " + Protocol.MAX_DEVICE_ID_LENGTH
                    + " printable ASCII characters, no spaces)");
        }
        if (id.length() > Protocol.MAX_DEVICE_ID_LENGTH) {
            throw new IllegalArgumentException(flag + " is " + id.length() + " characters long (expected: at most "
                    + Protocol.MAX_DEVICE_ID_LENGTH + ")");
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException(flag + " '" + id + "': " + (c == ' ' ? "a space" : "character 0x"
                        + Integer.toHexString(c)) + " at position " + (i + 1) + " (expected: printable ASCII, no spaces)");
            }
        }
    }
}
