package io.tether.server.internal.delivery;

import io.tether.server.Command;
import io.tether.server.CommandState;
import io.tether.server.internal.commands.CommandJournal;
import io.tether.server.internal.commands.CommandRecord;
import io.tether.transport.BatchWriter;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The command ledger's journal in the embedded store's {@code commands} column family (layout in
 * {@link StoreLayout}). Writes are group-committed by one writer thread, with the store's sync
 * setting (fsync of the WAL per batch by default): a command is durable when its callback runs.
 *
 * <p>Reads see writes not yet committed: records offered and not yet written stay in an overlay
 * that reads consult first, and leave it once written (unless a newer record of the same command
 * replaced them meanwhile).
 */
final class RocksDbCommandJournal implements CommandJournal {
    private static final byte COMMAND = 'c';
    private static final byte ID = 'i';
    private static final byte KEY = 'k';

    /** The store's current database: it reopens RocksDB when it recovers from a failure. */
    private final Supplier<RocksDbHandle> handles;
    private final WriteOptions writeOptions;
    private final BatchWriter<Item> writer;
    private final Map<String, Command> unwritten = new ConcurrentHashMap<>();
    /** The same records by device and seq: a RESULT finds its command by seq. */
    private final Map<SeqKey, Command> unwrittenBySeq = new ConcurrentHashMap<>();
    /** Idempotency keys ("device\0key") of unwritten new commands → id. */
    private final Map<String, String> unwrittenKeys = new ConcurrentHashMap<>();

    private record Item(Command command, boolean created, Consumer<Throwable> done) {
    }

    RocksDbCommandJournal(Supplier<RocksDbHandle> handles, boolean sync) {
        RocksDbHandle handle = handles.get();
        if (handle.commandsCf == null) {
            throw new IllegalStateException(handle.dir + ": the store has no commands column family");
        }
        this.handles = handles;
        this.writeOptions = new WriteOptions().setSync(sync);
        this.writer = BatchWriter.<Item>builder("tether-commands-writer", this::commit)
                .maxBatch(4096)
                .onFailure(this::failed)
                .start();
    }

    @Override
    public void write(Command c, boolean created, Consumer<Throwable> done) {
        unwritten.put(c.id(), c);
        unwrittenBySeq.put(seqKey(c.deviceId(), c.seq()), c);
        if (created && c.idempotencyKey() != null) {
            unwrittenKeys.put(c.deviceId() + '\0' + c.idempotencyKey(), c.id());
        }
        if (!writer.offer(new Item(c, created, done))) {
            unwritten.remove(c.id(), c);
            unwrittenBySeq.remove(seqKey(c.deviceId(), c.seq()), c);
            done.accept(new IllegalStateException("command journal closed"));
        }
    }

    private void commit(List<Item> batch) throws RocksDBException {
        RocksDbHandle handle = handles.get();
        if (!handle.enter()) {
            throw new IllegalStateException("store closed: " + handle.dir);
        }
        // A batch is written atomically, so of several records of one command in it (DELIVERED and
        // SUCCEEDED usually arrive together) only the last needs its put: no reader, and no
        // restart, can see the ones before it.
        Map<SeqKey, Command> last = new HashMap<>(batch.size() * 2);
        for (Item item : batch) {
            last.put(seqKey(item.command.deviceId(), item.command.seq()), item.command);
        }
        try (WriteBatch wb = new WriteBatch()) {
            for (Item item : batch) {
                Command c = item.command;
                boolean superseded = last.get(seqKey(c.deviceId(), c.seq())) != c;
                if (superseded && !item.created) {
                    continue;
                }
                byte[] device = StoreLayout.deviceBytes(c.deviceId());
                byte[] commandKey = commandKey(device, c.seq());
                if (!superseded) {
                    wb.put(handle.commandsCf, commandKey, CommandRecord.encode(c));
                }
                if (item.created) {
                    byte[] ref = new byte[commandKey.length - 1];
                    System.arraycopy(commandKey, 1, ref, 0, ref.length);
                    wb.put(handle.commandsCf, idKey(c.id()), ref);
                    if (c.idempotencyKey() != null) {
                        wb.put(handle.commandsCf, keyKey(device, c.idempotencyKey()), c.id().getBytes(StandardCharsets.US_ASCII));
                    }
                }
            }
            handle.db.write(writeOptions, wb);
        } finally {
            handle.exit();
        }
        for (Item item : batch) {
            forget(item);
            item.done.accept(null);
        }
    }

    private BatchWriter.Decision failed(List<Item> batch, Throwable error, int attempt) {
        for (Item item : batch) {
            forget(item);
            item.done.accept(error);
        }
        return BatchWriter.Decision.drop();
    }

    private void forget(Item item) {
        Command c = item.command;
        unwritten.remove(c.id(), c);
        unwrittenBySeq.remove(seqKey(c.deviceId(), c.seq()), c);
        if (item.created && c.idempotencyKey() != null) {
            unwrittenKeys.remove(c.deviceId() + '\0' + c.idempotencyKey(), c.id());
        }
    }

    @Override
    public void load(Consumer<Command> each) throws IOException {
        RocksDbHandle handle = handles.get();
        guarded(handle, () -> {
            try (RocksIterator it = handle.db.newIterator(handle.commandsCf)) {
                for (it.seek(new byte[] {COMMAND}); it.isValid(); it.next()) {
                    byte[] k = it.key();
                    if (k[0] != COMMAND) {
                        break;
                    }
                    each.accept(decode(k, it.value()));
                }
            }
            return null;
        });
    }

    @Override
    public Command read(String id) throws IOException {
        Command c = unwritten.get(id);
        if (c != null) {
            return c;
        }
        RocksDbHandle handle = handles.get();
        return guarded(handle, () -> {
            byte[] ref = handle.db.get(handle.commandsCf, idKey(id));
            if (ref == null) {
                return null;
            }
            byte[] k = new byte[ref.length + 1];
            k[0] = COMMAND;
            System.arraycopy(ref, 0, k, 1, ref.length);
            byte[] v = handle.db.get(handle.commandsCf, k);
            return v == null ? null : decode(k, v);
        });
    }

    @Override
    public Command read(String deviceId, long seq) throws IOException {
        Command c = unwrittenBySeq.get(seqKey(deviceId, seq));
        if (c != null) {
            return c;
        }
        RocksDbHandle handle = handles.get();
        return guarded(handle, () -> {
            byte[] k = commandKey(StoreLayout.deviceBytes(deviceId), seq);
            byte[] v = handle.db.get(handle.commandsCf, k);
            return v == null ? null : decode(k, v);
        });
    }

    @Override
    public Command byKey(String deviceId, String key) throws IOException {
        String id = unwrittenKeys.get(deviceId + '\0' + key);
        if (id == null) {
            RocksDbHandle handle = handles.get();
            byte[] v = guarded(handle, () -> handle.db.get(handle.commandsCf, keyKey(StoreLayout.deviceBytes(deviceId), key)));
            if (v == null) {
                return null;
            }
            id = new String(v, StandardCharsets.US_ASCII);
        }
        return read(id);
    }

    @Override
    public List<Command> list(String deviceId, Set<CommandState> states, int limit) throws IOException {
        List<Command> out = new ArrayList<>();
        byte[] prefix = commandKey(StoreLayout.deviceBytes(deviceId), 0);
        int prefixLength = prefix.length - 8;
        RocksDbHandle handle = handles.get();
        guarded(handle, () -> {
            try (RocksIterator it = handle.db.newIterator(handle.commandsCf)) {
                for (it.seek(prefix); it.isValid() && out.size() < limit; it.next()) {
                    byte[] k = it.key();
                    if (k.length != prefix.length || !samePrefix(k, prefix, prefixLength)) {
                        break;
                    }
                    Command c = decode(k, it.value());
                    Command newer = unwritten.get(c.id());
                    if (newer != null) {
                        c = newer;
                    }
                    if (states.isEmpty() || states.contains(c.state())) {
                        out.add(c);
                    }
                }
            }
            return null;
        });
        // New commands not written yet, which a finished state (a quick cancel) may already have left memory.
        for (Command c : unwritten.values()) {
            if (c.deviceId().equals(deviceId) && (states.isEmpty() || states.contains(c.state()))
                    && out.stream().noneMatch(o -> o.id().equals(c.id()))) {
                out.add(c);
            }
        }
        out.sort((a, b) -> Long.compare(a.seq(), b.seq()));
        return out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out;
    }

    @Override
    public boolean durable() {
        return true;
    }

    /** Writes what was offered, then stops. Before the store's handle closes. */
    @Override
    public void close() {
        writer.close();
        writeOptions.close();
    }

    private interface Read<T> {
        T run() throws RocksDBException;
    }

    private static <T> T guarded(RocksDbHandle handle, Read<T> read) throws IOException {
        if (!handle.enter()) {
            throw new IOException("store closed: " + handle.dir);
        }
        try {
            return read.run();
        } catch (RocksDBException e) {
            throw new IOException(handle.dir + ": " + RocksDbHandle.describe(e), e);
        } finally {
            handle.exit();
        }
    }

    /** A record key, not a concatenated string: the ledger writes four records per command, each put and removed here. */
    private record SeqKey(String deviceId, long seq) {
    }

    private static SeqKey seqKey(String deviceId, long seq) {
        return new SeqKey(deviceId, seq);
    }

    private static Command decode(byte[] key, byte[] value) {
        int deviceLength = key.length - 1 - 1 - 8;
        String device = new String(key, 1, deviceLength, StandardCharsets.US_ASCII);
        long seq = StoreLayout.getLong(key, key.length - 8);
        return CommandRecord.decode(device, seq, value);
    }

    private static byte[] commandKey(byte[] device, long seq) {
        byte[] k = new byte[1 + device.length + 1 + 8];
        k[0] = COMMAND;
        System.arraycopy(device, 0, k, 1, device.length);
        StoreLayout.putLong(k, device.length + 2, seq);
        return k;
    }

    private static byte[] idKey(String id) {
        byte[] b = id.getBytes(StandardCharsets.US_ASCII);
        byte[] k = new byte[1 + b.length];
        k[0] = ID;
        System.arraycopy(b, 0, k, 1, b.length);
        return k;
    }

    private static byte[] keyKey(byte[] device, String key) {
        byte[] kb = key.getBytes(StandardCharsets.US_ASCII);
        byte[] k = new byte[1 + device.length + 1 + kb.length];
        k[0] = KEY;
        System.arraycopy(device, 0, k, 1, device.length);
        System.arraycopy(kb, 0, k, device.length + 2, kb.length);
        return k;
    }

    private static boolean samePrefix(byte[] a, byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }
}
