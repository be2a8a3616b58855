package io.raftkv.kv;

import java.util.Arrays;

/**
 * The store's point lookups: an open-addressing hash table of the store's {@link MvccStore.KeyEntry}s by key
 * content, for the loop thread only. The sorted map answers ranges and readers on other threads; this answers
 * "which entry holds this key" in one or two memory reads instead of a skip list's dozens, which on a store of a
 * million keys is most of a put's cost. Linear probing; a removal shifts the following run back, so no tombstones.
 */
final class KeyIndex {

    private static final int CAPACITY_MIN = 16;

    private MvccStore.KeyEntry[] slots = new MvccStore.KeyEntry[CAPACITY_MIN];
    private int size;

    /**
     * {@code Arrays.hashCode} gives keys that differ in their last characters (key-000123, key-000124, ...) nearby
     * values; with linear probing those fill runs, and each probe of a run reads another entry from memory (5.9 probes
     * a lookup for 100,000 such keys, against 1.3 for random hashes). MurmurHash3's finalizer spreads them.
     */
    static int hash(byte[] key) {
        return spread(Arrays.hashCode(key));
    }

    /** {@link #hash(byte[])} of the {@code length} bytes at {@code offset}, without copying them out. */
    static int hash(byte[] bytes, int offset, int length) {
        int h = 1;
        for (int i = offset; i < offset + length; i++) h = 31 * h + bytes[i];
        return spread(h);
    }

    private static int spread(int h) {
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        return h ^ (h >>> 16);
    }

    MvccStore.KeyEntry get(byte[] key) {
        int h = hash(key);
        int mask = slots.length - 1;
        for (int i = h & mask; ; i = (i + 1) & mask) {
            MvccStore.KeyEntry e = slots[i];
            if (e == null) return null;
            if (e.hash == h && Arrays.equals(e.key, key)) return e;
        }
    }

    /**
     * Reads the slot where a key of hash {@code h} starts its probe, the entry there and its newest version, and returns
     * something of them (so the reads are kept): a lookup of that key soon after finds them in the cache.
     */
    int touch(int h) {
        MvccStore.KeyEntry e = slots[h & (slots.length - 1)];
        if (e == null) return 0;
        MvccStore.Version v = e.head;
        return e.hash ^ (v == null ? 0 : (int) v.modRevision);
    }

    /** Adds an entry whose key is not in the index. */
    void add(MvccStore.KeyEntry entry) {
        if (size + 1 > slots.length / 4 * 3) resize();
        insert(slots, entry);
        size++;
    }

    void remove(MvccStore.KeyEntry entry) {
        int mask = slots.length - 1;
        int i = entry.hash & mask;
        while (slots[i] != entry) {
            if (slots[i] == null) throw new IllegalStateException("removing a key the index does not hold");
            i = (i + 1) & mask;
        }
        slots[i] = null;
        size--;
        // Shift back the entries of the run after the hole that would no longer be found past it.
        for (int j = (i + 1) & mask; slots[j] != null; j = (j + 1) & mask) {
            MvccStore.KeyEntry moved = slots[j];
            int home = moved.hash & mask;
            boolean reachableWithoutHole = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (reachableWithoutHole) continue;
            slots[i] = moved;
            slots[j] = null;
            i = j;
        }
    }

    int size() {
        return size;
    }

    /** The slots a lookup of each key in the index reads, on average: 1 when no key has to pass another's. */
    double meanProbes() {
        long probes = 0;
        int mask = slots.length - 1;
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null) probes += ((i - (slots[i].hash & mask)) & mask) + 1;
        }
        return size == 0 ? 0 : (double) probes / size;
    }

    private void resize() {
        MvccStore.KeyEntry[] bigger = new MvccStore.KeyEntry[slots.length * 2];
        for (MvccStore.KeyEntry e : slots) if (e != null) insert(bigger, e);
        slots = bigger;
    }

    private static void insert(MvccStore.KeyEntry[] table, MvccStore.KeyEntry entry) {
        int mask = table.length - 1;
        int i = entry.hash & mask;
        while (table[i] != null) i = (i + 1) & mask;
        table[i] = entry;
    }
}
