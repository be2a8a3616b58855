package io.raftkv.wal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.raftkv.wal.WalTestFiles.assertSameEntries;
import static io.raftkv.wal.WalTestFiles.entries;
import static io.raftkv.wal.WalTestFiles.entry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A log that no longer starts at index 1: resetTo (a snapshot from the leader replaces the log, Raft §7). */
class WalLogStartTest {

    private static final int DATA_BYTES = 20;

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

    private static void assertLogStartsAfter(WriteAheadLog wal, LogStart start) {
        assertEquals(start, wal.logStart());
        assertEquals(start.index() + 1, wal.firstIndex());
    }
}
