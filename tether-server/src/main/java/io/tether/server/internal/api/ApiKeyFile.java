package io.tether.server.internal.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * API keys, read from a text file that holds their SHA-256 hashes, never the keys:
 * <pre>
 * # comment
 * key ci-deployer 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 * </pre>
 * A key is {@code tk_} followed by 32 random bytes in base64url without padding (46 characters);
 * the hash is SHA-256 of that string's ASCII bytes. {@code tether api-keys add} writes lines.
 *
 * <p>As with the credentials file, {@link #reload} keeps the previous keys in force when the
 * file is unreadable, malformed, cut short (no final line end) or not a regular file, so a typo
 * never locks every application out. A file with no keys is refused at start (every request would
 * be refused), but accepted by a reload: removing the last key must revoke it. Thread-safe:
 * lookups read an immutable snapshot.
 */
public final class ApiKeyFile {
    /** What a key looks like: {@code tk_} and 43 base64url characters. */
    public static final Pattern KEY = Pattern.compile("tk_[A-Za-z0-9_-]{43}");
    /** Key names: 1 to 64 of letters, digits, '.', '_' and '-'. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final long MAX_FILE_BYTES = 16L * 1024 * 1024;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path path;
    private volatile Snapshot snapshot;

    /** Names in file order, hashes in the same order. */
    private record Snapshot(List<String> names, List<byte[]> hashes, FileTime modified) {
    }

    private ApiKeyFile(Path path, Snapshot snapshot) {
        this.path = path;
        this.snapshot = snapshot;
    }

    /**
     * @throws IOException if the file cannot be read, has an invalid line (the message names the
     *                     file and line), or holds no key
     */
    public static ApiKeyFile load(Path path) throws IOException {
        Snapshot s = parse(path);
        if (s.names.isEmpty()) {
            throw new IOException("API keys file " + path + " has no keys: every request would be refused (add one with: "
                    + "tether api-keys add NAME --file " + path + ")");
        }
        return new ApiKeyFile(path, s);
    }

    public Path path() {
        return path;
    }

    public int size() {
        return snapshot.names.size();
    }

    public List<String> names() {
        return snapshot.names;
    }

    /**
     * Re-reads the file if its modification time changed (or always, with {@code force}).
     *
     * @return true if new keys are in force
     * @throws IOException if it is gone, unreadable or malformed; the previous keys stay in force
     */
    public boolean reload(boolean force) throws IOException {
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(path);
        } catch (NoSuchFileException e) {
            throw new IOException("API keys file " + path + " is gone; keeping the previous keys", e);
        }
        if (!force && modified.equals(snapshot.modified)) {
            return false;
        }
        snapshot = parse(path);
        return true;
    }

    /**
     * The name of the key {@code presented}, or null if no key in force is this one. Takes the
     * same time whichever entry matches, or none: every hash is compared, in constant time.
     */
    public String authenticate(String presented) {
        if (presented == null || presented.length() > 256) {
            return null;
        }
        byte[] hash = sha256(presented);
        Snapshot s = snapshot;
        String match = null;
        for (int i = 0; i < s.hashes.size(); i++) {
            if (MessageDigest.isEqual(hash, s.hashes.get(i)) && match == null) {
                match = s.names.get(i);
            }
        }
        return match;
    }

    /** A new random key, {@code tk_} + base64url(32 random bytes), without padding. */
    public static String newKey() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return "tk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** SHA-256 of the key as typed, in hex: what the file stores. */
    public static String hashHex(String key) {
        return HexFormat.of().formatHex(sha256(key));
    }

    /** One digest per thread: looking the algorithm up for every request cost more than hashing the key. */
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    });

    private static byte[] sha256(String s) {
        MessageDigest d = SHA256.get();
        d.reset();
        return d.digest(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @throws IllegalArgumentException naming the name and the rule, if it is not 1 to 64 letters,
     *                                  digits, '.', '_' or '-'
     */
    public static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("API key name '" + name + "' (expected: 1 to 64 letters, digits, '.', '_' or '-')");
        }
    }

    /** The key names in {@code path}, in file order. @throws IOException as {@link #load}, but an empty file is fine */
    public static List<String> names(Path path) throws IOException {
        return parse(path).names;
    }

    /**
     * Adds a key named {@code name} to {@code path} (created owner-only if absent) and returns
     * the key, which is written nowhere.
     *
     * @throws IllegalArgumentException if the name is malformed or already in the file
     * @throws IOException              if the file exists and is not an API keys file (it is left
     *                                  untouched), or cannot be written
     */
    public static String add(Path path, String name) throws IOException {
        checkName(name);
        List<String> lines = new ArrayList<>();
        if (Files.exists(path)) {
            Snapshot s = parse(path);
            if (s.names.contains(name)) {
                throw new IllegalArgumentException("API keys file " + path + " already has a key named " + name
                        + " (remove it first: tether api-keys remove " + name + " --file " + path + ")");
            }
            lines.addAll(Files.readAllLines(path, StandardCharsets.UTF_8));
        } else {
            lines.add("# Tether API keys: key NAME SHA-256-OF-KEY. Written by tether api-keys add; the keys are not stored.");
        }
        String key = newKey();
        lines.add("key " + name + " " + hashHex(key));
        rewrite(path, lines);
        return key;
    }

    /**
     * Removes the key named {@code name}.
     *
     * @return whether there was one
     * @throws IOException if the file is missing, not an API keys file, or cannot be written
     */
    public static boolean remove(Path path, String name) throws IOException {
        parse(path);
        List<String> kept = new ArrayList<>();
        boolean found = false;
        for (String l : Files.readAllLines(path, StandardCharsets.UTF_8)) {
            String[] f = l.strip().split("\\s+");
            if (f.length == 3 && f[0].equals("key") && f[1].equals(name)) {
                found = true;
            } else {
                kept.add(l);
            }
        }
        if (found) {
            rewrite(path, kept);
        }
        return found;
    }

    /**
     * Writes {@code lines} to {@code path} through a temporary file and an atomic rename, so a
     * server never reads half a file. A new file is owner-only (the hashes are not secrets, but
     * the list of key names is nobody else's business); an existing one keeps its mode, owner and
     * group, as the credentials file does.
     */
    private static void rewrite(Path path, List<String> lines) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(tmp, lines, StandardCharsets.UTF_8);
        if (Files.exists(path)) {
            PosixFileAttributes was = Files.readAttributes(path, PosixFileAttributes.class);
            PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
            view.setPermissions(was.permissions());
            view.setGroup(was.group());
            view.setOwner(was.owner());
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static Snapshot parse(Path path) throws IOException {
        // Checked before opening: opening a FIFO for reading blocks until a writer appears.
        if (!Files.isRegularFile(path)) {
            throw new IOException("API keys file " + path + (Files.exists(path)
                    ? " is not a regular file (a directory, FIFO or device?)" : " does not exist"
                    + " (create it with: tether api-keys add NAME --file " + path + ")"));
        }
        FileTime modified = Files.getLastModifiedTime(path);
        long size = Files.size(path);
        if (size > MAX_FILE_BYTES) {
            throw new IOException("API keys file " + path + " is " + size + " bytes (expected: at most " + MAX_FILE_BYTES + ")");
        }
        byte[] bytes = Files.readAllBytes(path);
        if (bytes.length > 0 && bytes[bytes.length - 1] != '\n') {
            throw new IOException("API keys file " + path + ": the last line has no line end: the file is still being "
                    + "written or was cut short (tether api-keys add ends every line)");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException("API keys file " + path + " is not text (not UTF-8): is it the right file?");
        }
        Map<String, byte[]> keys = new LinkedHashMap<>();
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = path + ":" + (i + 1);
            String[] f = line.split("\\s+");
            if (f.length != 3 || !f[0].equals("key")) {
                throw new IOException(where + ": expected 'key NAME SHA256' (is this an API keys file?)");
            }
            try {
                checkName(f[1]);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + ": " + e.getMessage());
            }
            if (!f[2].matches("[0-9a-fA-F]{64}")) {
                throw new IOException(where + ": the hash is not 64 hex digits (a SHA-256)");
            }
            if (keys.put(f[1], HexFormat.of().parseHex(f[2])) != null) {
                throw new IOException(where + ": a second key named " + f[1] + " (names are unique)");
            }
        }
        return new Snapshot(List.copyOf(keys.keySet()), List.copyOf(keys.values()), modified);
    }
}
