package io.tether.server;

import io.tether.server.internal.auth.CredentialsFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A credentials file: one line per device ({@code device ID KEY}) or group of devices sharing an
 * id prefix ({@code group PREFIX KEY}), each key derived from a secret with PBKDF2; secrets are
 * never written. {@link Authenticators#tokens(Credentials)} checks devices against it. Thread-safe.
 */
public final class Credentials {
    private final CredentialsFile file;

    private Credentials(CredentialsFile file) {
        this.file = file;
    }

    /**
     * Reads {@code path}.
     *
     * @throws IOException if it cannot be read, or a line is malformed (the message names the line)
     */
    public static Credentials load(Path path) throws IOException {
        return new Credentials(CredentialsFile.load(Objects.requireNonNull(path, "path")));
    }

    /** The file read. */
    public Path path() {
        return file.path();
    }

    /** Entries (devices and groups) in force. */
    public int size() {
        return file.size();
    }

    /**
     * Re-reads the file if it changed (or always, if {@code force}). On an error the previous
     * entries stay in force.
     *
     * @return whether new entries are in force
     * @throws IOException if the file cannot be read or is malformed
     */
    public boolean reload(boolean force) throws IOException {
        return file.reload(force);
    }

    /**
     * Adds or replaces the key of one device in {@code path} (created if absent).
     *
     * @throws IllegalArgumentException if the id or secret is unusable
     */
    public static void addDevice(Path path, String deviceId, String secret) throws IOException {
        CredentialsFile.upsert(path, "device", deviceId, CredentialsFile.deviceLine(deviceId, secret));
    }

    /**
     * Adds or replaces the key shared by every device whose id starts with {@code prefix}.
     *
     * @throws IllegalArgumentException if the prefix or secret is unusable
     */
    public static void addGroup(Path path, String prefix, String secret) throws IOException {
        CredentialsFile.upsert(path, "group", prefix, CredentialsFile.groupLine(prefix, secret));
    }

    CredentialsFile file() {
        return file;
    }
}
