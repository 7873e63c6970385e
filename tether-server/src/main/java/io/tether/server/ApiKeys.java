package io.tether.server;

import io.tether.server.internal.api.ApiKeyFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The API keys file of the HTTP API ({@link TetherServer.Builder#apiKeys(ApiKeys)}): one line per
 * key, {@code key NAME SHA256}, holding the SHA-256 of each key, never the key. A key is
 * {@code tk_} followed by 32 random bytes in base64url without padding; {@link #add} makes one and
 * returns it, once. Applications send it as {@code Authorization: Bearer tk_...}.
 *
 * <p>Thread-safe. A {@link #reload} that fails leaves the previous keys in force.
 */
public final class ApiKeys {
    private final ApiKeyFile file;

    private ApiKeys(ApiKeyFile file) {
        this.file = file;
    }

    /**
     * Reads {@code path}.
     *
     * @throws IOException if it cannot be read, a line is malformed (the message names the file
     *                     and the line), or it holds no key
     */
    public static ApiKeys load(Path path) throws IOException {
        return new ApiKeys(ApiKeyFile.load(Objects.requireNonNull(path, "path")));
    }

    /** The file read. */
    public Path path() {
        return file.path();
    }

    /** Keys in force. */
    public int size() {
        return file.size();
    }

    /**
     * Re-reads the file if it changed (or always, if {@code force}). A file with no keys is
     * accepted here: removing the last key revokes it.
     *
     * @return whether new keys are in force
     * @throws IOException if the file is gone, unreadable or malformed; the previous keys stay in force
     */
    public boolean reload(boolean force) throws IOException {
        return file.reload(force);
    }

    /**
     * Adds a new random key named {@code name} to {@code path} (created owner-only, 0600, if
     * absent; an existing file keeps its mode and owner) and returns it. Only its hash is
     * written: the returned key is the one copy.
     *
     * @param name 1 to 64 letters, digits, '.', '_' or '-'; unique in the file
     * @throws IllegalArgumentException if the name is malformed or already in the file
     * @throws IOException              if the file is not an API keys file (left untouched) or
     *                                  cannot be written
     */
    public static String add(Path path, String name) throws IOException {
        return ApiKeyFile.add(Objects.requireNonNull(path, "path"), name);
    }

    /**
     * Removes the key named {@code name} from {@code path}; a running server refuses it from its
     * next reload on.
     *
     * @return whether there was such a key
     * @throws IOException if the file is missing, not an API keys file, or cannot be written
     */
    public static boolean remove(Path path, String name) throws IOException {
        return ApiKeyFile.remove(Objects.requireNonNull(path, "path"), Objects.requireNonNull(name, "name"));
    }

    /**
     * The names of the keys in {@code path}, in file order (an empty file gives an empty list).
     *
     * @throws IOException if the file is missing or not an API keys file
     */
    public static List<String> names(Path path) throws IOException {
        return ApiKeyFile.names(Objects.requireNonNull(path, "path"));
    }

    ApiKeyFile file() {
        return file;
    }

    @Override
    public String toString() {
        return "ApiKeys[" + file.path() + ", " + file.size() + " keys]";
    }
}
