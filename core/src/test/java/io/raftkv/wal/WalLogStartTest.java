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
import static io.raftkv.wal.WalTestFiles.segment;
import static io.raftkv.wal.WalTestFiles.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A log that no longer starts at index 1: resetTo (a snapshot from the leader replaces the log, Raft §7) and
 * releaseUpTo (a local snapshot makes old segments redundant), in memory and across reopens and crashes.
 */
class WalLogStartTest {

    /** (256 - 16) / 49 = 4 entry records of {@link #DATA_BYTES} per segment. */
    private static final WalOptions SMALL = new WalOptions(256, 128);
    private static final int DATA_BYTES = 20;
    private static final HardState HS = new HardState(4, 2, 9);

    @TempDir
    Path tmp;

    private Path dir() {
        return tmp.resolve("wal");
    }

    @Test
    void resetToDropsTheLogAndAReopenFindsItEmptyAfterTheSnapshot() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(1, 1, 5, DATA_BYTES));
            wal.resetTo(10, 3);
            assertLogStartsAfter(wal, new LogStart(10, 3));
            assertTrue(wal.entries().isEmpty());
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertLogStartsAfter(wal, new LogStart(10, 3));
            assertTrue(wal.entries().isEmpty());
            assertEquals(10, wal.lastIndex());
        }
    }

    @Test
    void anAppendAfterResetToContinuesAtTheNextIndexAndSurvivesReopen() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.append(entries(1, 1, 20, DATA_BYTES));
            wal.resetTo(10, 3); // below the last index: a follower discards its whole log for the leader's snapshot
            wal.append(entries(3, 11, 13, DATA_BYTES));
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertLogStartsAfter(wal, new LogStart(10, 3));
            assertSameEntries(entries(3, 11, 13, DATA_BYTES), wal.entries());
            assertEquals(13, wal.lastIndex());
            // Replacing the first entry held is allowed; its term is checked against the log start's.
            wal.append(entries(4, 11, 11, DATA_BYTES));
            assertSameEntries(entries(4, 11, 11, DATA_BYTES), wal.entries());
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertSameEntries(entries(4, 11, 11, DATA_BYTES), wal.entries());
        }
    }

    @Test
    void forgetUpToDropsEntriesFromMemoryOnlyAndAReopenFindsThemOnDisk() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            wal.append(entries(1, 1, 20, DATA_BYTES));
            wal.sync();
            wal.forgetUpTo(15);
            assertLogStartsAfter(wal, new LogStart(15, 1));
            assertSameEntries(entries(1, 16, 20, DATA_BYTES), wal.entries());
            assertThrows(IllegalArgumentException.class, () -> wal.append(entries(1, 15, 16, DATA_BYTES)), "below what memory holds");
            assertThrows(IllegalArgumentException.class, () -> wal.forgetUpTo(21));
            wal.forgetUpTo(3); // at or below the log start: nothing
            assertEquals(16, wal.firstIndex());
            assertTrue(wal.releaseUpTo(5) > 0, "the segments of entries 1..5 go, from disk");
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertTrue(wal.firstIndex() <= 6, "what was forgotten but not released is on disk: " + wal.firstIndex());
            assertEquals(20, wal.lastIndex());
        }
    }

    @Test
    void appendsThatLeaveAGapOrReachBelowTheLogStartOrLowerItsTermAreRefused() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            wal.resetTo(10, 3);
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(3, 12, 8))));
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(3, 10, 8))));
            assertThrows(IllegalArgumentException.class, () -> wal.append(List.of(entry(2, 11, 8))));
            wal.append(entries(3, 11, 12, 8));
            IllegalArgumentException below = assertThrows(IllegalArgumentException.class, () -> wal.append(entries(3, 10, 12, 8)));
            assertTrue(below.getMessage().contains("below the first index 11"), below.getMessage());
            assertSameEntries(entries(3, 11, 12, 8), wal.entries());
        }
    }

    @Test
    void resetToRefusesAStartBeforeTheCurrentOneOrBelowIndexOne() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), WalOptions.defaults())) {
            assertThrows(IllegalArgumentException.class, () -> wal.resetTo(0, 0));
            assertThrows(IllegalArgumentException.class, () -> wal.resetTo(5, 0));
            wal.resetTo(10, 3);
            assertThrows(IllegalArgumentException.class, () -> wal.resetTo(9, 3));
            assertThrows(IllegalArgumentException.class, () -> wal.resetTo(12, 2));
            assertLogStartsAfter(wal, new LogStart(10, 3));
        }
    }

    /**
     * Hard state + entries 1..4 in segment 1 (241 bytes), then 4 entries a segment: 5..8, 9..12, 13..16, and
     * 17..lastIndex in segment 5.
     */
    private void writeFiveSegments(long lastIndex) throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            wal.saveHardState(HS);
            wal.append(entries(1, 1, lastIndex, DATA_BYTES));
            wal.sync();
        }
        assertEquals(List.of(segment(dir(), 1), segment(dir(), 2), segment(dir(), 3), segment(dir(), 4), segment(dir(), 5)), segments(dir()));
    }

    @Test
    void releaseUpToDeletesTheOldSegmentsAndAReopenKeepsTheNewestHardState() throws Exception {
        writeFiveSegments(20);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertEquals(2, wal.releaseUpTo(10)); // segment 3 holds 9..12: it stays
            assertLogStartsAfter(wal, new LogStart(10, 1));
            assertSameEntries(entries(1, 11, 20, DATA_BYTES), wal.entries());
        }
        assertTrue(Files.notExists(segment(dir(), 1)) && Files.notExists(segment(dir(), 2)));
        assertEquals(segment(dir(), 3), segments(dir()).get(0));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            // The only hard state segment 1 held was written again before it went.
            assertEquals(HS, wal.hardState());
            // The log starts at the first entry of the oldest segment kept; the boundary's term is the snapshot's to know.
            assertLogStartsAfter(wal, new LogStart(8, 0));
            assertSameEntries(entries(1, 9, 20, DATA_BYTES), wal.entries());
            // Released again after a reopen, from what replay learnt about each segment.
            wal.append(entries(2, 21, 24, DATA_BYTES));
            assertEquals(2, wal.releaseUpTo(17));
            wal.saveHardState(new HardState(5, 1, 22));
            wal.sync();
        }
        assertEquals(segment(dir(), 5), segments(dir()).get(0));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertEquals(new HardState(5, 1, 22), wal.hardState());
            List<Entry> expected = new ArrayList<>(entries(1, 17, 20, DATA_BYTES));
            expected.addAll(entries(2, 21, 24, DATA_BYTES));
            assertSameEntries(expected, wal.entries());
        }
    }

    @Test
    void releasingEverythingLeavesOnlyTheCurrentSegmentAndAnEmptyLogAfterTheLastEntry() throws Exception {
        writeFiveSegments(19);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertEquals(4, wal.releaseUpTo(19));
            assertLogStartsAfter(wal, new LogStart(19, 1));
            assertTrue(wal.entries().isEmpty());
            assertThrows(IllegalArgumentException.class, () -> wal.releaseUpTo(20)); // past the last index
        }
        assertEquals(List.of(segment(dir(), 5)), segments(dir()));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            // Segment 5 alone, and it still holds entries 17..19: the log start written after them drops them again.
            assertLogStartsAfter(wal, new LogStart(19, 1));
            assertTrue(wal.entries().isEmpty());
            assertEquals(HS, wal.hardState());
            wal.append(entries(2, 20, 21, DATA_BYTES));
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertSameEntries(entries(2, 20, 21, DATA_BYTES), wal.entries());
        }
    }

    @Test
    void aSuffixRewriteAfterAReleaseReplaysTheSameLog() throws Exception {
        writeFiveSegments(20);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertEquals(2, wal.releaseUpTo(8));
            wal.append(entries(2, 10, 14, DATA_BYTES)); // replaces 10..20, which sit in segments 3, 4 and 5
            wal.sync();
        }
        List<Entry> expected = new ArrayList<>(entries(1, 9, 9, DATA_BYTES));
        expected.addAll(entries(2, 10, 14, DATA_BYTES));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertSameEntries(expected, wal.entries());
        }
    }

    /**
     * A follower's uncommitted 3..10 are replaced from 3 (§5.3) while 1..8 sit in segments 1 and 2. Releasing
     * up to 6 deletes segment 1 (1..4), so replay meets 5..10 and then the rewrite at 3, below where it found the
     * log to start: the segment that held 1..4 is gone, so the log starts again at 3.
     */
    @Test
    void aRewriteBelowTheOldestSegmentKeptReplaysAfterARelease() throws Exception {
        List<Entry> rewritten = entries(2, 3, 12, DATA_BYTES);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            wal.append(entries(1, 1, 10, DATA_BYTES)); // segments 1: 1..4, 2: 5..8, 3: 9, 10 ...
            wal.sync();
            wal.append(rewritten); // ... 3, 4; then 4: 5..8, 5: 9..12
            wal.sync();
            assertEquals(1, wal.releaseUpTo(6));
            assertSameEntries(rewritten.subList(4, rewritten.size()), wal.entries());
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertLogStartsAfter(wal, new LogStart(2, 0));
            assertSameEntries(rewritten, wal.entries());
        }
    }

    @Test
    void aCrashPartWayThroughAReleaseLeavesNewerSegmentsThatReplay() throws Exception {
        writeFiveSegments(20);
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            wal.saveHardState(HS); // what releaseUpTo writes again before it deletes anything
            wal.sync();
        }
        // releaseUpTo(16) would delete segments 1, 2 and 3, oldest first; the crash came after the first.
        Files.delete(segment(dir(), 1));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertEquals(HS, wal.hardState());
            assertLogStartsAfter(wal, new LogStart(4, 0));
            assertSameEntries(entries(1, 5, 20, DATA_BYTES), wal.entries());
            assertEquals(3, wal.releaseUpTo(16)); // the restarted release finishes the job: segments 2, 3 and 4
        }
        assertEquals(segment(dir(), 5), segments(dir()).get(0));
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertEquals(HS, wal.hardState());
            assertSameEntries(entries(1, 17, 20, DATA_BYTES), wal.entries());
        }
    }

    @Test
    void aSegmentHoldingALogStartStaysUntilTheReleaseReachesIt() throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            wal.append(entries(1, 1, 8, DATA_BYTES)); // segments 1 and 2
            wal.resetTo(100, 5);                      // still in segment 2, after entry 8
            wal.append(entries(5, 101, 104, DATA_BYTES));
            wal.sync();
            // Entries up to 8 are all inside the snapshot, but segment 2 also holds the log start at 100.
            assertEquals(1, wal.releaseUpTo(50));
            assertEquals(segment(dir(), 2), segments(dir()).get(0));
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir(), SMALL)) {
            assertLogStartsAfter(wal, new LogStart(100, 5)); // the boundary's term survives with its record
            assertSameEntries(entries(5, 101, 104, DATA_BYTES), wal.entries());
        }
    }

    private static void assertLogStartsAfter(WriteAheadLog wal, LogStart start) {
        assertEquals(start, wal.logStart());
        assertEquals(start.index() + 1, wal.firstIndex());
    }
}
