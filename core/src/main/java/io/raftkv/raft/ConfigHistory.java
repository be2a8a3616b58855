package io.raftkv.raft;

import java.util.ArrayList;

/**
 * The configurations a log holds, by the index of the entry that set each: a base (the snapshot's, or the
 * bootstrap configuration at index 0) and every configuration entry after it. The latest is the node's
 * configuration (thesis §4.1: used as soon as it is in the log); when a conflicting tail is cut away, the
 * configurations in it go too and the node falls back to the one before. Configurations older than the one in
 * force at the applied index are dropped: nothing at or below the applied index is ever cut.
 */
final class ConfigHistory {

    private final ArrayList<Long> indexes = new ArrayList<>();
    private final ArrayList<Membership> configs = new ArrayList<>();

    ConfigHistory(long baseIndex, Membership base) {
        reset(baseIndex, base);
    }

    Membership latest() {
        return configs.get(configs.size() - 1);
    }

    /** Index of the entry that set the latest configuration (the base's index if none did since). */
    long latestIndex() {
        return indexes.get(indexes.size() - 1);
    }

    /** The configuration in force at {@code index}: the latest set at or before it. */
    Membership at(long index) {
        for (int i = indexes.size() - 1; i > 0; i--) if (indexes.get(i) <= index) return configs.get(i);
        return configs.get(0);
    }

    void add(long index, Membership m) {
        if (index <= latestIndex()) throw new IllegalStateException("configuration at " + index + " after one at " + latestIndex());
        indexes.add(index);
        configs.add(m);
    }

    /** The log loses its entries from {@code index} on. */
    void truncateFrom(long index) {
        while (indexes.size() > 1 && indexes.get(indexes.size() - 1) >= index) {
            indexes.remove(indexes.size() - 1);
            configs.remove(configs.size() - 1);
        }
    }

    /** A snapshot replaces the log: its configuration is the only one. */
    void reset(long index, Membership m) {
        indexes.clear();
        configs.clear();
        indexes.add(index);
        configs.add(m);
    }

    /** Forgets configurations superseded at or before {@code applied}. */
    void pruneTo(long applied) {
        int keep = 0;
        for (int i = indexes.size() - 1; i > 0; i--) {
            if (indexes.get(i) <= applied) {
                keep = i;
                break;
            }
        }
        if (keep == 0) return;
        indexes.subList(0, keep).clear();
        configs.subList(0, keep).clear();
    }
}
