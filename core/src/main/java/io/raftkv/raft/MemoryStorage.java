package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Storage} kept in memory: the simulator's "disk", and the in-memory view a WAL-backed node keeps
 * of what it has made durable. Holds the entries after a boundary (index and term of the last entry
 * compacted away, (0, 0) while nothing is) and the newest snapshot.
 */
public final class MemoryStorage implements Storage {

    private final ArrayList<Entry> entries = new ArrayList<>();
    private HardState hardState = HardState.EMPTY;
    private long boundaryIndex;
    private long boundaryTerm;
    private SnapshotId snapshot = SnapshotId.NONE;
    private Membership snapshotMembership = Membership.EMPTY;

    @Override
    public HardState hardState() {
        return hardState;
    }

    public void setHardState(HardState hardState) {
        this.hardState = hardState;
    }

    @Override
    public long firstIndex() {
        return boundaryIndex + 1;
    }

    @Override
    public long lastIndex() {
        return boundaryIndex + entries.size();
    }

    @Override
    public long term(long index) {
        if (index == boundaryIndex) return boundaryTerm;
        checkHeld(index);
        return entry(index).term();
    }

    public Entry entry(long index) {
        checkHeld(index);
        return entries.get((int) (index - boundaryIndex - 1));
    }

    @Override
    public List<Entry> entries(long lo, long hi, long maxBytes) {
        if (lo <= boundaryIndex || hi > lastIndex() + 1 || lo > hi) {
            throw new IndexOutOfBoundsException("[" + lo + ", " + hi + ") outside [" + firstIndex() + ", " + (lastIndex() + 1) + ")");
        }
        return limitBytes(entries.subList((int) (lo - boundaryIndex - 1), (int) (hi - boundaryIndex - 1)), maxBytes);
    }

    @Override
    public SnapshotId snapshot() {
        return snapshot;
    }

    @Override
    public Membership snapshotMembership() {
        return snapshotMembership;
    }

    /**
     * Appends entries, first dropping every stored entry at or after the first new index: a follower's
     * conflicting suffix is replaced as a whole (§5.3).
     */
    public void append(List<Entry> newEntries) {
        if (newEntries.isEmpty()) return;
        long first = newEntries.get(0).index();
        if (first <= boundaryIndex || first > lastIndex() + 1) {
            throw new IllegalArgumentException("append at " + first + " outside [" + firstIndex() + ", " + (lastIndex() + 1) + "]");
        }
        truncateFrom(first);
        for (Entry e : newEntries) {
            if (e.index() != lastIndex() + 1) throw new IllegalArgumentException("entries not contiguous at " + e.index());
            entries.add(e);
        }
    }

    /** Drops the entries at {@code index} and after. */
    public void truncateFrom(long index) {
        long from = Math.max(index, boundaryIndex + 1);
        if (from > lastIndex()) return;
        entries.subList((int) (from - boundaryIndex - 1), entries.size()).clear();
    }

    /** A snapshot up to {@code id} is durable: followers too far behind get it from now on. */
    public void setSnapshot(SnapshotId id, Membership membership) {
        if (id.index() < snapshot.index()) throw new IllegalArgumentException("snapshot " + id + " is older than " + snapshot);
        if (id.index() < boundaryIndex) throw new IllegalArgumentException("snapshot " + id + " ends before the log's boundary " + boundaryIndex);
        snapshot = id;
        snapshotMembership = membership;
    }

    /**
     * Drops the entries up to and including {@code index} (which must be held, and covered by the snapshot): only
     * its term stays known. A call at or below the current boundary changes nothing.
     */
    public void compactTo(long index) {
        if (index <= boundaryIndex) return;
        if (index > snapshot.index()) throw new IllegalArgumentException("compacting to " + index + " past the snapshot " + snapshot);
        if (index > lastIndex()) throw new IllegalArgumentException("compacting to " + index + " past the last index " + lastIndex());
        long term = term(index);
        entries.subList(0, (int) (index - boundaryIndex)).clear();
        entries.trimToSize();
        boundaryIndex = index;
        boundaryTerm = term;
    }

    /** The log is replaced by the snapshot {@code id}: nothing held, the next entry is id.index() + 1. */
    public void installSnapshot(SnapshotId id, Membership membership) {
        entries.clear();
        entries.trimToSize();
        boundaryIndex = id.index();
        boundaryTerm = id.term();
        snapshot = id;
        snapshotMembership = membership;
    }

    private void checkHeld(long index) {
        if (index <= boundaryIndex || index > lastIndex()) {
            throw new IndexOutOfBoundsException("no entry " + index + ": the log holds [" + firstIndex() + ", " + lastIndex() + "]");
        }
    }

    static List<Entry> limitBytes(List<Entry> candidates, long maxBytes) {
        long bytes = 0;
        int n = 0;
        for (Entry e : candidates) {
            bytes += e.sizeBytes();
            if (n > 0 && bytes > maxBytes) break;
            n++;
        }
        return new ArrayList<>(candidates.subList(0, n));
    }
}
