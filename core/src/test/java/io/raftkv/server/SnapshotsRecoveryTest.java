package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvSnapshot;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Membership;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.SnapshotId;
import io.raftkv.snapshot.SnapshotCorruptionException;
import io.raftkv.snapshot.SnapshotDirectory;
import io.raftkv.snapshot.SnapshotFile;
import io.raftkv.snapshot.SnapshotMeta;
import io.raftkv.wal.WalOptions;
import io.raftkv.wal.WriteAheadLog;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node's start from its snapshots and WAL (docs/snapshots.md, "Starting"), every case of the table, on real files:
 * 30 entries, snapshots at 10 and 20, the WAL released up to the older one as a node does, then damage.
 */
class SnapshotsRecoveryTest {

    private static final int ENTRIES = 30;
    /** Small segments, a few entries each, so that releasing them shows. */
    private static final WalOptions WAL = new WalOptions(400, 128);

    @TempDir
    Path dir;

    private static Entry entry(long index) {
        byte[] command = KvCommand.put(("k" + index % 5).getBytes(StandardCharsets.UTF_8), ("v" + index).getBytes(StandardCharsets.UTF_8)).encode();
        return new Entry(1, index, command);
    }

    /** A state machine that applied entries 1..upTo: what the restored one must equal. */
    private static KvStateMachine applied(long upTo) {
        KvStateMachine kv = new KvStateMachine();
        for (long i = 1; i <= upTo; i++) kv.apply(entry(i));
        return kv;
    }

    /** Entries 1..30 in the WAL, snapshots at 10 and 20, the WAL released up to {@code releaseUpTo}. */
    private void write(long releaseUpTo) throws IOException {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dir);
        KvStateMachine kv = new KvStateMachine();
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WAL)) {
            List<Entry> entries = new ArrayList<>();
            for (long i = 1; i <= ENTRIES; i++) entries.add(entry(i));
            wal.append(entries);
            wal.saveHardState(new HardState(1, 1, ENTRIES));
            wal.sync();
            for (long i = 1; i <= 20; i++) {
                kv.apply(entry(i));
                if (i % 10 == 0) {
                    KvSnapshot s = kv.snapshot();
                    snapshots.write(new SnapshotMeta(i, 1, Membership.ofVoters(List.of(1, 2, 3))), s::writeTo);
                    s.release();
                }
            }
            assertTrue(wal.releaseUpTo(releaseUpTo) > 0, "segments released");
        }
    }

    private Snapshots.Recovered recover(KvStateMachine kv) throws IOException {
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WAL)) {
            return Snapshots.recover(SnapshotDirectory.open(dir), wal, kv, NodeOptions.defaults(), new Log(1));
        }
    }

    private Path snapshotFile(long index) {
        return SnapshotFile.path(dir.resolve("snap"), index, 1);
    }

    private void assertStartsFrom(long snapshotIndex) throws IOException {
        KvStateMachine kv = new KvStateMachine();
        Snapshots.Recovered r = recover(kv);
        assertEquals(new SnapshotId(snapshotIndex, 1), r.snapshot());
        assertEquals(snapshotIndex, kv.appliedIndex());
        KvStateMachine twin = applied(snapshotIndex);
        assertEquals(twin.revision(), kv.revision());
        assertEquals(twin.hash(), kv.hash(), "the restored store equals applying the log prefix it replaces");
        MemoryStorage log = r.storage();
        assertEquals(snapshotIndex + 1, log.firstIndex(), "the log continues right after the snapshot");
        assertEquals(ENTRIES, log.lastIndex());
        for (long i = snapshotIndex + 1; i <= ENTRIES; i++) kv.apply(log.entry(i));
        assertEquals(applied(ENTRIES).hash(), kv.hash(), "and replaying it gives the store at the end of the log");
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            c.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
            c.write(b, offset);
        }
    }

    @Test
    @DisplayName("the newest snapshot, then the WAL entries after it")
    void newestSnapshotAndWal() throws IOException {
        write(10);
        assertStartsFrom(20);
    }

    @Test
    @DisplayName("a newest snapshot with a flipped bit: the older one, and the WAL replays the rest")
    void flippedBitFallsBack() throws IOException {
        write(10);
        flipByte(snapshotFile(20), Files.size(snapshotFile(20)) / 2);
        assertStartsFrom(10);
    }

    @Test
    @DisplayName("a torn newest snapshot: the older one")
    void tornFallsBack() throws IOException {
        write(10);
        try (FileChannel c = FileChannel.open(snapshotFile(20), StandardOpenOption.WRITE)) {
            c.truncate(c.size() - 7);
        }
        assertStartsFrom(10);
    }

    @Test
    @DisplayName("a newest snapshot renamed to another index: its header disagrees, so the older one")
    void renamedFallsBack() throws IOException {
        write(10);
        Files.move(snapshotFile(20), snapshotFile(25));
        assertStartsFrom(10);
    }

    @Test
    @DisplayName("a missing newest snapshot: the older one")
    void missingFallsBack() throws IOException {
        write(10);
        Files.delete(snapshotFile(20));
        assertStartsFrom(10);
    }

    @Test
    @DisplayName("a damaged newest snapshot and a WAL released past the older one: refuses, naming the WAL, the snapshot and the damage")
    void gapRefuses() throws IOException {
        write(19);
        flipByte(snapshotFile(20), 40);
        IOException e = assertThrows(IOException.class, () -> recover(new KvStateMachine()));
        assertTrue(e.getMessage().contains("starts at entry") && e.getMessage().contains(snapshotFile(10).getFileName().toString())
                && e.getMessage().contains(snapshotFile(20).getFileName().toString()), e.getMessage());
    }

    @Test
    @DisplayName("every snapshot damaged: refuses, naming each file")
    void allDamagedRefuses() throws IOException {
        write(10);
        flipByte(snapshotFile(10), 40);
        flipByte(snapshotFile(20), 40);
        SnapshotCorruptionException e = assertThrows(SnapshotCorruptionException.class, () -> recover(new KvStateMachine()));
        assertTrue(e.getMessage().contains(snapshotFile(10).getFileName().toString()) && e.getMessage().contains(snapshotFile(20).getFileName().toString()),
                e.getMessage());
    }

    @Test
    @DisplayName("the snapshots deleted while the WAL no longer starts at 1: refuses")
    void noSnapshotRefuses() throws IOException {
        write(10);
        Files.delete(snapshotFile(10));
        Files.delete(snapshotFile(20));
        IOException e = assertThrows(IOException.class, () -> recover(new KvStateMachine()));
        assertTrue(e.getMessage().contains("there is no snapshot"), e.getMessage());
    }

    @Test
    @DisplayName("leftovers of a crash: a snapshot's .tmp and a received .part are deleted, never trusted")
    void leftoversDeleted() throws IOException {
        write(10);
        Path tmp = Files.writeString(dir.resolve("snap").resolve(snapshotFile(30).getFileName() + ".tmp"), "half");
        Path part = Files.writeString(dir.resolve("snap").resolve("recv-2-1" + SnapshotReceiver.PART_SUFFIX), "half");
        assertStartsFrom(20);
        assertTrue(!Files.exists(tmp) && !Files.exists(part));
    }
}
