package io.tether.server.internal.auth;

import io.tether.protocol.Protocol;
import io.tether.protocol.auth.DeviceToken;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device keys, read from a text file. The file holds keys derived from secrets (PBKDF2, see
 * {@link DeviceToken}), never the secrets themselves:
 * <pre>
 * # comment
 * device truck-42 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 * group  sim-     60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
 * </pre>
 * A {@code device} line names one id; a {@code group} line covers every id that starts with its
 * prefix (the longest prefix wins; a device line wins over any group). Write lines with
 * {@code tether credentials add}.
 *
 * <p>{@link #reload()} re-reads the file; a file with an error leaves the previous keys in force
 * and reports the error, so a typo never locks every device out. So does a file that cannot be
 * what the operator meant: one with no entries (every device would be refused), one whose last
 * line has no line end (a file still being written, or cut short — {@code tether credentials add}
 * always ends lines), and anything that is not a regular file (a FIFO would block the reader
 * forever). Thread-safe: lookups read an immutable snapshot.
 */
public final class CredentialsFile {
    private final Path path;
    private volatile Snapshot snapshot;
    /** The entries the last reload replaced; null before any reload. */
    private volatile Snapshot previous;

    private record Snapshot(Map<String, byte[]> devices, TreeMap<String, byte[]> groups, FileTime modified) {
    }

    private CredentialsFile(Path path, Snapshot snapshot) {
        this.path = path;
        this.snapshot = snapshot;
    }

    /**
     * @throws IOException if the file cannot be read or has an invalid line (the message names the line)
     */
    public static CredentialsFile load(Path path) throws IOException {
        return new CredentialsFile(path, parse(path));
    }

    public Path path() {
        return path;
    }

    /** Number of device and group entries. */
    public int size() {
        Snapshot s = snapshot;
        return s.devices.size() + s.groups.size();
    }

    /**
     * Re-reads the file if it changed since the last read (or always, with {@code force}).
     *
     * @return true if new keys are now in force
     * @throws IOException if the file is unreadable or invalid; the previous keys stay in force
     */
    public boolean reload(boolean force) throws IOException {
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(path);
        } catch (NoSuchFileException e) {
            throw new IOException("credentials file " + path + " is gone; keeping the previous keys", e);
        }
        if (!force && modified.equals(snapshot.modified)) {
            return false;
        }
        Snapshot next = parse(path);
        previous = snapshot;
        snapshot = next;
        return true;
    }

    /** The key for {@code deviceId}, or null if no entry covers it. */
    public byte[] keyFor(String deviceId) {
        return keyFor(snapshot, deviceId);
    }

    /**
     * Whether {@code deviceId} is still covered by the key it had before the last reload: false
     * if no entry covers it now, or its key changed (a device or group line replaced, removed, or
     * shadowed by a new one). A device that had no key before the reload cannot have a session
     * that was opened with the old entries, so any key it has now counts as valid.
     */
    public boolean keyUnchanged(String deviceId) {
        byte[] now = keyFor(snapshot, deviceId);
        if (now == null) {
            return false;
        }
        Snapshot before = previous;
        byte[] then = before == null ? null : keyFor(before, deviceId);
        return then == null || java.security.MessageDigest.isEqual(then, now);
    }

    private static byte[] keyFor(Snapshot s, String deviceId) {
        byte[] key = s.devices.get(deviceId);
        if (key != null) {
            return key;
        }
        // Longest prefix first: floorKey walks down from the id itself.
        String candidate = s.groups.floorKey(deviceId);
        while (candidate != null) {
            if (deviceId.startsWith(candidate)) {
                return DeviceToken.memberKey(s.groups.get(candidate), deviceId);
            }
            candidate = s.groups.lowerKey(candidate);
        }
        return null;
    }

    /** A credentials file of a million devices is about 100 MB; anything beyond this is not one. */
    private static final long MAX_FILE_BYTES = 256L * 1024 * 1024;

    private static Snapshot parse(Path path) throws IOException {
        // Checked before opening: opening a FIFO for reading blocks until a writer appears.
        if (!Files.isRegularFile(path)) {
            throw new IOException("credentials file " + path + (Files.exists(path)
                    ? " is not a regular file (a directory, FIFO or device?)" : " does not exist"));
        }
        FileTime modified = Files.getLastModifiedTime(path);
        long size = Files.size(path);
        if (size > MAX_FILE_BYTES) {
            throw new IOException("credentials file " + path + " is " + size + " bytes (expected: at most "
                    + MAX_FILE_BYTES + ")");
        }
        byte[] bytes = Files.readAllBytes(path);
        if (bytes.length > 0 && bytes[bytes.length - 1] != '\n') {
            throw new IOException("credentials file " + path + ": the last line has no line end: the file is"
                    + " still being written or was cut short (tether credentials add ends every line)");
        }
        String text;
        try {
            text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException("credentials file " + path + " is not text (not UTF-8): is it the right file?");
        }
        Map<String, byte[]> devices = new HashMap<>();
        TreeMap<String, byte[]> groups = new TreeMap<>();
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\\s+");
            String where = path + ":" + (i + 1);
            if (f.length != 3 || !(f[0].equals("device") || f[0].equals("group"))) {
                throw new IOException(where + ": expected 'device ID KEY' or 'group PREFIX KEY'");
            }
            try {
                Protocol.checkDeviceId(f[1]);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + ": " + e.getMessage());
            }
            byte[] key;
            try {
                key = HexFormat.of().parseHex(f[2]);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + ": key is not hex");
            }
            if (key.length != 32) {
                throw new IOException(where + ": key is " + key.length + " bytes (expected: 32, 64 hex digits)");
            }
            (f[0].equals("device") ? devices : groups).put(f[1], key);
        }
        if (devices.isEmpty() && groups.isEmpty()) {
            throw new IOException("credentials file " + path + " has no entries: every device would be refused"
                    + " (add one with: tether credentials add --file " + path + " --device ID --secret-env VAR)");
        }
        return new Snapshot(Map.copyOf(devices), groups, modified);
    }

    /** A line for the file: the secret is turned into a key here and is not kept. */
    public static String deviceLine(String deviceId, String secret) {
        return "device " + deviceId + " " + HexFormat.of().formatHex(DeviceToken.deviceKey(deviceId, secret));
    }

    /** A group line for every id starting with {@code prefix}. */
    public static String groupLine(String prefix, String secret) {
        return "group " + prefix + " " + HexFormat.of().formatHex(DeviceToken.groupKey(prefix, secret));
    }

    /** Adds or replaces the entry for {@code name} (kind "device" or "group") in {@code path}. */
    public static void upsert(Path path, String kind, String name, String line) throws IOException {
        List<String> out = new ArrayList<>();
        boolean replaced = false;
        if (Files.exists(path)) {
            for (String l : Files.readAllLines(path)) {
                String[] f = l.strip().split("\\s+");
                if (f.length >= 2 && f[0].equals(kind) && f[1].equals(name)) {
                    if (!replaced) {
                        out.add(line);
                        replaced = true;
                    }
                } else {
                    out.add(l);
                }
            }
        }
        if (!replaced) {
            out.add(line);
        }
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        // Owner-only from the start: the keys let anyone who reads them pose as the devices.
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        Files.write(tmp, out);
        if (Files.exists(path)) {
            // An existing file keeps its mode, owner and group: an operator who gave the service
            // user read access (0640 root:tether) must not lose it to the next `credentials add`.
            java.nio.file.attribute.PosixFileAttributes was = Files.readAttributes(path,
                    java.nio.file.attribute.PosixFileAttributes.class);
            java.nio.file.attribute.PosixFileAttributeView view = Files.getFileAttributeView(tmp,
                    java.nio.file.attribute.PosixFileAttributeView.class);
            view.setPermissions(was.permissions());
            view.setGroup(was.group());
            view.setOwner(was.owner());
        }
        Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
