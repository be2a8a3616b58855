package io.raftkv.server;

import io.raftkv.kv.KvSnapshot;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.net.Connection;
import io.raftkv.net.EventLoop;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Membership;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.SnapshotId;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.metrics.NodeMetrics;
import io.raftkv.snapshot.SnapshotDirectory;
import io.raftkv.snapshot.SnapshotFile;
import io.raftkv.snapshot.SnapshotMeta;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The node's snapshots (docs/snapshots.md). On the loop thread: taking one once {@code snapshotEntries} were applied
 * since the last, compacting the in-memory log and the WAL behind it once it is durable, naming the file a follower
 * must be sent, installing the snapshots a leader sends. On the snapshot thread, so that the loop never waits for
 * it: writing a snapshot, and checking, syncing and reading a received one. The two talk through loop tasks only.
 *
 * <p>Two snapshots are kept on disk, and the WAL keeps the entries after the older one: a damaged newest snapshot
 * falls back to the older one and the WAL replays the rest.
 */
final class Snapshots implements ReplicaDriver.SnapshotInstaller, PeerLinks.Snapshots, InboundConnections.SnapshotInbox,
        InboundConnections.Backups {

    /** Snapshot files kept: the newest, and one to fall back to. */
    static final int FILES_KEPT = 2;
    /** Jobs waiting for the snapshot thread: one write and a received snapshot or two; past it a received one is dropped. */
    private static final int THREAD_QUEUE_MAX = 4;

    /** The state a start found: the snapshot it began from (NONE if none) and the log after it. */
    record Recovered(SnapshotId snapshot, MemoryStorage storage) { }

    private final SnapshotDirectory dir;
    private final EventLoop loop;
    private final KvStateMachine kv;
    private final MemoryStorage storage;
    private final WalDurableLog wal;
    private final Log log;
    private final NodeOptions options;
    private final ThreadPoolExecutor thread;
    /** Snapshot writes are timed on the snapshot thread; failures and installs counted on the loop. */
    private final NodeMetrics metrics;
    private RaftCore core;
    private boolean writing;
    /** Bytes of the entries applied since the newest snapshot, counted up to {@link #countedUpTo}. */
    private long bytesSinceSnapshot;
    private long countedUpTo;
    /** Applied index of the last snapshot attempt that failed: the next waits for as many entries again. */
    private long failedAt;
    /** The snapshot before the newest: the WAL keeps the entries after it (fallback). */
    private SnapshotId older;
    /** Received snapshots, checked and read on the snapshot thread, that the core may install in this turn. */
    private final Map<SnapshotId, KvStateMachine.Restored> received = new HashMap<>();
    /** Backups being written or streamed to clients, by connection. */
    private final Map<Connection, Backup> backups = new HashMap<>();
    /** Backups served at once; past it a client is told OVERLOADED. */
    static final int BACKUPS_MAX = 2;

    /** A backup for one client: the file the snapshot thread wrote (null until then), streamed in paced chunks. */
    private static final class Backup {
        final long requestId;
        Path file;
        FileStreamer stream;

        Backup(long requestId) {
            this.requestId = requestId;
        }
    }

    Snapshots(SnapshotDirectory dir, EventLoop loop, KvStateMachine kv, Recovered recovered, WalDurableLog wal, int nodeId, Log log, NodeOptions options,
              NodeMetrics metrics) {
        this.dir = dir;
        this.metrics = metrics;
        this.loop = loop;
        this.kv = kv;
        this.storage = recovered.storage();
        this.older = recovered.snapshot();
        this.countedUpTo = recovered.snapshot().index();
        this.wal = wal;
        this.log = log;
        this.options = options;
        this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(THREAD_QUEUE_MAX), r -> {
            Thread t = new Thread(r, "raftkv-snapshot-" + nodeId);
            t.setDaemon(true);
            return t;
        });
    }

    void setCore(RaftCore core) {
        this.core = core;
    }

    // ---------------------------------------------------------------- start

    /**
     * Opens the snapshot directory and rebuilds the state a node starts from: the newest snapshot that loads (an
     * older one when the newest is damaged) into {@code kv}, and the WAL's entries after it. Throws an IOException
     * naming the files when the WAL does not continue where the snapshot ends (a damaged newest snapshot and a WAL
     * that was released past the older one, or a lost WAL segment): starting would lose committed entries.
     */
    static Recovered recover(SnapshotDirectory dir, WriteAheadLog wal, KvStateMachine kv, NodeOptions options, Log log) throws IOException {
        dir.deleteTemps();
        deleteParts(dir.path());
        deleteBackups(dir.path().resolve(BACKUP_DIRECTORY));
        long startNanos = System.nanoTime();
        KvStateMachine.Restored[] restored = new KvStateMachine.Restored[1];
        Optional<SnapshotDirectory.Loaded> loaded = dir.loadNewestValid(
                (meta, in) -> restored[0] = KvStateMachine.read(in, options.keyBytesMax(), options.valueBytesMax()));
        SnapshotId snapshot = loaded.map(l -> new SnapshotId(l.meta().index(), l.meta().term())).orElse(SnapshotId.NONE);
        if (wal.firstIndex() > snapshot.index() + 1) {
            String damaged = loaded.map(l -> l.damaged().isEmpty() ? "" : ", and these newer snapshots are damaged: " + l.damaged()).orElse("");
            throw new IOException("the write-ahead log in " + wal.dir() + " starts at entry " + wal.firstIndex() + ", but "
                    + (loaded.isPresent() ? "the newest snapshot that loads, " + loaded.get().file() + ", ends at " + snapshot.index() : "there is no snapshot in " + dir.path())
                    + damaged + ": entries in between are lost. Restore the data directory from a backup (docs/snapshots.md)");
        }
        MemoryStorage storage = new MemoryStorage();
        if (loaded.isPresent()) {
            kv.install(snapshot.index(), restored[0]);
            storage.installSnapshot(snapshot, loaded.get().meta().membership());
            log.info("started from snapshot " + loaded.get().file().getFileName() + " (index " + snapshot.index() + ", revision " + kv.revision() + ", "
                    + kv.size() + " keys), read in " + (System.nanoTime() - startNanos) / 1_000_000 + " ms");
        }
        storage.setHardState(wal.hardState());
        List<Entry> entries = wal.entries();
        // The WAL entry at the snapshot's index, if it holds one, must be the snapshot's: otherwise what follows it
        // is a history the leader replaced when it sent the snapshot (the reset was not synced before a crash).
        int from = 0;
        while (from < entries.size() && entries.get(from).index() <= snapshot.index()) from++;
        boolean continues = from == 0 ? entries.isEmpty() || entries.get(0).index() == snapshot.index() + 1
                : entries.get(from - 1).term() == snapshot.term();
        if (continues) storage.append(entries.subList(from, entries.size()));
        return new Recovered(snapshot, storage);
    }

    /** Received snapshots a crash left before they were checked: never trusted, so deleted. */
    private static void deleteParts(Path dir) throws IOException {
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(dir, "*" + SnapshotReceiver.PART_SUFFIX)) {
            for (Path part : parts) Files.delete(part);
        }
    }

    // ---------------------------------------------------------------- taking snapshots

    /**
     * End of a loop turn, after the driver: drops received snapshots the core did not want, and starts a snapshot
     * once {@code snapshotEntries} entries were applied since the last one and their bytes reach
     * {@code snapshotLogPercentMin} of the store's live bytes: a snapshot costs the whole store, so a large store is
     * written less often, and writing snapshots costs a small multiple of the log it replaces, while the log in
     * memory stays proportional to the live data.
     */
    void afterTurn() {
        received.clear();
        long applied = kv.appliedIndex();
        for (long i = countedUpTo + 1; i <= applied; i++) bytesSinceSnapshot += storage.entry(i).sizeBytes();
        countedUpTo = applied;
        long since = applied - Math.max(storage.snapshot().index(), failedAt);
        if (writing || since < options.snapshotEntries() || bytesSinceSnapshot * 100 < kv.store().liveBytes() * options.snapshotLogPercentMin()) return;
        // A node that joined and is replaying the log from before its addition knows no configuration there yet (its
        // bootstrap is empty): it keeps its log until it has applied one, which a snapshot must carry.
        if (core.appliedMembership().voters().isEmpty()) return;
        KvSnapshot snapshot = kv.snapshot();
        SnapshotMeta meta = new SnapshotMeta(applied, storage.term(applied), core.appliedMembership());
        writing = true;
        try {
            thread.execute(() -> write(snapshot, meta));
        } catch (RejectedExecutionException e) {
            written(snapshot, meta, e);
        }
    }

    /** On the snapshot thread. */
    private void write(KvSnapshot snapshot, SnapshotMeta meta) {
        Exception failure = null;
        try {
            long startNanos = System.nanoTime();
            Path file = dir.write(meta, snapshot::writeTo);
            metrics.snapshotWritten(System.nanoTime() - startNanos);
            log.info("snapshot " + file.getFileName() + " written: " + Files.size(file) + " bytes, revision " + snapshot.revision() + ", in "
                    + (System.nanoTime() - startNanos) / 1_000_000 + " ms");
        } catch (IOException | RuntimeException e) {
            failure = e;
        }
        Exception outcome = failure;
        post(() -> written(snapshot, meta, outcome));
    }

    /** On the loop thread: the snapshot is durable (or failed); the log behind it may go. */
    private void written(KvSnapshot snapshot, SnapshotMeta meta, Exception failure) {
        SnapshotId id = new SnapshotId(meta.index(), meta.term());
        snapshot.release();
        writing = false;
        if (failure != null) {
            failedAt = id.index();
            metrics.snapshotFailed();
            log.warn("snapshot at " + id + " failed, retrying after " + options.snapshotEntries() + " more entries: " + failure);
            return;
        }
        SnapshotId newest = storage.snapshot();
        // A leader's newer snapshot may have been installed meanwhile.
        if (id.index() <= newest.index()) return;
        older = newest;
        snapshotSaved(id, meta.membership());
        long keepFrom = Math.max(storage.firstIndex() - 1, id.index() - options.snapshotCatchUpEntries());
        storage.compactTo(keepFrom);
        // Memory keeps what followers may still need from the log; the disk keeps what the older snapshot needs. On the
        // WAL's thread, after the writes handed over before: everything up to the snapshot is written by then.
        long releaseUpTo = Math.min(older.index(), keepFrom);
        wal.submit(w -> {
            w.forgetUpTo(keepFrom);
            w.releaseUpTo(releaseUpTo);
        });
        prune();
    }

    private void prune() {
        try {
            thread.execute(() -> {
                try {
                    dir.pruneOlderThan(FILES_KEPT);
                } catch (IOException e) {
                    log.warn("could not delete old snapshots: " + e.getMessage());
                }
            });
        } catch (RejectedExecutionException e) {
            // The next snapshot prunes.
        }
    }

    /** The newest snapshot is now {@code id}: the next one is counted from it. */
    private void snapshotSaved(SnapshotId id, Membership membership) {
        if (id.index() > storage.snapshot().index()) storage.setSnapshot(id, membership);
        bytesSinceSnapshot = 0;
        for (long i = id.index() + 1; i <= countedUpTo; i++) bytesSinceSnapshot += storage.entry(i).sizeBytes();
        countedUpTo = Math.max(countedUpTo, id.index());
    }

    // ---------------------------------------------------------------- sending (PeerLinks.Snapshots)

    @Override
    public Path fileOf(SnapshotId id) {
        Path file = SnapshotFile.path(dir.path(), id.index(), id.term());
        return Files.exists(file) ? file : null;
    }

    @Override
    public void report(int peer, boolean delivered) {
        core.reportSnapshot(peer, delivered);
    }

    // ---------------------------------------------------------------- receiving (InboundConnections.SnapshotInbox)

    @Override
    public SnapshotReceiver receiverFor(int peerId) {
        return new SnapshotReceiver(dir.path(), peerId, options.snapshotBytesMax(), thread);
    }

    @Override
    public void received(Message m, Path part) {
        SnapshotId id = new SnapshotId(m.index(), m.logTerm());
        try {
            thread.execute(() -> check(m, id, part));
        } catch (RejectedExecutionException e) {
            log.warn("dropping snapshot " + id + " from node " + m.from() + ": the snapshot thread is busy");
            deleteQuietly(part);
        }
    }

    /** On the snapshot thread: sync, check and read the received file; the core hears of it only if all went well. */
    private void check(Message m, SnapshotId id, Path part) {
        try {
            try (FileChannel c = FileChannel.open(part, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            // Under the name the message gives it, which the file's header must match: verified there, or deleted.
            Path file = SnapshotFile.path(dir.path(), id.index(), id.term());
            Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            part = file;
            KvStateMachine.Restored[] restored = new KvStateMachine.Restored[1];
            SnapshotFile.read(file, (fileMeta, in) -> restored[0] = KvStateMachine.read(in, options.keyBytesMax(), options.valueBytesMax()));
            SnapshotFile.syncDirectory(dir.path());
            log.info("snapshot " + id + " from node " + m.from() + " received: " + Files.size(file) + " bytes, revision " + restored[0].revision());
            post(() -> {
                received.put(id, restored[0]);
                core.step(m);
            });
        } catch (IOException | RuntimeException e) {
            log.warn("dropping snapshot " + id + " from node " + m.from() + ": " + e.getMessage());
            deleteQuietly(part);
        }
    }

    // ---------------------------------------------------------------- installing (ReplicaDriver.SnapshotInstaller)

    @Override
    public void install(SnapshotId id, Membership membership) throws IOException {
        KvStateMachine.Restored restored = received.remove(id);
        if (restored == null) throw new IllegalStateException("the core installs snapshot " + id + ", which was not received in this turn");
        // The driver waited for every write handed over before; the Ready's own writes follow this one, and its sync.
        wal.submit(w -> w.resetTo(id.index(), id.term()));
        storage.installSnapshot(id, membership);
        kv.install(id.index(), restored);
        snapshotSaved(id, membership);
        metrics.snapshotInstalled();
        // The WAL now starts after this snapshot: it is the only one a restart can use.
        older = id;
        log.info("installed snapshot " + id + ": revision " + kv.revision() + ", " + kv.size() + " keys");
        prune();
    }

    // ---------------------------------------------------------------- backups (InboundConnections.Backups)

    /** Where backups for clients are written before they are streamed; emptied at start. */
    static final String BACKUP_DIRECTORY = "backup";

    /**
     * A client asks for a backup: the store as of now is written to a file on the snapshot thread (the same format
     * as every snapshot, docs/snapshots.md), then streamed to the client in SNAPSHOT_DATA frames, one queued at a
     * time, and deleted.
     */
    @Override
    public void startBackup(Connection c, long requestId) {
        if (backups.containsKey(c) || backups.size() >= BACKUPS_MAX) {
            c.send(ClientCodec.response(new ClientResponse.Error(requestId, ErrorCode.OVERLOADED,
                    backups.containsKey(c) ? "a backup is already streaming on this connection" : BACKUPS_MAX + " backups are already being served")));
            return;
        }
        if (kv.appliedIndex() == 0 || core.appliedMembership().voters().isEmpty()) {
            c.send(ClientCodec.response(new ClientResponse.Error(requestId, ErrorCode.UNAVAILABLE,
                    "this node has not applied the cluster's configuration yet (it is starting or joining): ask another node, or retry")));
            return;
        }
        Backup backup = new Backup(requestId);
        backups.put(c, backup);
        KvSnapshot snapshot = kv.snapshot();
        SnapshotMeta meta = new SnapshotMeta(snapshot.appliedIndex(), storage.term(snapshot.appliedIndex()), core.appliedMembership());
        try {
            thread.execute(() -> {
                Path file = null;
                Exception failure = null;
                try {
                    Path backupDir = dir.path().resolve(BACKUP_DIRECTORY);
                    Files.createDirectories(backupDir);
                    file = Files.move(SnapshotFile.write(backupDir, meta, snapshot::writeTo),
                            backupDir.resolve("backup-" + System.nanoTime() + ".snap"));
                } catch (IOException | RuntimeException e) {
                    failure = e;
                }
                Path written = file;
                Exception outcome = failure;
                post(() -> backupWritten(c, backup, snapshot, written, outcome));
            });
        } catch (RejectedExecutionException e) {
            backupWritten(c, backup, snapshot, null, e);
        }
    }

    private void backupWritten(Connection c, Backup backup, KvSnapshot snapshot, Path file, Exception failure) {
        snapshot.release();
        backup.file = file;
        if (backups.get(c) != backup) {
            // The client left meanwhile.
            if (file != null) deleteQuietly(file);
            return;
        }
        try {
            if (failure != null) throw new IOException("writing the backup failed: " + failure.getMessage(), failure);
            backup.stream = new FileStreamer(file, backupChunkBytes(),
                    (offset, total, data) -> ClientCodec.snapshotData(backup.requestId, offset, total, data));
            log.info("backup at index " + snapshot.appliedIndex() + " (revision " + snapshot.revision() + ", " + backup.stream.totalBytes()
                    + " bytes) streaming to " + c.remote());
            pumpBackup(c);
        } catch (IOException e) {
            c.send(ClientCodec.response(new ClientResponse.Error(backup.requestId, ErrorCode.UNAVAILABLE, e.getMessage())));
            endBackup(c);
        }
    }

    /** Queues the next piece when the connection took the last. */
    @Override
    public void pumpBackup(Connection c) {
        Backup backup = backups.get(c);
        if (backup == null || backup.stream == null) return;
        try {
            if (backup.stream.pump(c)) endBackup(c);
        } catch (IOException e) {
            c.send(ClientCodec.response(new ClientResponse.Error(backup.requestId, ErrorCode.UNAVAILABLE, e.getMessage())));
            endBackup(c);
        }
    }

    private int backupChunkBytes() {
        return (int) Math.max(1, Math.min(1 << 20, Math.min(options.clientOutboundBytesMax() / 4, options.frameBytesMax() - 64)));
    }

    /** The backup of {@code c} is over (streamed, failed, or the client left): its file goes. */
    @Override
    public void endBackup(Connection c) {
        Backup backup = backups.remove(c);
        if (backup == null) return;
        if (backup.stream != null) backup.stream.close();
        if (backup.file != null) deleteQuietly(backup.file);
    }

    private static void deleteBackups(Path backupDir) throws IOException {
        if (!Files.isDirectory(backupDir)) return;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(backupDir)) {
            for (Path f : files) Files.delete(f);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Hands a task to the loop from the snapshot thread; a stopped loop needs it no more. */
    private void post(Runnable task) {
        while (loop.isRunning() && !loop.execute(task)) {
            // The loop's task queue is full: it drains every turn.
            Thread.onSpinWait();
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // A leftover part file is deleted at the next start.
        }
    }

    /** Stops the snapshot thread; a snapshot being written is abandoned (its temporary file is deleted at the next start). */
    void close() {
        thread.shutdownNow();
    }
}
