package io.raftkv.snapshot;

import io.raftkv.raft.Membership;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvSnapshot;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Snapshot files: the round trip, every kind of damage refused with its reason, and the directory's choices. */
class SnapshotFileTest {

    private static final int KEY_BYTES_MAX = 64;
    private static final int VALUE_BYTES_MAX = 1024;
    private static final Membership VOTERS = Membership.ofVoters(List.of(1, 2, 3));
    private static final int MEMBERSHIP_BYTES = VOTERS.encode().length;

    @TempDir
    Path dataDir;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A state machine that applied {@code entries} puts and overwrites (and one compaction), at index {@code entries}. */
    private static KvStateMachine machine(int entries) {
        KvStateMachine kv = new KvStateMachine();
        for (int i = 1; i <= entries; i++) {
            byte[] data = i == entries / 2 ? new KvCommand.Compact(kv.revision()).encode() : KvCommand.put(b("key/" + (i % 97)), b("value " + i)).encode();
            kv.apply(new Entry(1, i, data));
        }
        return kv;
    }

    /** Writes a snapshot of {@code kv} at its applied index, on a helper thread, as a node does. */
    private static Path writeSnapshot(Path dir, KvStateMachine kv, long term) throws Exception {
        KvSnapshot snapshot = kv.snapshot();
        SnapshotMeta meta = new SnapshotMeta(snapshot.appliedIndex(), term, VOTERS);
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return SnapshotFile.write(dir, meta, snapshot::writeTo);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }).get(30, TimeUnit.SECONDS);
        } finally {
            snapshot.release();
        }
    }

    private static SnapshotFile.PayloadReader restoreInto(KvStateMachine kv) {
        return (meta, in) -> kv.restore(meta.index(), in, KEY_BYTES_MAX, VALUE_BYTES_MAX);
    }

    // ------------------------------------------------------------------ round trip

    @Test
    void aKvSnapshotMakesTheRoundTripThroughAFile() throws Exception {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir);
        KvStateMachine kv = machine(500);
        Path file = writeSnapshot(snapshots.path(), kv, 4);
        assertEquals(String.format("snap-%020d-%020d.snap", 500, 4), file.getFileName().toString());
        assertEquals(dataDir.resolve("snap").resolve(file.getFileName()), file);
        assertEquals(List.of(file), snapshots.newestFirst(), "no temporary file is left");
        try (var files = Files.list(snapshots.path())) {
            assertEquals(1, files.count());
        }
        assertEquals(new SnapshotMeta(500, 4, VOTERS), SnapshotFile.verify(file));

        KvStateMachine restored = new KvStateMachine();
        SnapshotMeta meta = SnapshotFile.read(file, restoreInto(restored));
        assertEquals(new SnapshotMeta(500, 4, VOTERS), meta);
        assertEquals(kv.hash(), restored.hash());
        assertEquals(kv.revision(), restored.revision());
        assertEquals(kv.store().compactRevision(), restored.store().compactRevision());
        assertEquals(500, restored.appliedIndex());
        assertArrayEquals(kv.get(b("key/5")), restored.get(b("key/5")));
    }

    @Test
    void theHeaderAndTrailerAreWhereTheDocumentSaysAndThePayloadIsExactlyWhatWasWritten() throws IOException {
        Path dir = SnapshotDirectory.open(dataDir).path();
        byte[] payload = b("any bytes at all");
        Path file = SnapshotFile.write(dir, new SnapshotMeta(7, 2, Membership.ofVoters(List.of(5, 9))), out -> {
            out.write(payload);
            out.close(); // a writer that closes its stream does not cut the file
        });
        byte[] bytes = Files.readAllBytes(file);
        Membership membership = Membership.ofVoters(List.of(5, 9));
        int header = 6 + 2 + 8 + 8 + 4 + membership.encode().length;
        assertEquals(header + payload.length + 8 + 4 + 6, bytes.length);
        assertEquals("RKVSNP", new String(bytes, 0, 6, StandardCharsets.US_ASCII));
        assertEquals(membership, Membership.decode(java.util.Arrays.copyOfRange(bytes, 28, header)), "the configuration ends the header");
        assertEquals(payload.length, bytes[header + payload.length + 7], "the payload length opens the trailer");
        assertEquals("RKVEND", new String(bytes, bytes.length - 6, 6, StandardCharsets.US_ASCII));
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        SnapshotFile.read(file, (meta, in) -> in.transferTo(read));
        assertArrayEquals(payload, read.toByteArray());
        IOException partly = assertThrows(IOException.class, () -> SnapshotFile.read(file, (meta, in) -> in.read()));
        assertTrue(partly.getMessage().contains("left 15 of 16 bytes"), partly.getMessage());
    }

    @Test
    void aFileOf100kKeysOf16BytesWith256ByteValuesTakes309BytesAKeyPlusItsFraming() throws Exception {
        KvStateMachine kv = new KvStateMachine();
        for (int i = 0; i < 100_000; i++) kv.apply(new Entry(1, i + 1, KvCommand.put(b(String.format("key/%012d", i)), new byte[256]).encode()));
        Path file = writeSnapshot(SnapshotDirectory.open(dataDir).path(), kv, 1);
        long payload = 48 + 17 + 100_000L * 309 + 4; // a header of 48 bytes since leases (the lease count), no lease; 17 of auth since format 3
        assertEquals(28 + MEMBERSHIP_BYTES + payload + 18, Files.size(file));
        assertEquals(30_900_145, Files.size(file));
    }

    @Test
    void aFailingPayloadWriterLeavesNoFile() throws IOException {
        Path dir = SnapshotDirectory.open(dataDir).path();
        IOException e = assertThrows(IOException.class, () -> SnapshotFile.write(dir, new SnapshotMeta(3, 1, VOTERS), out -> {
            out.write(new byte[100_000]);
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    // ------------------------------------------------------------------ damage

    /** A copy of {@code file}'s bytes, changed by {@code damage}, under {@code name} in a directory of its own. */
    private Path damaged(Path file, String name, UnaryOperator<byte[]> damage) throws IOException {
        Path dir = Files.createTempDirectory(dataDir, "damaged");
        return Files.write(dir.resolve(name), damage.apply(Files.readAllBytes(file)));
    }

    private static void assertRefused(Path file, String reason) {
        SnapshotCorruptionException e = assertThrows(SnapshotCorruptionException.class, () -> SnapshotFile.verify(file), reason);
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.reason().contains(reason), "expected \"" + reason + "\" in: " + e.getMessage());
        assertThrows(SnapshotCorruptionException.class, () -> SnapshotFile.read(file, (meta, in) -> {
            throw new AssertionError("a damaged payload reached the reader");
        }));
    }

    @Test
    void aTornFileIsRefusedWhereverItWasCut() throws Exception {
        Path good = writeSnapshot(SnapshotDirectory.open(dataDir).path(), machine(200), 2);
        String name = good.getFileName().toString();
        int size = (int) Files.size(good);
        int header = 28 + MEMBERSHIP_BYTES;
        int[] cuts = {0, 3, 6, 20, 27, 28, 30, 45, 46, header - 1, header, header + 10, size / 2, size - 18, size - 14, size - 10, size - 3, size - 1};
        for (int cut : cuts) {
            Path torn = damaged(good, name, bytes -> Arrays.copyOf(bytes, cut));
            assertRefused(torn, cut == 0 ? "torn: empty file" : cut < 28 + 18 ? "torn: the file ends after " + cut + " bytes" : "torn: trailer missing");
        }
    }

    @Test
    void aFlippedBitIsRefusedInTheHeaderThePayloadAndTheTrailer() throws Exception {
        Path good = writeSnapshot(SnapshotDirectory.open(dataDir).path(), machine(200), 2);
        String name = good.getFileName().toString();
        int size = (int) Files.size(good);
        Object[][] flips = {
                {0, "bad magic"},
                {5, "bad magic"},
                {7, "bad CRC"},          // format version
                {15, "bad CRC"},         // index
                {23, "bad CRC"},         // term
                {27, "bad CRC"},         // voter count
                {29, "bad CRC"},         // a voter id
                {40, "bad CRC"},         // the payload's first byte
                {size / 2, "bad CRC"},
                {size - 19, "bad CRC"},  // the payload's last byte
                {size - 11, "bad CRC"},  // payload length
                {size - 8, "bad CRC"},   // the CRC itself
                {size - 6, "torn: trailer missing"},
                {size - 1, "torn: trailer missing"},
        };
        for (Object[] flip : flips) {
            int at = (int) flip[0];
            Path file = damaged(good, name, bytes -> {
                bytes[at] ^= 0x10;
                return bytes;
            });
            assertRefused(file, (String) flip[1]);
        }
    }

    @Test
    void aSnapshotRenamedToAnotherPlaceInTheLogIsRefused() throws Exception {
        Path good = writeSnapshot(SnapshotDirectory.open(dataDir).path(), machine(200), 2);
        assertRefused(damaged(good, String.format("snap-%020d-%020d.snap", 201, 2), bytes -> bytes), "header says index 200 but the name says 201");
        assertRefused(damaged(good, String.format("snap-%020d-%020d.snap", 200, 3), bytes -> bytes), "header says term 2 but the name says 3");
        assertRefused(damaged(good, "snapshot.bin", bytes -> bytes), "the name is not");
        assertRefused(good.resolveSibling(String.format("snap-%020d-%020d.snap", 999, 9)), "missing");
    }

    // ------------------------------------------------------------------ the directory

    @Test
    void theDirectoryFallsBackToAnOlderSnapshotWhenTheNewestIsDamagedAndSaysSo() throws Exception {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir);
        Path oldest = writeSnapshot(snapshots.path(), machine(100), 1);
        Path middle = writeSnapshot(snapshots.path(), machine(200), 2);
        Path newest = writeSnapshot(snapshots.path(), machine(300), 2);
        assertEquals(List.of(newest, middle, oldest), snapshots.newestFirst());

        KvStateMachine kv = new KvStateMachine();
        SnapshotDirectory.Loaded all = snapshots.loadNewestValid(restoreInto(kv)).orElseThrow();
        assertEquals(newest, all.file());
        assertEquals(List.of(), all.damaged());
        assertEquals(machine(300).hash(), kv.hash());

        flipByte(newest, 100);
        KvStateMachine fallback = new KvStateMachine();
        SnapshotDirectory.Loaded loaded = snapshots.loadNewestValid(restoreInto(fallback)).orElseThrow();
        assertEquals(middle, loaded.file());
        assertEquals(new SnapshotMeta(200, 2, VOTERS), loaded.meta());
        assertEquals(1, loaded.damaged().size());
        assertEquals(newest, loaded.damaged().get(0).file());
        assertTrue(loaded.damaged().get(0).reason().contains("bad CRC"), loaded.damaged().get(0).reason());
        assertEquals(machine(200).hash(), fallback.hash());
        assertEquals(200, fallback.appliedIndex());

        Files.write(middle, new byte[0]);
        flipByte(oldest, 60);
        SnapshotCorruptionException none = assertThrows(SnapshotCorruptionException.class, () -> snapshots.loadNewestValid(restoreInto(new KvStateMachine())));
        for (Path p : List.of(newest, middle, oldest)) assertTrue(none.getMessage().contains(p.toString()), none.getMessage());
        assertTrue(none.getMessage().contains("torn: empty file"), none.getMessage());
    }

    @Test
    void aPayloadTheStateMachineRefusesCountsAsDamage() throws Exception {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir);
        Path older = writeSnapshot(snapshots.path(), machine(100), 1);
        // Well-formed file, payload that is not a key-value snapshot: written so, not damaged on disk.
        SnapshotFile.write(snapshots.path(), new SnapshotMeta(150, 1, VOTERS), out -> out.write(b("not a snapshot")));
        KvStateMachine kv = new KvStateMachine();
        SnapshotDirectory.Loaded loaded = snapshots.loadNewestValid(restoreInto(kv)).orElseThrow();
        assertEquals(older, loaded.file());
        assertTrue(loaded.damaged().get(0).reason().contains("not a key-value snapshot"), loaded.damaged().get(0).reason());
    }

    @Test
    void anEmptyDirectoryHasNoSnapshot() throws IOException {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir);
        assertEquals(Optional.empty(), snapshots.loadNewestValid((meta, in) -> {
            throw new AssertionError();
        }));
        assertTrue(Files.isDirectory(dataDir.resolve("snap")));
    }

    @Test
    void tempsLeftByACrashAreDeletedAndOtherFilesLeftAlone() throws Exception {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir);
        Path kept = writeSnapshot(snapshots.path(), machine(50), 1);
        Path temp = Files.write(snapshots.path().resolve(String.format("snap-%020d-%020d.snap.tmp", 80, 1)), new byte[1000]);
        Path foreign = Files.write(snapshots.path().resolve("README"), b("not ours"));
        assertEquals(List.of(kept), snapshots.newestFirst(), "a temp is never a snapshot");
        assertEquals(List.of(temp), snapshots.deleteTemps());
        assertFalse(Files.exists(temp));
        assertTrue(Files.exists(kept) && Files.exists(foreign));
        assertEquals(List.of(), snapshots.deleteTemps());
    }

    @Test
    void pruneKeepsTheNewestN() throws IOException {
        SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir);
        for (long[] at : new long[][]{{10, 1}, {30, 2}, {20, 1}, {30, 3}, {40, 3}}) {
            snapshots.write(new SnapshotMeta(at[0], at[1], VOTERS), out -> out.write(1));
        }
        Path foreign = Files.write(snapshots.path().resolve("notes.txt"), b("x"));
        List<Path> deleted = snapshots.pruneOlderThan(2);
        assertEquals(List.of(SnapshotFile.path(snapshots.path(), 30, 2), SnapshotFile.path(snapshots.path(), 20, 1),
                SnapshotFile.path(snapshots.path(), 10, 1)), deleted);
        assertEquals(List.of(SnapshotFile.path(snapshots.path(), 40, 3), SnapshotFile.path(snapshots.path(), 30, 3)), snapshots.newestFirst(),
                "by index, then term");
        assertTrue(Files.exists(foreign));
        assertEquals(List.of(), snapshots.pruneOlderThan(2));
        assertThrows(IllegalArgumentException.class, () -> snapshots.pruneOlderThan(0));
    }

    @Test
    void aMetaOutsideWhatRaftCanHaveIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new SnapshotMeta(0, 1, VOTERS));
        assertThrows(IllegalArgumentException.class, () -> new SnapshotMeta(5, 0, VOTERS));
        assertThrows(IllegalArgumentException.class, () -> new SnapshotMeta(5, 1, Membership.EMPTY));
        assertThrows(IllegalArgumentException.class, () -> new SnapshotMeta(5, 1, null));
    }

    private static void flipByte(Path file, int at) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[at] ^= 1;
        Files.write(file, bytes);
    }
}
