package io.tether.client.internal;

import io.tether.protocol.Protocol;
import io.tether.transport.BatchWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * The outbox on disk: an append-only journal of what a restart needs to resend every unacknowledged
 * message, in order, under the number it may already have been stored with.
 *
 * <h2>Format (versions 1 and 2)</h2>
 * All integers big-endian.
 * <pre>
 * file    = magic "TOBX" (4 bytes), version u32 = 1 or 2, record*
 * record  = length u32, crc u32, type u8, body (length - 1 bytes)
 *           length counts type + body; crc is CRC-32C over the 4 length bytes, the type and the body
 * DEVICE  0x01  id_len u8, device_id          always the first record: whose seq space this is
 * MSG     0x02  id u64, seq u64, payload      a message accepted by send(); seq 0 = not numbered yet
 * SEQ     0x03  id u64, seq u64               message id got number seq
 * ACK     0x04  seq u64                       every seq &lt;= this is stored by the server
 * DROP    0x05  id u64                        message id was refused (too large) and is gone
 * Version 2 only (a client that takes commands):
 * DONE    0x06  seq u64                       command seq was processed, without a result
 * RESULT  0x07  seq u64, status u8, payload   command seq was processed; its result awaits RESULT_ACK
 * RACK    0x08  seq u64                       the server stored the result of command seq
 * </pre>
 * Version 2 adds the command records and nothing else: the highest command seq processed
 * ({@code max} over DONE and RESULT) and the results not yet acknowledged replay from them. A file
 * is version 2 once a client with a command handler opened it: a version 1 file is upgraded in
 * place then (its header's version field rewritten and forced, before any command record), so an
 * older SDK refuses the file with a clear error instead of truncating at a record it does not know.
 * A version 2 file opened without a command handler stays version 2 and keeps its command state.
 * Ids are local to the file and increase. Replaying the records in order gives the unacknowledged
 * messages (numbered ones by seq, then unnumbered ones in file order) and the next seq
 * ({@code max(highest seq, ACK watermark) + 1}). Loading stops at the first record that is short
 * (a write torn by a crash), fails its CRC, or makes no sense; the file is truncated there, so
 * appends never land behind garbage. Everything before it is kept. (A damaged record in the middle,
 * which only failing storage produces, takes what follows with it: once a length is untrustworthy
 * the next record boundary is unknown. The loss is logged with its offset and size.)
 *
 * <h2>Durability rules</h2>
 * <ul>
 *   <li>MSG is written (and forced, if {@code sync}) before send() returns: {@link #append} then
 *       {@link #awaitWritten}.</li>
 *   <li>SEQ is written (and forced) before the message goes on the wire ({@link #numbered} returns
 *       the ticket the outbox waits for). Otherwise a crash between the DATA and the SEQ record would
 *       reload the message unnumbered, and it would be stored a second time under a new number.</li>
 *   <li>ACK and DROP are written but not forced on their own: losing one costs nothing, since the
 *       next WELCOME's last_seq covers the ACK, and a too-large message is refused again.</li>
 *   <li>DONE and RESULT are written and forced before the COMMAND_ACK goes on the wire (the
 *       command thread waits in {@link #awaitWritten}): once the server may hold the ACK, a restart
 *       must know the command was processed. RACK is not forced: losing one only resends a result,
 *       which the server acknowledges again.</li>
 * </ul>
 * Records are written by one writer thread per file (a {@link BatchWriter}), in the order they
 * were queued; a batch of whatever queued up while the previous batch was being forced goes out
 * with one force (group commit). The event loop only queues records and never waits for the disk.
 *
 * <h2>Compaction</h2>
 * When acknowledged records take at least {@code compactBytes} and at least as much as the live
 * ones, the writer rewrites the live state (DEVICE, ACK watermark, unacknowledged MSGs with their
 * seq) to {@code <file>.compact}, forces it, renames it over the file ({@code ATOMIC_MOVE}) and
 * forces the directory. A crash leaves either the old or the new file, both complete; a leftover
 * {@code .compact} file is deleted on open.
 *
 * <h2>Locking</h2>
 * {@code <file>.lock} is locked ({@link FileChannel#tryLock()}) for the lifetime of the instance.
 * The lock is on a separate file because compaction replaces the journal's inode: a lock held on
 * the old inode would not keep a second process from opening and locking the new one.
 */
public final class OutboxFile implements Outbox.Journal {
    private static final Logger log = LoggerFactory.getLogger(OutboxFile.class);

    static final int MAGIC = 0x544F4258; // "TOBX"
    static final int VERSION = 1;
    /** The format with command records; written by clients that take commands. */
    static final int VERSION_COMMANDS = 2;
    static final int FILE_HEADER_SIZE = 8;
    /** length u32 + crc u32 + type u8. */
    static final int RECORD_OVERHEAD = 9;
    static final byte DEVICE = 1;
    static final byte MSG = 2;
    static final byte SEQ = 3;
    static final byte ACK = 4;
    static final byte DROP = 5;
    static final byte DONE = 6;
    static final byte RESULT = 7;
    static final byte RACK = 8;
    /** Largest RESULT payload: a RESULT frame's body is seq u64 + status u8 + payload. */
    static final int MAX_RESULT_PAYLOAD = Protocol.DEFAULT_MAX_FRAME_LENGTH - Protocol.HEADER_SIZE - 9;
    static final int MAX_PAYLOAD = Protocol.DEFAULT_MAX_FRAME_LENGTH - Protocol.HEADER_SIZE - 8;
    private static final int MAX_RECORD_LENGTH = 1 + 16 + MAX_PAYLOAD;
    private static final int WRITE_BUFFER_SIZE = 128 * 1024;
    /** File header plus the longest DEVICE record: what creating a file writes, in one write. */
    private static final int MAX_TORN_CREATION = FILE_HEADER_SIZE + RECORD_OVERHEAD + 1 + Protocol.MAX_DEVICE_ID_LENGTH;

    /** Default for {@code compactBytes}: rewrite once at least 1 MiB of the file is acknowledged. */
    public static final long DEFAULT_COMPACT_BYTES = 1L << 20;

    private final Path path;
    private final Path compactPath;
    private final String deviceId;
    private final boolean sync;
    private final long compactBytes;
    private final FileChannel lockChannel;
    private final byte[] deviceRecordBody;
    /** Whether the client takes commands: the file is then (made) version 2. */
    private final boolean commands;
    /** The file's format version, as in its header. */
    private int version;

    // Writer thread only (the opening thread until start()).
    private FileChannel channel;
    private long size;
    private final Live live = new Live();
    private final ByteBuffer buf = ByteBuffer.allocate(WRITE_BUFFER_SIZE);
    private final CRC32C crc = new CRC32C();
    private boolean unforced;
    private long compactionRetryAt;
    /** Written by the writer thread only; volatile for tests that watch it. */
    private volatile long compactions;

    // Guarded by this.
    /** Records queued before {@link #start}; null after. */
    private List<Rec> early = new ArrayList<>();
    /** The record queued last, for ACKs to coalesce into while the writer has not taken it. */
    private Rec lastQueued;
    private long enqueued;
    private long nextId;
    private long ackQueued;
    private boolean closing;
    private boolean held;
    private IOException failure;
    private BatchWriter<Rec> writer;

    /** Highest ticket written (and forced, if sync). Written under this, read anywhere. */
    private volatile long durable;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private Runnable onDurable = () -> { };
    private Consumer<IOException> onFailure = e -> { };
    private List<Outbox.Entry> restored;
    private long restoredNextSeq;

    private OutboxFile(Path path, String deviceId, boolean sync, long compactBytes, boolean commands,
                       FileChannel lockChannel) {
        this.commands = commands;
        this.path = path;
        this.compactPath = path.resolveSibling(path.getFileName() + ".compact");
        this.deviceId = deviceId;
        this.sync = sync;
        this.compactBytes = compactBytes;
        this.lockChannel = lockChannel;
        byte[] id = deviceId.getBytes(StandardCharsets.US_ASCII);
        deviceRecordBody = new byte[1 + id.length];
        deviceRecordBody[0] = (byte) id.length;
        System.arraycopy(id, 0, deviceRecordBody, 1, id.length);
    }

    /**
     * Locks and loads {@code path} (created if absent), ready to {@link #restoreInto} an outbox and
     * {@link #start}.
     *
     * @param compactBytes acknowledged bytes that make compaction worth it (and at least as many as
     *                     the live ones)
     * @throws IllegalStateException if another client holds the file, it is not an outbox file, or it
     *                               belongs to another device id
     * @throws IOException           if it cannot be created, read or locked
     */
    public static OutboxFile open(Path path, String deviceId, boolean sync, long compactBytes) throws IOException {
        return open(path, deviceId, sync, compactBytes, false);
    }

    /**
     * Like {@link #open(Path, String, boolean, long)}; with {@code commands}, a version 1 file is
     * upgraded to version 2 (a new file is created as version 2) so that command records may follow.
     */
    public static OutboxFile open(Path path, String deviceId, boolean sync, long compactBytes, boolean commands)
            throws IOException {
        if (compactBytes < 1) {
            throw new IllegalArgumentException("compactBytes: " + compactBytes + " (expected: >= 1)");
        }
        Path file = path.toAbsolutePath();
        Path lockPath = file.resolveSibling(file.getFileName() + ".lock");
        FileChannel lockChannel = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by another channel of this JVM
        } catch (IOException | RuntimeException e) {
            lockChannel.close();
            throw e;
        }
        if (lock == null) {
            lockChannel.close();
            throw new IllegalStateException("outboxFile " + file + " is in use by another client (" + lockPath
                    + " is locked); one outbox file serves one client at a time");
        }
        OutboxFile f = new OutboxFile(file, deviceId, sync, compactBytes, commands, lockChannel);
        try {
            f.load();
        } catch (IOException | RuntimeException e) {
            f.closeChannels();
            throw e;
        }
        return f;
    }

    /** The journal's path (absolute). */
    public Path path() {
        return path;
    }

    // ---------------------------------------------------------------- load, opening thread

    private void load() throws IOException {
        Files.deleteIfExists(compactPath); // a compaction interrupted before its rename
        channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        long fileSize = channel.size();
        long valid = 0;
        String storedDevice = null;
        String stopReason = null;
        if (fileSize >= FILE_HEADER_SIZE) {
            InputStream in = new BufferedInputStream(Channels.newInputStream(channel.position(0)), 64 * 1024);
            DataInputStream data = new DataInputStream(in);
            int magic = data.readInt();
            int version = data.readInt();
            if (magic != MAGIC) {
                throw new IllegalStateException("outboxFile " + path + " is not a Tether outbox file (magic 0x"
                        + Integer.toHexString(magic) + ", expected: 0x" + Integer.toHexString(MAGIC) + ")");
            }
            if (version != VERSION && version != VERSION_COMMANDS) {
                throw new IllegalStateException("outboxFile " + path + ": format version " + version
                        + " (expected: " + VERSION + " or " + VERSION_COMMANDS + "; written by a newer SDK?)");
            }
            this.version = version;
            live.commandRecords = version >= VERSION_COMMANDS;
            valid = FILE_HEADER_SIZE;
            byte[] head = new byte[8];
            for (;;) {
                if (!readFully(data, head)) {
                    stopReason = valid == fileSize ? null : "torn record header";
                    break;
                }
                int length = ByteBuffer.wrap(head).getInt(0);
                int storedCrc = ByteBuffer.wrap(head).getInt(4);
                if (length < 1 || length > MAX_RECORD_LENGTH) {
                    stopReason = "bad record length " + Integer.toUnsignedString(length);
                    break;
                }
                byte[] rec = new byte[length];
                if (!readFully(data, rec)) {
                    stopReason = "torn record";
                    break;
                }
                crc.reset();
                crc.update(head, 0, 4);
                crc.update(rec);
                if ((int) crc.getValue() != storedCrc) {
                    stopReason = "CRC mismatch";
                    break;
                }
                if (storedDevice == null) {
                    if (rec[0] != DEVICE || length < 2 || (rec[1] & 0xFF) != length - 2) {
                        throw new IllegalStateException("outboxFile " + path
                                + " is not a Tether outbox file (no device record)");
                    }
                    storedDevice = new String(rec, 2, length - 2, StandardCharsets.US_ASCII);
                    if (!storedDevice.equals(deviceId)) {
                        throw new IllegalStateException("outboxFile " + path + " belongs to device id \""
                                + storedDevice + "\", not \"" + deviceId + "\"; use one file per device id");
                    }
                } else if (!live.apply(rec)) {
                    stopReason = "malformed record of type " + rec[0];
                    break;
                }
                valid += 8 + length;
            }
        } else if (fileSize > 0) {
            byte[] head = new byte[(int) fileSize];
            channel.read(ByteBuffer.wrap(head), 0);
            byte[] magic = ByteBuffer.allocate(4).putInt(MAGIC).array();
            for (int i = 0; i < Math.min(4, head.length); i++) {
                if (head[i] != magic[i]) {
                    throw new IllegalStateException("outboxFile " + path + " is not a Tether outbox file");
                }
            }
            stopReason = "torn file header";
        }
        if (storedDevice == null && fileSize > MAX_TORN_CREATION) {
            throw new IllegalStateException("outboxFile " + path + " is corrupt: " + stopReason
                    + " in its device record; not overwriting " + fileSize + " bytes");
        }
        if (storedDevice == null) {
            // New, or its creation (one write of at most MAX_TORN_CREATION bytes) was torn: start afresh.
            channel.truncate(0);
            size = 0;
            version = commands ? VERSION_COMMANDS : VERSION;
            live.commandRecords = commands;
            buf.clear();
            buf.putInt(MAGIC).putInt(version);
            putRecord(DEVICE, 0, 0, 0, deviceRecordBody);
            flushBuffer();
            forceIfSync();
            if (sync) {
                syncDirectory(); // the file's name must survive a power loss too
            }
        } else {
            if (valid < fileSize) {
                log.warn("outboxFile {}: {} at offset {}; discarding the last {} bytes (a write torn by a crash"
                        + " or a corrupt record); everything before is kept", path, stopReason, valid, fileSize - valid);
                channel.truncate(valid);
                forceIfSync();
            }
            size = valid;
            if (commands && version < VERSION_COMMANDS) {
                // Before any command record: an older SDK must refuse the file rather than cut it short.
                channel.write(ByteBuffer.allocate(4).putInt(0, VERSION_COMMANDS), 4);
                channel.force(false);
                version = VERSION_COMMANDS;
                live.commandRecords = true;
            }
        }
        nextId = live.maxId + 1;
        ackQueued = live.acked;
        restoredNextSeq = Math.max(live.maxSeq, live.acked) + 1;
        restored = new ArrayList<>(live.size());
        for (Msg m : live.bySeq.values()) {
            restored.add(Outbox.Entry.restored(m.payload, m.seq, m.id));
        }
        for (Msg m : live.unnumbered.values()) {
            restored.add(Outbox.Entry.restored(m.payload, 0, m.id));
        }
        maybeCompact();
    }

    /** Reads {@code b} fully; false at end of file, even part-way (a torn tail). */
    private static boolean readFully(DataInputStream in, byte[] b) throws IOException {
        try {
            in.readFully(b);
            return true;
        } catch (EOFException e) {
            return false;
        }
    }

    /**
     * Puts the reloaded messages into {@code outbox} (numbered ones by seq, then unnumbered ones)
     * and its next seq. Call once, before {@link #start}.
     *
     * @return how many messages were reloaded
     */
    public int restoreInto(Outbox outbox) {
        int n = restored.size();
        for (Outbox.Entry e : restored) {
            outbox.restore(e);
        }
        outbox.restoreNextSeq(restoredNextSeq);
        restored = null;
        return n;
    }

    /** The highest command seq processed, as the file says; 0 if none. */
    public long lastProcessedCommand() {
        return live.lastProcessed;
    }

    /** A command's result the server has not acknowledged yet. */
    public record StoredResult(long seq, int status, byte[] payload) {
    }

    /** The results not yet acknowledged by the server, in seq order, as loaded. Call before {@link #start}. */
    public List<StoredResult> unackedResults() {
        List<StoredResult> out = new ArrayList<>(live.results.size());
        for (Map.Entry<Long, byte[]> e : live.results.entrySet()) {
            byte[] body = e.getValue();
            out.add(new StoredResult(e.getKey(), body[0] & 0xFF, java.util.Arrays.copyOfRange(body, 1, body.length)));
        }
        return out;
    }

    /**
     * Starts the writer thread.
     *
     * @param onDurable called on the writer thread after a batch made a numbering durable (the
     *                  outbox may now write more); must not block
     * @param onFailure called on the writer thread once if a write fails; the file then refuses
     *                  every further record
     */
    public synchronized void start(String threadName, Runnable onDurable, Consumer<IOException> onFailure) {
        this.onDurable = onDurable;
        this.onFailure = onFailure;
        // A daemon thread: nothing is lost if the JVM exits under it, since send() returns only
        // after its record is written. Unbounded: the outbox bounds the messages it holds.
        writer = BatchWriter.builder(threadName, this::writeBatch).onFailure(this::writeFailed).start();
        for (Rec r : early) {
            writer.offer(r);
        }
        early = null;
    }

    // ---------------------------------------------------------------- records, any thread

    /**
     * Queues the MSG record of a message accepted by send() and gives it its journal id.
     *
     * @return the ticket to {@link #awaitWritten}, or -1 if the file is closed or failed (nothing queued)
     */
    public long append(Outbox.Entry e) {
        synchronized (this) {
            if (closing || failure != null) {
                return -1;
            }
            e.journalId = nextId++;
            return enqueue(new Rec(MSG, e.journalId, 0, e.payload()));
        }
    }

    /**
     * Blocks until the record of {@code ticket} is written (and forced, if sync), or the file failed.
     * Not interruptible (the record is queued either way); an interrupt is kept for the caller.
     *
     * @return whether it was written
     */
    public boolean awaitWritten(long ticket) {
        if (durable >= ticket) {
            return true;
        }
        boolean interrupted = false;
        synchronized (this) {
            while (durable < ticket && failure == null && !closed.isDone()) {
                try {
                    wait();
                } catch (InterruptedException ie) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return durable >= ticket;
    }

    /**
     * Queues the record that command {@code seq} was processed: with its result ({@code status} 0
     * or 1 and {@code payload}) or without one ({@code status} -1). It is forced (if sync) like a
     * message; {@link #awaitWritten} the ticket before acknowledging the command.
     *
     * @return the ticket, or -1 if the file is closed or failed (nothing queued: do not acknowledge)
     * @throws IllegalStateException if the file was not opened for commands
     */
    public long processed(long seq, int status, byte[] payload) {
        if (!commands) {
            throw new IllegalStateException("outboxFile " + path + " was not opened for commands");
        }
        byte[] body = null;
        if (status >= 0) {
            body = new byte[1 + payload.length];
            body[0] = (byte) status;
            System.arraycopy(payload, 0, body, 1, payload.length);
        }
        synchronized (this) {
            if (closing || failure != null) {
                return -1;
            }
            return enqueue(new Rec(status < 0 ? DONE : RESULT, 0, seq, body));
        }
    }

    /** The server stored the result of command {@code seq}; not forced (a loss only resends it). */
    public void resultAcked(long seq) {
        synchronized (this) {
            if (commands && !closing && failure == null) {
                enqueue(new Rec(RACK, 0, seq, null));
            }
        }
    }

    @Override
    public long numbered(Outbox.Entry e) {
        synchronized (this) {
            if (closing || failure != null) {
                return Long.MAX_VALUE; // never durable: the client is stopping anyway
            }
            return enqueue(new Rec(SEQ, e.journalId, e.seq(), null));
        }
    }

    @Override
    public long durable() {
        return durable;
    }

    @Override
    public void acked(long seq) {
        synchronized (this) {
            if (seq <= ackQueued || closing || failure != null) {
                return;
            }
            ackQueued = seq;
            // ACKs come in bursts; only the highest matters, so one queued record carries it.
            if (lastQueued != null && lastQueued.type == ACK && !lastQueued.taken) {
                lastQueued.seq = seq;
            } else {
                enqueue(new Rec(ACK, 0, seq, null));
            }
        }
    }

    @Override
    public void rejected(Outbox.Entry e) {
        synchronized (this) {
            if (!closing && failure == null) {
                enqueue(new Rec(DROP, e.journalId, 0, null));
            }
        }
    }

    /** Under this, and only while neither closing nor failed: the writer then takes every offer. */
    private long enqueue(Rec r) {
        r.ticket = ++enqueued;
        lastQueued = r;
        if (writer == null) {
            early.add(r);
        } else {
            writer.offer(r);
        }
        return r.ticket;
    }

    /**
     * Writes what is queued, forces it (if sync, or if acknowledgements are unforced), closes the
     * file and releases the lock. Records queued after this call are refused. Idempotent.
     *
     * @return completes once the lock is released
     */
    public CompletableFuture<Void> close() {
        BatchWriter<Rec> w;
        synchronized (this) {
            if (closing) {
                return closed;
            }
            closing = true;
            notifyAll();
            w = writer;
        }
        if (w == null) {
            closeChannels();
            closed.complete(null);
        } else {
            w.closeAsync().whenComplete((v, t) -> finish());
        }
        return closed;
    }

    // ---------------------------------------------------------------- writer thread

    /** The writer's sink: one batch of records, in queue order. */
    private void writeBatch(List<Rec> batch) throws IOException {
        synchronized (this) {
            while (held && !closing) {
                try {
                    wait();
                } catch (InterruptedException ignored) {
                    // Only close() releases a hold: queued records must be written.
                }
            }
            if (failure != null) {
                return; // the file takes no more records after a failed write
            }
            for (Rec r : batch) {
                r.taken = true; // from here on an ACK's seq is ours to read
            }
        }
        boolean gating = write(batch);
        long last = batch.get(batch.size() - 1).ticket;
        synchronized (this) {
            durable = last;
            notifyAll();
        }
        if (gating) {
            try {
                onDurable.run();
            } catch (RuntimeException e) {
                log.warn("outboxFile {}: durability callback threw", path, e);
            }
        }
        maybeCompact();
    }

    /** The writer's failure policy: a failed write ends the file's service; later batches are skipped. */
    private BatchWriter.Decision writeFailed(List<Rec> batch, Throwable error, int attempt) {
        IOException e = error instanceof IOException io ? io : new IOException(error.toString(), error);
        log.warn("outboxFile {}: write failed; the file takes no more records (those written are kept)", path, e);
        synchronized (this) {
            failure = e;
            notifyAll();
        }
        try {
            onFailure.accept(e);
        } catch (RuntimeException re) {
            log.warn("outboxFile {}: failure callback threw", path, re);
        }
        return BatchWriter.Decision.drop();
    }

    /** After the writer's last batch: force what is unforced, close the file, release the lock. */
    private void finish() {
        try {
            if (unforced && sync && failure == null) {
                channel.force(false);
            }
        } catch (IOException e) {
            log.warn("outboxFile {}: final force failed", path, e);
        } finally {
            closeChannels();
            synchronized (this) {
                closed.complete(null);
                notifyAll();
            }
        }
    }

    /** Appends a batch; returns whether it made a numbering durable (SEQ records). */
    private boolean write(List<Rec> batch) throws IOException {
        boolean mustForce = false;
        boolean gating = false;
        buf.clear();
        for (Rec r : batch) {
            switch (r.type) {
                case MSG -> {
                    putRecord(MSG, r.id, r.seq, 2, r.payload);
                    mustForce = true;
                }
                case SEQ -> {
                    putRecord(SEQ, r.id, r.seq, 2, null);
                    mustForce = true;
                    gating = true;
                }
                case ACK -> putRecord(ACK, r.seq, 0, 1, null);
                case DROP -> putRecord(DROP, r.id, 0, 1, null);
                case DONE -> {
                    putRecord(DONE, r.seq, 0, 1, null);
                    mustForce = true;
                }
                case RESULT -> {
                    putRecord(RESULT, r.seq, 0, 1, r.payload);
                    mustForce = true;
                }
                case RACK -> putRecord(RACK, r.seq, 0, 1, null);
                default -> throw new IllegalStateException("record type " + r.type);
            }
        }
        flushBuffer();
        if (mustForce) {
            forceIfSync();
        } else {
            unforced = true;
        }
        for (Rec r : batch) {
            live.apply(r);
        }
        return gating;
    }

    /**
     * Encodes one record into {@link #buf}, first writing out what is buffered if it does not fit.
     * {@code longs} says how many of {@code a}, {@code b} belong to the body, before {@code tail}.
     */
    private void putRecord(byte type, long a, long b, int longs, byte[] tail) throws IOException {
        int length = 1 + 8 * longs + (tail == null ? 0 : tail.length);
        if (buf.remaining() < 8 + length) {
            flushBuffer();
        }
        int start = buf.position();
        buf.putInt(length).putInt(0).put(type);
        if (longs > 0) {
            buf.putLong(a);
        }
        if (longs > 1) {
            buf.putLong(b);
        }
        if (tail != null) {
            buf.put(tail);
        }
        crc.reset();
        crc.update(buf.array(), start, 4);
        crc.update(buf.array(), start + 8, length);
        buf.putInt(start + 4, (int) crc.getValue());
    }

    private void flushBuffer() throws IOException {
        flushBuffer(channel);
    }

    private void flushBuffer(FileChannel to) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            // Positional: the file's end is ours to track; no other writer and no APPEND mode.
            size += to.write(buf, size);
        }
        buf.clear();
    }

    private void forceIfSync() throws IOException {
        if (sync) {
            // On Linux force(false) is fdatasync(2): it also persists the grown file size, which
            // reading the data back needs; it skips only timestamps.
            channel.force(false);
            unforced = false;
        }
    }

    /** Rewrites the file when acknowledged records outweigh the live ones; failures are not fatal. */
    private void maybeCompact() {
        long compacted = compactedSize();
        long dead = size - compacted;
        if (dead < compactBytes || dead < compacted || size < compactionRetryAt) {
            return;
        }
        long before = size;
        try {
            compact();
            compactions = compactions + 1;
            log.debug("outboxFile {}: compacted {} -> {} bytes ({} messages kept)", path, before, size, live.size());
        } catch (IOException e) {
            compactionRetryAt = before + compactBytes;
            log.warn("outboxFile {}: compaction failed; appending to the old file and retrying after {} more bytes",
                    path, compactBytes, e);
        }
    }

    /** The size {@link #compact()} would produce: header, DEVICE, ACK, live MSGs, DONE, unacknowledged RESULTs. */
    private long compactedSize() {
        return FILE_HEADER_SIZE + RECORD_OVERHEAD + deviceRecordBody.length
                + (live.acked > 0 ? RECORD_OVERHEAD + 8 : 0) + live.liveBytes
                + (live.lastProcessed > 0 ? RECORD_OVERHEAD + 8 : 0);
    }

    private void compact() throws IOException {
        FileChannel out = FileChannel.open(compactPath, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileChannel old = channel;
        long oldSize = size;
        boolean done = false;
        try {
            channel = out;
            size = 0;
            buf.clear();
            buf.putInt(MAGIC).putInt(version);
            putRecord(DEVICE, 0, 0, 0, deviceRecordBody);
            if (live.lastProcessed > 0) {
                putRecord(DONE, live.lastProcessed, 0, 1, null);
            }
            for (Map.Entry<Long, byte[]> e : live.results.entrySet()) {
                putRecord(RESULT, e.getKey(), 0, 1, e.getValue());
            }
            if (live.acked > 0) {
                putRecord(ACK, live.acked, 0, 1, null);
            }
            for (Msg m : live.bySeq.values()) {
                putRecord(MSG, m.id, m.seq, 2, m.payload);
            }
            for (Msg m : live.unnumbered.values()) {
                putRecord(MSG, m.id, 0, 2, m.payload);
            }
            flushBuffer();
            // Always forced, whatever the sync setting: the rename must never expose a file whose
            // content is not on disk yet, or a crash would replace a good journal with a hollow one.
            out.force(true);
            Files.move(compactPath, path, StandardCopyOption.ATOMIC_MOVE);
            done = true;
        } finally {
            if (!done) {
                channel = old;
                size = oldSize;
                buf.clear();
                out.close();
                Files.deleteIfExists(compactPath);
            }
        }
        syncDirectory();
        unforced = false;
        old.close();
    }

    private void syncDirectory() {
        Path dir = path.getParent();
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | RuntimeException e) {
            // Some platforms cannot open or force a directory; the rename is atomic there regardless.
        }
    }

    private void closeChannels() {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException e) {
            log.debug("outboxFile {}: close failed", path, e);
        }
        try {
            lockChannel.close(); // releases the lock
        } catch (IOException e) {
            log.debug("outboxFile {}: closing the lock file failed", path, e);
        }
    }

    /**
     * <b>For tests.</b> While held, the writer writes nothing (as if the disk were stalled): it
     * waits with the batch it took, and records queue behind it; closing releases it.
     */
    public synchronized void holdWrites(boolean hold) {
        held = hold;
        notifyAll();
    }

    /** For tests: how many compactions ran. */
    long compactions() {
        return compactions;
    }

    // ---------------------------------------------------------------- model

    /** A queued record. {@code seq} is mutable so that queued ACKs coalesce (under the file's lock). */
    private static final class Rec {
        final byte type;
        final long id;
        long seq;
        /** Set by the writer, under the file's lock, once it writes the record: seq is final then. */
        boolean taken;
        long ticket;
        final byte[] payload;

        Rec(byte type, long id, long seq, byte[] payload) {
            this.type = type;
            this.id = id;
            this.seq = seq;
            this.payload = payload;
        }
    }

    private static final class Msg {
        final long id;
        long seq;
        final byte[] payload;

        Msg(long id, long seq, byte[] payload) {
            this.id = id;
            this.seq = seq;
            this.payload = payload;
        }

        long compactedRecordSize() {
            return RECORD_OVERHEAD + 16 + payload.length;
        }
    }

    /** What the records so far say: the unacknowledged messages, the watermark, the counters. */
    static final class Live {
        final NavigableMap<Long, Msg> bySeq = new TreeMap<>();
        final Map<Long, Msg> unnumbered = new LinkedHashMap<>();
        final Map<Long, Msg> byId = new HashMap<>();
        /** Results not yet acknowledged: seq to status byte + payload. */
        final NavigableMap<Long, byte[]> results = new TreeMap<>();
        /** Whether command records are valid (a version 2 file). */
        boolean commandRecords;
        long lastProcessed;
        long acked;
        long maxSeq;
        long maxId;
        long liveBytes;

        int size() {
            return byId.size();
        }

        /** Applies an encoded record (type + body); false if it is malformed. */
        boolean apply(byte[] rec) {
            ByteBuffer b = ByteBuffer.wrap(rec, 1, rec.length - 1);
            int body = rec.length - 1;
            switch (rec[0]) {
                case MSG -> {
                    if (body < 16 || body - 16 > MAX_PAYLOAD) {
                        return false;
                    }
                    long id = b.getLong();
                    long seq = b.getLong();
                    byte[] payload = new byte[body - 16];
                    b.get(payload);
                    return id > 0 && seq >= 0 && msg(id, seq, payload);
                }
                case SEQ -> {
                    if (body != 16) {
                        return false;
                    }
                    long id = b.getLong();
                    long seq = b.getLong();
                    if (id <= 0 || seq <= 0) {
                        return false;
                    }
                    seq(id, seq);
                    return true;
                }
                case ACK -> {
                    if (body != 8) {
                        return false;
                    }
                    long seq = b.getLong();
                    if (seq < 0) {
                        return false;
                    }
                    ack(seq);
                    return true;
                }
                case DROP -> {
                    if (body != 8) {
                        return false;
                    }
                    drop(b.getLong());
                    return true;
                }
                case DONE, RACK -> {
                    if (!commandRecords || body != 8) {
                        return false;
                    }
                    long seq = b.getLong();
                    if (seq <= 0) {
                        return false;
                    }
                    if (rec[0] == DONE) {
                        done(seq);
                    } else {
                        resultAcked(seq);
                    }
                    return true;
                }
                case RESULT -> {
                    if (!commandRecords || body < 9 || body - 9 > MAX_RESULT_PAYLOAD) {
                        return false;
                    }
                    long seq = b.getLong();
                    byte[] result = new byte[body - 8];
                    b.get(result);
                    if (seq <= 0 || (result[0] & 0xFF) > 1) {
                        return false;
                    }
                    result(seq, result);
                    return true;
                }
                default -> {
                    return false;
                }
            }
        }

        void apply(Rec r) {
            switch (r.type) {
                case MSG -> msg(r.id, r.seq, r.payload);
                case SEQ -> seq(r.id, r.seq);
                case ACK -> ack(r.seq);
                case DROP -> drop(r.id);
                case DONE -> done(r.seq);
                case RESULT -> result(r.seq, r.payload);
                case RACK -> resultAcked(r.seq);
                default -> throw new IllegalStateException("record type " + r.type);
            }
        }

        private void done(long seq) {
            lastProcessed = Math.max(lastProcessed, seq);
        }

        private void result(long seq, byte[] statusAndPayload) {
            done(seq);
            if (results.put(seq, statusAndPayload) == null) {
                liveBytes += RECORD_OVERHEAD + 8 + statusAndPayload.length;
            }
        }

        private void resultAcked(long seq) {
            byte[] r = results.remove(seq);
            if (r != null) {
                liveBytes -= RECORD_OVERHEAD + 8 + r.length;
            }
        }

        private boolean msg(long id, long seq, byte[] payload) {
            if (byId.containsKey(id)) {
                return false; // ids never repeat in a sound file
            }
            maxId = Math.max(maxId, id);
            maxSeq = Math.max(maxSeq, seq);
            if (seq != 0 && seq <= acked) {
                return true;
            }
            Msg m = new Msg(id, seq, payload);
            byId.put(id, m);
            if (seq == 0) {
                unnumbered.put(id, m);
            } else {
                bySeq.put(seq, m);
            }
            liveBytes += m.compactedRecordSize();
            return true;
        }

        private void seq(long id, long seq) {
            maxSeq = Math.max(maxSeq, seq);
            Msg m = unnumbered.remove(id);
            if (m == null) {
                return; // already numbered, dropped or acknowledged
            }
            m.seq = seq;
            if (seq <= acked) {
                remove(m);
            } else {
                bySeq.put(seq, m);
            }
        }

        private void ack(long seq) {
            if (seq <= acked) {
                return;
            }
            acked = seq;
            Iterator<Msg> it = bySeq.headMap(seq, true).values().iterator();
            while (it.hasNext()) {
                Msg m = it.next();
                it.remove();
                byId.remove(m.id);
                liveBytes -= m.compactedRecordSize();
            }
        }

        private void drop(long id) {
            Msg m = unnumbered.remove(id);
            if (m != null) {
                remove(m);
            }
        }

        private void remove(Msg m) {
            byId.remove(m.id);
            liveBytes -= m.compactedRecordSize();
        }
    }
}
