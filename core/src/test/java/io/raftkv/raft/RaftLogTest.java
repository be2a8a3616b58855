package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RaftLog}: the stored log followed by unstable entries, the follower's AppendEntries rules (Raft paper
 * §5.3) and the term look-ups of the thesis' faster back-off. Every entry here weighs {@link #ENTRY_BYTES}.
 */
class RaftLogTest {

    private static final Membership VOTERS = Membership.ofVoters(List.of(1, 2, 3));

    private static final int DATA_BYTES = 10;
    private static final long ENTRY_BYTES = Entry.OVERHEAD_BYTES + DATA_BYTES;

    // ---------------------------------------------------------------- append and truncate

    @Test
    @DisplayName("§5.3 appended entries stay unstable after the stored ones until stableTo")
    void appendAfterStoredEntries() {
        RaftLog log = new RaftLog(storage(1, 1, 1), 0, VOTERS);
        log.append(List.of(e(4, 2), e(5, 2)));

        assertEquals(5, log.lastIndex());
        assertEquals(2, log.lastTerm());
        assertEquals(3, log.stableLastIndex());
        assertEquals(List.of(4L, 5L), indexes(log.unstableEntries()));
    }

    @Test
    @DisplayName("§5.3 unstable entries replacing a stored suffix hide it, and the stable part shrinks to before them")
    void appendOverStoredSuffix() {
        MemoryStorage disk = storage(1, 1, 1, 1, 1);
        RaftLog log = new RaftLog(disk, 0, VOTERS);
        log.append(List.of(e(3, 2)));

        assertEquals(3, log.lastIndex(), "indexes 4 and 5 of the old term are gone");
        assertEquals(2, log.term(3));
        assertEquals(1, log.term(2));
        assertEquals(-1, log.term(4));
        assertEquals(2, log.stableLastIndex());
        assertEquals(List.of(1L, 2L, 3L), indexes(log.entries(1, 4, Long.MAX_VALUE)));
        assertEquals(2, log.entries(1, 4, Long.MAX_VALUE).get(2).term());
    }

    @Test
    @DisplayName("§5.3 an append inside the unstable entries truncates them at its first index")
    void appendTruncatesUnstable() {
        RaftLog log = new RaftLog(storage(1), 0, VOTERS);
        log.append(List.of(e(2, 1), e(3, 1), e(4, 1)));
        log.append(List.of(e(3, 2)));

        assertEquals(3, log.lastIndex());
        assertEquals(List.of(2L, 3L), indexes(log.unstableEntries()));
        assertEquals(List.of(1L, 2L), log.unstableEntries().stream().map(Entry::term).toList());
    }

    @Test
    @DisplayName("§5.3 an append that would leave a gap after the last index throws")
    void appendWithGapThrows() {
        RaftLog log = new RaftLog(storage(1, 1), 0, VOTERS);
        assertThrows(IllegalStateException.class, () -> log.append(List.of(e(4, 1))));
    }

    @Test
    @DisplayName("§5.4 (State Machine Safety) an append at or below the commit index throws")
    void appendAtOrBelowCommitThrows() {
        RaftLog log = new RaftLog(storage(1, 1, 1), 0, VOTERS);
        log.commitTo(2);
        assertThrows(IllegalStateException.class, () -> log.append(List.of(e(2, 2))));
        assertThrows(IllegalStateException.class, () -> log.append(List.of(e(1, 2))));
        log.append(List.of(e(3, 2))); // just above commit is allowed
        assertEquals(2, log.term(3));
    }

    @Test
    @DisplayName("§5.3 term() gives 0 at index 0 and -1 outside the log, reading storage and unstable entries")
    void termOutsideRange() {
        RaftLog log = new RaftLog(storage(1, 2), 0, VOTERS);
        log.append(List.of(e(3, 3)));

        assertEquals(0, log.term(0));
        assertEquals(1, log.term(1));
        assertEquals(2, log.term(2));
        assertEquals(3, log.term(3));
        assertEquals(-1, log.term(4));
        assertEquals(-1, log.term(-1));
    }

    // ---------------------------------------------------------------- maybeAppend (follower side of AppendEntries)

    @Test
    @DisplayName("§5.3 AppendEntries whose preceding entry matches appends and returns the last new index")
    void maybeAppendMatching() {
        RaftLog log = new RaftLog(storage(1, 1), 0, VOTERS);
        assertEquals(4, log.maybeAppend(2, 1, 0, List.of(e(3, 2), e(4, 2))));
        assertEquals(4, log.lastIndex());
        assertEquals(2, log.term(4));
    }

    @Test
    @DisplayName("§5.3 AppendEntries whose preceding entry is missing or of another term is refused and changes nothing")
    void maybeAppendMismatch() {
        RaftLog log = new RaftLog(storage(1, 1), 0, VOTERS);
        assertEquals(-1, log.maybeAppend(2, 2, 2, List.of(e(3, 2))), "term differs at the preceding index");
        assertEquals(-1, log.maybeAppend(5, 1, 2, List.of(e(6, 1))), "preceding index beyond our log");
        assertEquals(2, log.lastIndex());
        assertEquals(0, log.committed);
        assertFalse(log.hasUnstable());
    }

    @Test
    @DisplayName("§5.3 a conflicting entry and all that follow it are replaced by the leader's")
    void maybeAppendConflict() {
        RaftLog log = new RaftLog(storage(1, 1, 1, 1), 0, VOTERS);
        assertEquals(3, log.maybeAppend(1, 1, 0, List.of(e(2, 1), e(3, 2))));

        assertEquals(3, log.lastIndex(), "the old index 4 followed the conflict and is gone");
        assertEquals(2, log.term(3));
        assertEquals(List.of(3L), indexes(log.unstableEntries()), "the matching entry 2 is not rewritten");
    }

    @Test
    @DisplayName("§5.3 entries already present are kept, and a shorter stale AppendEntries does not truncate the log")
    void maybeAppendAlreadyPresent() {
        RaftLog log = new RaftLog(storage(1, 1, 1, 1), 0, VOTERS);
        assertEquals(3, log.maybeAppend(1, 1, 0, List.of(e(2, 1), e(3, 1))));
        assertEquals(4, log.lastIndex());
        assertFalse(log.hasUnstable());
    }

    @Test
    @DisplayName("§5.3 the follower's commit becomes min(leaderCommit, index of last new entry) and never moves back")
    void maybeAppendCommit() {
        RaftLog log = new RaftLog(storage(1, 1, 1, 1, 1), 0, VOTERS);
        log.maybeAppend(1, 1, 10, List.of(e(2, 1)));
        assertEquals(2, log.committed, "bounded by the last entry the message vouches for, not by our longer log");
        log.maybeAppend(3, 1, 4, List.of());
        assertEquals(3, log.committed);
        log.maybeAppend(4, 1, 4, List.of());
        assertEquals(4, log.committed);
        log.maybeAppend(4, 1, 1, List.of());
        assertEquals(4, log.committed, "a lower leader commit does not move it back");
    }

    @Test
    @DisplayName("§5.3 commitTo past the last index throws")
    void commitPastLastThrows() {
        RaftLog log = new RaftLog(storage(1, 1), 0, VOTERS);
        assertThrows(IllegalStateException.class, () -> log.commitTo(3));
    }

    // ---------------------------------------------------------------- stableTo

    @Test
    @DisplayName("Ready contract: stableTo marks entries persisted up to (index, term), ignoring a stale term")
    void stableTo() {
        MemoryStorage disk = storage(1);
        RaftLog log = new RaftLog(disk, 0, VOTERS);
        log.append(List.of(e(2, 1), e(3, 1), e(4, 1)));

        log.stableTo(3, 2);
        assertEquals(1, log.stableLastIndex(), "term mismatch: those entries were replaced, not persisted");

        disk.append(List.of(e(2, 1), e(3, 1)));
        log.stableTo(3, 1);
        assertEquals(3, log.stableLastIndex());
        assertEquals(List.of(4L), indexes(log.unstableEntries()));

        log.stableTo(2, 1);
        assertEquals(3, log.stableLastIndex(), "an older stableTo changes nothing");
    }

    // ---------------------------------------------------------------- entries()

    @Test
    @DisplayName("§5.3 entries() reads across the storage/unstable boundary")
    void entriesAcrossBoundary() {
        RaftLog log = new RaftLog(storage(1, 1, 1), 0, VOTERS);
        log.append(List.of(e(4, 2), e(5, 2), e(6, 2)));

        assertEquals(List.of(2L, 3L, 4L, 5L), indexes(log.entries(2, 6, Long.MAX_VALUE)));
        assertEquals(List.of(4L, 5L), indexes(log.entries(4, 6, Long.MAX_VALUE)));
        assertEquals(List.of(1L, 2L), indexes(log.entries(1, 3, Long.MAX_VALUE)));
        assertEquals(List.of(), log.entries(3, 3, Long.MAX_VALUE));
    }

    @Test
    @DisplayName("§5.3 entries() stops at the byte limit, in storage or past the boundary")
    void entriesByteLimit() {
        RaftLog log = new RaftLog(storage(1, 1, 1), 0, VOTERS);
        log.append(List.of(e(4, 2), e(5, 2), e(6, 2)));
        long twoEntries = 2 * ENTRY_BYTES;

        assertEquals(List.of(1L, 2L), indexes(log.entries(1, 7, twoEntries)), "stops inside storage");
        assertEquals(List.of(3L, 4L), indexes(log.entries(3, 7, twoEntries)), "counts storage bytes past the boundary");
        assertEquals(List.of(4L, 5L), indexes(log.entries(4, 7, twoEntries + ENTRY_BYTES - 1)), "unstable only");
    }

    @Test
    @DisplayName("§5.3 entries() returns at least one entry even when it alone exceeds the byte limit")
    void entriesAtLeastOne() {
        RaftLog log = new RaftLog(storage(1, 1, 1), 0, VOTERS);
        log.append(List.of(e(4, 2)));

        assertEquals(List.of(1L), indexes(log.entries(1, 5, 1)));
        assertEquals(List.of(3L), indexes(log.entries(3, 5, 1)));
        assertEquals(List.of(4L), indexes(log.entries(4, 5, 1)));
    }

    @Test
    @DisplayName("§5.3 entries() outside the log throws")
    void entriesOutsideLog() {
        RaftLog log = new RaftLog(storage(1, 1), 0, VOTERS);
        assertThrows(IndexOutOfBoundsException.class, () -> log.entries(0, 2, Long.MAX_VALUE));
        assertThrows(IndexOutOfBoundsException.class, () -> log.entries(1, 4, Long.MAX_VALUE));
        assertThrows(IndexOutOfBoundsException.class, () -> log.entries(2, 1, Long.MAX_VALUE));
    }

    @Test
    @DisplayName("§5.3 committed entries are handed out from applied+1 up to commit, bounded in bytes")
    void nextCommittedRespectsBytes() {
        RaftLog log = new RaftLog(storage(1, 1, 1, 1), 0, VOTERS);
        log.commitTo(3);
        assertEquals(List.of(1L, 2L), indexes(log.nextCommitted(2 * ENTRY_BYTES)));
        log.appliedTo(2);
        assertEquals(List.of(3L), indexes(log.nextCommitted(Long.MAX_VALUE)));
        log.appliedTo(3);
        assertFalse(log.hasNextCommitted());
        assertThrows(IllegalStateException.class, () -> log.appliedTo(4), "applied past commit");
    }

    // ---------------------------------------------------------------- term look-ups for the faster back-off

    @Test
    @DisplayName("§5.3 (thesis faster back-off) firstIndexOfTermAt finds where the term at an index starts, never at or below commit")
    void firstIndexOfTermAt() {
        RaftLog log = new RaftLog(storage(1, 1, 2, 2, 2, 3), 0, VOTERS);
        assertEquals(3, log.firstIndexOfTermAt(5));
        assertEquals(3, log.firstIndexOfTermAt(3));
        assertEquals(6, log.firstIndexOfTermAt(6));
        assertEquals(1, log.firstIndexOfTermAt(2));

        log.commitTo(3);
        assertEquals(4, log.firstIndexOfTermAt(5), "the search stops above the commit index");
    }

    @Test
    @DisplayName("§5.3 (thesis faster back-off) lastIndexOfTerm finds the last entry of a term at or below a bound, or -1")
    void lastIndexOfTerm() {
        RaftLog log = new RaftLog(storage(1, 1, 3, 3, 3, 4), 0, VOTERS);
        assertEquals(5, log.lastIndexOfTerm(3, 6));
        assertEquals(4, log.lastIndexOfTerm(3, 4));
        assertEquals(2, log.lastIndexOfTerm(1, 6));
        assertEquals(6, log.lastIndexOfTerm(4, 100), "the bound is clipped to the last index");
        assertEquals(-1, log.lastIndexOfTerm(2, 6), "no entry of term 2");
        assertEquals(-1, log.lastIndexOfTerm(5, 6), "no entry of term 5");
        assertEquals(-1, log.lastIndexOfTerm(3, 2), "term 3 starts above the bound");
    }

    // ---------------------------------------------------------------- up-to-date check and restart

    @Test
    @DisplayName("§5.4.1 a log is at least as up-to-date if its last term is higher, or equal with an index at least as high")
    void isUpToDate() {
        RaftLog log = new RaftLog(storage(1, 2, 2), 0, VOTERS);
        assertTrue(log.isUpToDate(1, 3), "higher last term wins even if shorter");
        assertTrue(log.isUpToDate(3, 2));
        assertTrue(log.isUpToDate(4, 2));
        assertFalse(log.isUpToDate(2, 2), "same term, shorter");
        assertFalse(log.isUpToDate(10, 1), "lower last term loses even if longer");
    }

    @Test
    @DisplayName("Figure 2 a log restarts with the persisted commit index, cut back to the persisted entries if the log lost its tail")
    void restartReadsPersistedCommit() {
        MemoryStorage disk = storage(1, 1, 1);
        disk.setHardState(new HardState(1, RaftCore.NONE, 2));
        RaftLog log = new RaftLog(disk, 1, VOTERS);
        assertEquals(2, log.committed);
        assertEquals(1, log.applied);
        assertEquals(List.of(2L), indexes(log.nextCommitted(Long.MAX_VALUE)));

        disk.setHardState(new HardState(1, RaftCore.NONE, 4));
        assertEquals(3, new RaftLog(disk, 0, VOTERS).committed, "commit 4 on a log of 3 entries: the log lost its tail");
    }

    // ---------------------------------------------------------------- helpers

    /** A storage holding one entry per given term, at indexes 1, 2, ... */
    private static MemoryStorage storage(long... terms) {
        MemoryStorage disk = new MemoryStorage();
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < terms.length; i++) entries.add(e(i + 1, terms[i]));
        disk.append(entries);
        return disk;
    }

    private static Entry e(long index, long term) {
        return new Entry(term, index, new byte[DATA_BYTES]);
    }

    private static List<Long> indexes(List<Entry> entries) {
        return entries.stream().map(Entry::index).toList();
    }
}
