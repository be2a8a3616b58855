package io.raftkv.wal;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.wal.WalTestFiles.assertSameEntries;
import static io.raftkv.wal.WalTestFiles.entries;
import static io.raftkv.wal.WalTestFiles.entry;
import static io.raftkv.wal.WalTestFiles.entryFrameBytes;
import static io.raftkv.wal.WalTestFiles.segment;
import static io.raftkv.wal.WalTestFiles.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writing, syncing and reopening; the replacement rule; segment roll-over; limits; the in-JVM lock. */
class WriteAheadLogTest {

    @TempDir
    Path tmp;

    private Path dir() {
        return tmp.resolve("wal");
    }

    @Test
    void aNewDirectoryOpensEmptyWithOneSegment() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertEquals(HardState.EMPTY, wal.hardState());
            assertTrue(wal.entries().isEmpty());
            assertEquals(0, wal.lastIndex());
            assertEquals(0, wal.tornTailBytes());
        }
        assertEquals(List.of(segment(dir(), 1)), segments(dir()));
        assertEquals(WalTestFiles.SEGMENT_HEADER_BYTES, Files.size(segment(dir(), 1)));
    }

    @Test
    void writeSyncReopenReturnsTheSameHardStateAndEntries() throws Exception {
        List<Entry> written = new ArrayList<>(entries(1, 1, 3, 10));
        written.add(new Entry(1, 4, new byte[0])); // a leader's no-op
        written.addAll(entries(2, 5, 9, 1000));
        HardState hs = new HardState(2, 3, 7);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.saveHardState(new HardState(1, 1, 0));
            wal.append(written.subList(0, 4));
            wal.sync();
            wal.append(written.subList(4, written.size()));
            wal.saveHardState(hs);
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertEquals(hs, wal.hardState());
            assertSameEntries(written, wal.entries());
            assertEquals(9, wal.lastIndex());
            assertEquals(0, wal.tornTailBytes());
        }
    }

    @Test
    void nothingReachesTheFileBeforeSync() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(1, 1, 5, 10));
            wal.saveHardState(new HardState(1, 1, 0));
            assertEquals(WalTestFiles.SEGMENT_HEADER_BYTES, Files.size(segment(dir(), 1)));
            wal.sync();
            long records = WalTestFiles.SEGMENT_HEADER_BYTES + 5L * entryFrameBytes(10) + WalTestFiles.HARD_STATE_FRAME_BYTES;
            long size = Files.size(segment(dir(), 1));
            assertTrue(size >= records, "the records, then the zeros written ahead of them");
            byte[] after = Files.readAllBytes(segment(dir(), 1));
            for (long i = records; i < size; i++) assertEquals(0, after[(int) i], "zeros after the records, at " + i);
        }
        assertEquals(WalTestFiles.SEGMENT_HEADER_BYTES + 5L * entryFrameBytes(10) + WalTestFiles.HARD_STATE_FRAME_BYTES,
                Files.size(segment(dir(), 1)), "closed: the file ends at its last record");
    }

    @Test
    void aCrashLeavesZerosAfterTheRecordsWhichReplayCutsLosingNothing() throws Exception {
        WriteAheadLog crashed = WriteAheadLog.open(dir(), WalOptions.defaults());
        List<Entry> written = entries(1, 1, 20, 100);
        crashed.append(written);
        crashed.sync();
        long records = WalTestFiles.SEGMENT_HEADER_BYTES + 20L * entryFrameBytes(100);
        // A crash: the process goes without closing; the file keeps its zeros (the directory lock goes with the process).
        Path copy = WalTestFiles.copySegments(dir(), tmp.resolve("crashed-copy"));
        crashed.close();
        assertTrue(Files.size(segment(copy, 1)) > records, "the copy ends in zeros");
        try (WriteAheadLog wal = WriteAheadLog.open(copy, WalOptions.defaults())) {
            assertSameEntries(written, wal.entries());
            assertEquals(records, Files.size(segment(copy, 1)), "cut to the records");
            wal.append(entries(1, 21, 21, 100));
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(copy, WalOptions.defaults())) {
            assertEquals(21, wal.lastIndex());
            assertEquals(0, wal.tornTailBytes());
        }
    }

    @Test
    void anEntryAtOrBelowTheLastIndexReplacesItAndEverythingAfter() throws Exception {
        List<Entry> expected = new ArrayList<>(entries(1, 1, 2, 8));
        expected.addAll(entries(2, 3, 4, 8));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(1, 1, 5, 8));
            wal.append(entries(2, 3, 4, 8));
            assertSameEntries(expected, wal.entries());
            assertEquals(4, wal.lastIndex());
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertSameEntries(expected, wal.entries());
        }
    }

    @Test
    void replayAppliesTheReplacementRuleToRecordsSyncedAtDifferentTimes() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(1, 1, 5, 8));
            wal.sync();
            wal.append(List.of(entry(3, 3, 8)));
            wal.sync();
            wal.append(List.of(entry(4, 1, 8))); // replaces the whole log
            wal.append(entries(4, 2, 2, 8));
            wal.sync();
        }
        // The file holds all nine records; replay keeps only what the replacements left.
        assertEquals(WalTestFiles.SEGMENT_HEADER_BYTES + 8L * entryFrameBytes(8), Files.size(segment(dir(), 1)));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertSameEntries(entries(4, 1, 2, 8), wal.entries());
        }
    }

    @Test
    void appendRefusesGapsNonContiguousBatchesAndFallingTermsLeavingTheLogUnchanged() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(2, 1, 3, 8));
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(2, 5, 8))));
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(2, 4, 8), entry(2, 6, 8))));
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(1, 4, 8))));
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(2, 4, 8), entry(1, 5, 8))));
            assertSameEntries(entries(2, 1, 3, 8), wal.entries());
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertSameEntries(entries(2, 1, 3, 8), wal.entries());
        }
    }

    @Test
    void theLastHardStateSavedWins() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.saveHardState(new HardState(1, 2, 0));
            wal.sync();
            wal.saveHardState(new HardState(5, 0, 3));
            wal.saveHardState(new HardState(6, -1, 4)); // a vote is a u32 on disk: any int round-trips
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertEquals(new HardState(6, -1, 4), wal.hardState());
        }
    }

    @Test
    void segmentsRollOverWithoutSplittingRecordsAndReplayAcrossThem() throws Exception {
        WalOptions small = new WalOptions(512, 128);
        List<Entry> expected = new ArrayList<>();
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), small)) {
            for (long i = 1; i <= 60; i += 6) {
                List<Entry> batch = entries(1, i, i + 5, (int) (i % 50));
                wal.append(batch);
                expected.addAll(batch);
                wal.saveHardState(new HardState(1, 1, i));
                wal.sync();
            }
        }
        List<Path> files = segments(dir());
        assertTrue(files.size() >= 5, "expected several segments, got " + files);
        for (Path f : files) assertTrue(Files.size(f) <= 512, f + " is " + Files.size(f) + " bytes");
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), small)) {
            assertSameEntries(expected, wal.entries());
            assertEquals(new HardState(1, 1, 55), wal.hardState());
            // Appending after a reopen continues the last segment and rolls on from there.
            List<Entry> more = entries(2, 61, 90, 40);
            wal.append(more);
            expected.addAll(more);
            wal.sync();
        }
        assertTrue(segments(dir()).size() > files.size());
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), small)) {
            assertSameEntries(expected, wal.entries());
        }
    }

    @Test
    void oneSyncOfMoreThanTheWriteBufferHoldsIsWrittenInPiecesAndReplays() throws Exception {
        // recordBytesMax 1024 keeps the buffer at its 64 KiB floor, so ~260 KiB forces writes before the sync.
        WalOptions options = new WalOptions(100 * 1024, 1024);
        List<Entry> written = entries(1, 1, 2000, 100);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), options)) {
            wal.append(written);
            wal.sync();
        }
        assertTrue(segments(dir()).size() >= 3);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), options)) {
            assertSameEntries(written, wal.entries());
        }
    }

    @Test
    void aRecordOverRecordBytesMaxIsRefusedOnWrite() throws Exception {
        WalOptions options = new WalOptions(64 * 1024, 256);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), options)) {
            wal.append(entries(1, 1, 2, 10));
            // The largest entry that fits: 21 bytes of fixed fields + data = recordBytesMax.
            wal.append(List.of(entry(1, 3, 256 - 21)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(1, 4, 256 - 20))));
            assertTrue(e.getMessage().contains("recordBytesMax"), e.getMessage());
            assertEquals(3, wal.lastIndex());
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), options)) {
            assertEquals(3, wal.lastIndex());
        }
    }

    @Test
    void optionsMustLetOneLargestRecordFitInASegment() {
        assertThrows(IllegalArgumentException.class, () -> new WalOptions(16 + 8 + 1000 - 1, 1000));
        new WalOptions(16 + 8 + 1000, 1000);
        assertThrows(IllegalArgumentException.class, () -> new WalOptions(1 << 20, 10));
        assertEquals(64L * 1024 * 1024, WalOptions.defaults().segmentBytesMax());
        assertEquals(8 * 1024 * 1024, WalOptions.defaults().recordBytesMax());
    }

    @Test
    void aSecondOpenInTheSameJvmIsLockedOutUntilTheFirstCloses() throws Exception {
        WriteAheadLog first = WriteAheadLog.open(dir(), WalOptions.defaults());
        try {
            first.append(entries(1, 1, 1, 4));
            WalLockedException e = assertThrows(WalLockedException.class, () -> WriteAheadLog.open(dir(), WalOptions.defaults()));
            assertTrue(e.getMessage().contains(dir().toString()), e.getMessage());
        } finally {
            first.close();
        }
        try (WriteAheadLog second = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertEquals(1, second.lastIndex());
        }
    }

    @Test
    void aClosedWalRefusesUseAndClosesTwiceQuietly() throws Exception {
        WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults());
        wal.close();
        wal.close();
        assertThrows(IllegalStateException.class, () -> wal.append(entries(1, 1, 1, 4)));
        assertThrows(IllegalStateException.class, wal::sync);
    }

    @Test
    void aLeftoverTempSegmentFromAnInterruptedRollIsDeleted() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(1, 1, 2, 4));
        }
        Path temp = dir().resolve("wal-0000000000000002.log.tmp");
        Files.write(temp, new byte[] {'R', 'K', 'V'});
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertEquals(2, wal.lastIndex());
        }
        assertTrue(Files.notExists(temp));
    }
}
