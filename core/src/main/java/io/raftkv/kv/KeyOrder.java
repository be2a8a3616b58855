package io.raftkv.kv;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The store's keys in unsigned byte order, for the loop thread only: a two-level B-tree, a sorted array of leaves of
 * up to {@value #LEAF_MAX} entries each, with the first key of every leaf beside it for the search.
 *
 * <p>Why not a skip list: a range walks its keys through references held side by side in a leaf's array, so the
 * processor fetches several keys' entries at once, where a skip list's nodes form a chain that each step must wait for
 * (a node, then its entry, then the next node: on a store whose keys were overwritten in random order, every one a
 * cache miss). A range's bounds are found by two binary searches, so the walk compares no key. It also costs about 5
 * bytes a key where a skip list's nodes cost about 40.
 *
 * <p>Costs: a lookup is O(log n); an insertion or removal also shifts up to {@value #LEAF_MAX} references in its leaf,
 * and a split or a merge shifts the leaf array's (n / {@value #LEAF_MAX} of them; about 8,000 for a million keys).
 * Keys appended past the last one fill leaves whole (a snapshot's load, a preload in key order); a removal merges a
 * leaf with a neighbour when both fit in half a leaf, so a leaf holds a quarter of its room or more on average.
 */
final class KeyOrder {

    static final int LEAF_MAX = 128;

    /** The leaves in key order; the first {@code leafCount} are used, every one non-empty unless the tree is. */
    private MvccStore.KeyEntry[][] leaves = new MvccStore.KeyEntry[4][];
    private int[] sizes = new int[4];
    /** The first key of each leaf: what a search compares, without loading the leaf. */
    private byte[][] firstKeys = new byte[4][];
    private int leafCount;
    private int size;

    int size() {
        return size;
    }

    /** Adds an entry whose key the tree does not hold. */
    void add(MvccStore.KeyEntry entry) {
        if (leafCount == 0) {
            insertLeaf(0, new MvccStore.KeyEntry[LEAF_MAX], 0);
        }
        int leaf = leafFor(entry.key);
        int at = lowerBound(leaf, entry.key);
        if (at < sizes[leaf] && Arrays.equals(leaves[leaf][at].key, entry.key)) {
            throw new IllegalStateException("adding a key the order already holds");
        }
        if (sizes[leaf] == LEAF_MAX) {
            if (leaf == leafCount - 1 && at == LEAF_MAX) {
                // Appending past the last key: start a new leaf, so that keys added in order fill leaves whole.
                insertLeaf(leafCount, new MvccStore.KeyEntry[LEAF_MAX], 0);
                leaf++;
                at = 0;
            } else {
                split(leaf);
                if (at > sizes[leaf]) {
                    at -= sizes[leaf];
                    leaf++;
                }
            }
        }
        MvccStore.KeyEntry[] entries = leaves[leaf];
        System.arraycopy(entries, at, entries, at + 1, sizes[leaf] - at);
        entries[at] = entry;
        sizes[leaf]++;
        if (at == 0) firstKeys[leaf] = entry.key;
        size++;
    }

    /** Removes an entry the tree holds. */
    void remove(MvccStore.KeyEntry entry) {
        int leaf = leafCount == 0 ? -1 : leafFor(entry.key);
        int at = leaf < 0 ? 0 : lowerBound(leaf, entry.key);
        if (leaf < 0 || at == sizes[leaf] || leaves[leaf][at] != entry) {
            throw new IllegalStateException("removing a key the order does not hold");
        }
        MvccStore.KeyEntry[] entries = leaves[leaf];
        System.arraycopy(entries, at + 1, entries, at, sizes[leaf] - at - 1);
        entries[--sizes[leaf]] = null;
        size--;
        if (sizes[leaf] == 0) {
            if (leafCount > 1) removeLeaf(leaf);
            else firstKeys[0] = null;
            return;
        }
        if (at == 0) firstKeys[leaf] = entries[0].key;
        if (leaf + 1 < leafCount && sizes[leaf] + sizes[leaf + 1] <= LEAF_MAX / 2) mergeWithNext(leaf);
        else if (leaf > 0 && sizes[leaf - 1] + sizes[leaf] <= LEAF_MAX / 2) mergeWithNext(leaf - 1);
    }

    /**
     * The entries of {@code [from, to)} in order ({@code to} null: every key from {@code from} on), ascending or
     * descending. The tree must not change while the view is walked.
     */
    Iterable<MvccStore.KeyEntry> range(byte[] from, byte[] to, boolean descending) {
        long start = position(from);
        long end = to == null ? ((long) leafCount << 32) : position(to);
        return () -> descending ? new Descending(start, end) : new Ascending(start, end);
    }

    /**
     * Every entry in key order, copied a leaf an array: what a reader on another thread walks while the tree changes.
     * Small arrays, not one: under G1 one array of a million references is a humongous object, whose filling marks
     * cards for the collector (3 to 7 ms a million keys measured, against 0.3 ms this way).
     */
    MvccStore.KeyEntry[][] copy() {
        MvccStore.KeyEntry[][] copy = new MvccStore.KeyEntry[leafCount][];
        for (int i = 0; i < leafCount; i++) copy[i] = Arrays.copyOf(leaves[i], sizes[i]);
        return copy;
    }

    /** The position (leaf in the high 32 bits, index in it in the low) of the first key at or above {@code key}. */
    private long position(byte[] key) {
        if (leafCount == 0) return 0;
        int leaf = leafFor(key);
        int at = lowerBound(leaf, key);
        if (at == sizes[leaf]) return (long) (leaf + 1) << 32;
        return (long) leaf << 32 | at;
    }

    /** The last leaf whose first key is at or below {@code key}; the first leaf when none is. */
    private int leafFor(byte[] key) {
        int lo = 1, hi = leafCount - 1, found = 0;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Arrays.compareUnsigned(firstKeys[mid], key) <= 0) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** The index in {@code leaf} of the first key at or above {@code key}; the leaf's size when none is. */
    private int lowerBound(int leaf, byte[] key) {
        MvccStore.KeyEntry[] entries = leaves[leaf];
        int lo = 0, hi = sizes[leaf];
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Arrays.compareUnsigned(entries[mid].key, key) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private void split(int leaf) {
        MvccStore.KeyEntry[] entries = leaves[leaf];
        int keep = LEAF_MAX / 2;
        MvccStore.KeyEntry[] upper = new MvccStore.KeyEntry[LEAF_MAX];
        System.arraycopy(entries, keep, upper, 0, LEAF_MAX - keep);
        Arrays.fill(entries, keep, LEAF_MAX, null);
        sizes[leaf] = keep;
        insertLeaf(leaf + 1, upper, LEAF_MAX - keep);
    }

    private void mergeWithNext(int leaf) {
        int next = leaf + 1;
        System.arraycopy(leaves[next], 0, leaves[leaf], sizes[leaf], sizes[next]);
        sizes[leaf] += sizes[next];
        removeLeaf(next);
    }

    private void insertLeaf(int at, MvccStore.KeyEntry[] entries, int count) {
        if (leafCount == leaves.length) {
            int capacity = leaves.length * 2;
            leaves = Arrays.copyOf(leaves, capacity);
            sizes = Arrays.copyOf(sizes, capacity);
            firstKeys = Arrays.copyOf(firstKeys, capacity);
        }
        int after = leafCount - at;
        System.arraycopy(leaves, at, leaves, at + 1, after);
        System.arraycopy(sizes, at, sizes, at + 1, after);
        System.arraycopy(firstKeys, at, firstKeys, at + 1, after);
        leaves[at] = entries;
        sizes[at] = count;
        firstKeys[at] = count == 0 ? null : entries[0].key;
        leafCount++;
    }

    private void removeLeaf(int at) {
        int after = leafCount - at - 1;
        System.arraycopy(leaves, at + 1, leaves, at, after);
        System.arraycopy(sizes, at + 1, sizes, at, after);
        System.arraycopy(firstKeys, at + 1, firstKeys, at, after);
        leafCount--;
        leaves[leafCount] = null;
        firstKeys[leafCount] = null;
        sizes[leafCount] = 0;
    }

    /** Walks from position {@code start} up to, not including, {@code end}. */
    private final class Ascending implements Iterator<MvccStore.KeyEntry> {
        private int leaf;
        private int at;
        private final long end;

        Ascending(long start, long end) {
            this.leaf = (int) (start >>> 32);
            this.at = (int) start;
            this.end = end;
        }

        @Override
        public boolean hasNext() {
            if (leaf < leafCount && at == sizes[leaf]) {
                leaf++;
                at = 0;
            }
            return ((long) leaf << 32 | at) < end;
        }

        @Override
        public MvccStore.KeyEntry next() {
            if (!hasNext()) throw new NoSuchElementException();
            return leaves[leaf][at++];
        }
    }

    /** Walks from the position before {@code end} down to {@code start}, included. */
    private final class Descending implements Iterator<MvccStore.KeyEntry> {
        private final long start;
        private int leaf;
        /** The index of the next entry to give, plus one. */
        private int at;

        Descending(long start, long end) {
            this.start = start;
            this.leaf = (int) (end >>> 32);
            this.at = (int) end;
        }

        @Override
        public boolean hasNext() {
            if (at == 0 && leaf > 0) {
                leaf--;
                at = sizes[leaf];
            }
            return ((long) leaf << 32 | at) > start;
        }

        @Override
        public MvccStore.KeyEntry next() {
            if (!hasNext()) throw new NoSuchElementException();
            return leaves[leaf][--at];
        }
    }
}
