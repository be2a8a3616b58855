package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The log as the core sees it: what {@link Storage} holds durably, followed by the unstable entries that
 * were appended since: first those handed out in a {@link Ready} whose persistence the driver has not reported yet
 * (in progress, up to {@link #inProgressLastIndex}), then those waiting to be handed out. Unstable entries
 * may replace a suffix of the stored ones (a follower's conflicting tail), in progress ones too; storage is only read
 * below {@link #unstableOffset}. A snapshot received from the leader and not yet handed out ({@link #unstableSnapshot})
 * replaces the whole stored log: while it waits, storage is not read at all.
 */
final class RaftLog {

    private final Storage storage;
    private final ArrayList<Entry> unstable = new ArrayList<>();
    /** Index of the first unstable entry; when none, one past the last stored entry. */
    private long unstableOffset;
    /**
     * Last index handed to the driver to persist and not yet reported durable; {@code unstableOffset - 1} when none. The
     * driver persists in the background (etcd's async storage writes): the core goes on while the disk works.
     */
    private long inProgressLastIndex;
    /** A snapshot to install, waiting to be handed out in a Ready and persisted; null when none. */
    private SnapshotId unstableSnapshot;
    /** The configuration at {@link #unstableSnapshot}; null when none waits. */
    private Membership unstableSnapshotMembership;
    private final ConfigHistory configs;
    long committed;
    long applied;

    /** {@code bootstrap}: the configuration at index 0, for a log that starts at 1. */
    RaftLog(Storage storage, long applied, Membership bootstrap) {
        this.storage = storage;
        this.unstableOffset = storage.lastIndex() + 1;
        this.inProgressLastIndex = storage.lastIndex();
        // A commit index past the log means the log lost a tail it had (a damaged disk cut at recovery): what is
        // left was committed, and the leader tells the rest again. Everything a snapshot covers was committed.
        this.committed = Math.max(storage.snapshot().index(), Math.min(storage.hardState().commit(), storage.lastIndex()));
        if (storage.snapshot().index() > storage.lastIndex() || storage.snapshot().index() < storage.firstIndex() - 1) {
            throw new IllegalArgumentException("snapshot " + storage.snapshot() + " outside the log [" + storage.firstIndex() + ", " + storage.lastIndex() + "]");
        }
        if (applied > committed) throw new IllegalArgumentException("applied " + applied + " is past commit " + committed);
        if (applied < storage.firstIndex() - 1) {
            throw new IllegalArgumentException("applied " + applied + " is before the log's first index " + storage.firstIndex()
                    + ": the state machine must be restored from the snapshot first");
        }
        this.applied = applied;
        long snapshotIndex = storage.snapshot().index();
        this.configs = new ConfigHistory(snapshotIndex, snapshotIndex > 0 ? storage.snapshotMembership() : bootstrap);
        for (long i = Math.max(snapshotIndex + 1, storage.firstIndex()); i <= storage.lastIndex(); ) {
            List<Entry> batch = storage.entries(i, storage.lastIndex() + 1, 64L << 20);
            for (Entry e : batch) noteConfig(e);
            i += batch.size();
        }
        configs.pruneTo(applied);
    }

    private void noteConfig(Entry e) {
        if (Membership.isConfigEntry(e)) configs.add(e.index(), Membership.fromEntry(e));
    }

    /** The node's configuration: the latest in the log, committed or not (thesis §4.1). */
    Membership membership() {
        return configs.latest();
    }

    /** Index of the entry that set {@link #membership()} (the snapshot's or 0 when none in the log did). */
    long membershipIndex() {
        return configs.latestIndex();
    }

    /** The configuration in force at the commit index. */
    Membership committedMembership() {
        return configs.at(committed);
    }

    /** The configuration the state machine reflects: the one in force at the applied index. */
    Membership appliedMembership() {
        return configs.at(applied);
    }

    /** The first index whose entry the log can hand out; the term of the one before it is still known. */
    long firstIndex() {
        return unstableSnapshot != null ? unstableSnapshot.index() + 1 : storage.firstIndex();
    }

    /** The snapshot a follower that needs entries before {@link #firstIndex()} must be sent. */
    SnapshotId snapshot() {
        return unstableSnapshot != null ? unstableSnapshot : storage.snapshot();
    }

    /** The configuration at {@link #snapshot()}. */
    Membership snapshotMembership() {
        return unstableSnapshot != null ? unstableSnapshotMembership : storage.snapshotMembership();
    }

    long lastIndex() {
        return unstableOffset + unstable.size() - 1;
    }

    long lastTerm() {
        return term(lastIndex());
    }

    /** Term at {@code index}, or -1 when the log does not hold that index (compacted away, or past its end). */
    long term(long index) {
        if (index == 0) return 0;
        if (index < firstIndex() - 1 || index > lastIndex()) return -1;
        if (index >= unstableOffset) return unstable.get((int) (index - unstableOffset)).term();
        if (unstableSnapshot != null) return unstableSnapshot.term();
        return storage.term(index);
    }

    boolean matchTerm(long index, long term) {
        return term(index) == term;
    }

    /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
    boolean isUpToDate(long lastIndex, long lastTerm) {
        long ourTerm = lastTerm();
        return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= lastIndex());
    }

    /** Entries in [lo, hi) up to about {@code maxBytes} (at least one when lo &lt; hi). */
    List<Entry> entries(long lo, long hi, long maxBytes) {
        if (lo < firstIndex() || hi > lastIndex() + 1 || lo > hi) throw new IndexOutOfBoundsException("[" + lo + ", " + hi + ") outside the log, last " + lastIndex());
        if (lo == hi) return List.of();
        List<Entry> result;
        if (lo < unstableOffset) {
            result = storage.entries(lo, Math.min(hi, unstableOffset), maxBytes);
            if (hi <= unstableOffset || lo + result.size() < unstableOffset) return result;
        } else {
            result = new ArrayList<>();
        }
        long bytes = 0;
        for (Entry e : result) bytes += e.sizeBytes();
        for (long i = Math.max(lo, unstableOffset); i < hi; i++) {
            Entry e = unstable.get((int) (i - unstableOffset));
            bytes += e.sizeBytes();
            if (!result.isEmpty() && bytes > maxBytes) break;
            result.add(e);
        }
        return result;
    }

    void append(List<Entry> entries) {
        if (entries.isEmpty()) return;
        long first = entries.get(0).index();
        if (first <= committed) throw new IllegalStateException("append at " + first + " would overwrite committed entry, commit " + committed);
        if (first > lastIndex() + 1) throw new IllegalStateException("append at " + first + " leaves a gap after " + lastIndex());
        if (first <= unstableOffset) {
            // The new entries replace part of the stored log: storage drops that tail when they are persisted.
            unstable.clear();
            unstableOffset = first;
        } else {
            while (unstableOffset + unstable.size() > first) unstable.remove(unstable.size() - 1);
        }
        // Replaced entries still being written are written again, after: the driver persists in order.
        inProgressLastIndex = Math.min(inProgressLastIndex, first - 1);
        configs.truncateFrom(first);
        unstable.addAll(entries);
        for (Entry e : entries) noteConfig(e);
    }

    /**
     * The follower side of AppendEntries (§5.3): when our log has (prevIndex, prevTerm), drops whatever
     * conflicts with {@code entries}, appends the rest and advances commit. Returns the index of the last
     * entry now known to match the leader, or -1 when (prevIndex, prevTerm) does not match.
     */
    long maybeAppend(long prevIndex, long prevTerm, long leaderCommit, List<Entry> entries) {
        if (!matchTerm(prevIndex, prevTerm)) return -1;
        long lastNew = prevIndex + entries.size();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!matchTerm(e.index(), e.term())) {
                append(entries.subList(i, entries.size()));
                break;
            }
        }
        // Figure 2: commitIndex = min(leaderCommit, index of last new entry). Protocol, not a clamp: past
        // lastNew our log may still hold entries that conflict with the leader's.
        commitTo(Math.min(leaderCommit, lastNew));
        return lastNew;
    }

    /** Raises commit to {@code index}; a lower index (an older message's commit) leaves it: commit never goes back. */
    void commitTo(long index) {
        if (index <= committed) return;
        if (index > lastIndex()) throw new IllegalStateException("commit " + index + " is past the last index " + lastIndex());
        committed = index;
    }

    /** The first index of the run of entries with the same term as {@code index}, not looking at or below commit. */
    long firstIndexOfTermAt(long index) {
        long term = term(index);
        long first = index;
        while (first - 1 > committed && term(first - 1) == term) first--;
        return first;
    }

    /** The last index &lt;= {@code upTo} holding {@code term}, or -1 when the log has no entry of that term there. */
    long lastIndexOfTerm(long term, long upTo) {
        long i = Math.min(upTo, lastIndex());
        while (i > 0 && term(i) > term) i--;
        return i > 0 && term(i) == term ? i : -1;
    }

    /**
     * The leader's snapshot {@code id} replaces this log, which does not hold its last entry (§7): everything
     * goes, the log continues after the snapshot, committed and applied move to it (the driver restores the state
     * machine before it applies anything after).
     */
    void restore(SnapshotId id, Membership membership) {
        if (id.index() <= committed) throw new IllegalStateException("restoring snapshot " + id + " at or below commit " + committed);
        unstableSnapshot = id;
        unstableSnapshotMembership = membership;
        configs.reset(id.index(), membership);
        unstable.clear();
        unstableOffset = id.index() + 1;
        inProgressLastIndex = id.index();
        committed = id.index();
        applied = id.index();
    }

    SnapshotId unstableSnapshot() {
        return unstableSnapshot;
    }

    /** The driver installed the snapshot it was handed: storage now starts after it. */
    void snapshotInstalled(SnapshotId id) {
        if (id.equals(unstableSnapshot)) {
            unstableSnapshot = null;
            unstableSnapshotMembership = null;
        }
    }

    Membership unstableSnapshotMembership() {
        return unstableSnapshotMembership;
    }

    /** The unstable entries not handed out yet. */
    List<Entry> unstableEntries() {
        return List.copyOf(unstable.subList((int) (inProgressLastIndex + 1 - unstableOffset), unstable.size()));
    }

    boolean hasUnstable() {
        return lastIndex() > inProgressLastIndex || unstableSnapshot != null;
    }

    /** The driver took the unstable entries up to {@code index} to persist. */
    void inProgressTo(long index) {
        if (index < inProgressLastIndex || index > lastIndex()) {
            throw new IllegalStateException("entries up to " + index + " handed out, with " + inProgressLastIndex + " in progress and last index " + lastIndex());
        }
        inProgressLastIndex = index;
    }

    /** Index of the last entry known durable. */
    long stableLastIndex() {
        return unstableOffset - 1;
    }

    /** The driver persisted entries up to (index, term): they are no longer unstable. */
    void stableTo(long index, long term) {
        if (term(index) != term || index < unstableOffset) return;
        int n = (int) (index - unstableOffset + 1);
        unstable.subList(0, n).clear();
        unstableOffset = index + 1;
        inProgressLastIndex = Math.max(inProgressLastIndex, index);
    }

    /**
     * The last entry that may be applied: committed and durable here too. A committed entry is durable on a majority
     * already, but etcd applies only what is local as well, so that what a node applied is always in its own log
     * (its snapshots and restarts depend on it).
     */
    private long applicableLastIndex() {
        return Math.min(committed, stableLastIndex());
    }

    boolean hasNextCommitted() {
        return applicableLastIndex() > applied;
    }

    List<Entry> nextCommitted(long maxBytes) {
        return hasNextCommitted() ? entries(applied + 1, applicableLastIndex() + 1, maxBytes) : List.of();
    }

    void appliedTo(long index) {
        if (index > committed || index < applied) throw new IllegalStateException("applied " + index + " outside [" + applied + ", " + committed + "]");
        applied = index;
        configs.pruneTo(index);
    }
}
