package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Storage} kept in memory: the simulator's "disk", and the in-memory view a WAL-backed node keeps
 * of what it has made durable.
 */
public final class MemoryStorage implements Storage {

    private final ArrayList<Entry> entries = new ArrayList<>();
    private HardState hardState = HardState.EMPTY;

    @Override
    public HardState hardState() {
        return hardState;
    }

    public void setHardState(HardState hardState) {
        this.hardState = hardState;
    }

    @Override
    public long lastIndex() {
        return entries.size();
    }

    @Override
    public long term(long index) {
        if (index == 0) return 0;
        if (index < 0 || index > entries.size()) throw new IndexOutOfBoundsException("no entry " + index + ", last is " + entries.size());
        return entries.get((int) index - 1).term();
    }

    public Entry entry(long index) {
        return entries.get((int) index - 1);
    }

    @Override
    public List<Entry> entries(long lo, long hi, long maxBytes) {
        if (lo < 1 || hi > entries.size() + 1 || lo > hi) throw new IndexOutOfBoundsException("[" + lo + ", " + hi + ") outside [1, " + (entries.size() + 1) + ")");
        return limitBytes(entries.subList((int) lo - 1, (int) hi - 1), maxBytes);
    }

    /**
     * Appends entries, first dropping every stored entry at or after the first new index: a follower's
     * conflicting suffix is replaced as a whole (§5.3).
     */
    public void append(List<Entry> newEntries) {
        if (newEntries.isEmpty()) return;
        long first = newEntries.get(0).index();
        if (first < 1 || first > entries.size() + 1) throw new IllegalArgumentException("append at " + first + " leaves a gap after " + entries.size());
        truncateFrom(first);
        for (Entry e : newEntries) {
            if (e.index() != entries.size() + 1) throw new IllegalArgumentException("entries not contiguous at " + e.index());
            entries.add(e);
        }
    }

    /** Drops the entries at {@code index} and after. */
    public void truncateFrom(long index) {
        while (entries.size() >= index) entries.remove(entries.size() - 1);
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
