package io.raftkv.sim;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Membership;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.SnapshotId;

import java.util.Arrays;
import java.util.List;

/**
 * What survives a simulated crash: the hard state and the log the node persisted, its newest snapshot, nothing else. A hard
 * state written without a sync (only its commit index changed, which the driver may write lazily) survives a
 * process crash but may be lost in a power loss, as in a real page cache. Entries always come with a sync.
 * Keeps a hash of every log prefix, so two logs can be compared at any index in O(1).
 */
final class SimDisk {

    final MemoryStorage storage = new MemoryStorage();
    private long[] prefixHashes = new long[1024];
    /** The hard state as of the last sync: what a power loss goes back to. */
    private HardState syncedHardState = HardState.EMPTY;
    /**
     * The log as the node's core holds it, as far as it was handed to this disk (all of it once the node has processed
     * an event): {@link #prefixHashes} plus the writes in progress. The checker reads the core's log from here.
     */
    private long[] handedPrefixHashes = new long[1024];
    private Entry[] handedEntries = new Entry[1024];
    private long handedLastIndex;
    /** The lowest index handed over since the core's log was last the disk's: below it, the disk holds the core's entries. */
    private long handedFrom = Long.MAX_VALUE;
    /** The newest snapshot's state machine bytes ({@link #storage} names it); null while there is none. */
    private byte[] snapshotData;

    /** A snapshot the node wrote is durable; the log keeps the entries after {@code compactTo}. */
    void saveSnapshot(SnapshotId id, Membership membership, byte[] data, long compactTo) {
        storage.setSnapshot(id, membership);
        snapshotData = data;
        storage.compactTo(compactTo);
    }

    /**
     * A leader's snapshot replaces the log. {@code prefixHashes}: the sender's hashes of the log prefixes it covers,
     * bookkeeping for the checker only (the node never had those entries).
     */
    void installSnapshot(SnapshotId id, Membership membership, byte[] data, long[] prefixes) {
        storage.installSnapshot(id, membership);
        snapshotData = data;
        ensureHashCapacity(id.index());
        System.arraycopy(prefixes, 0, prefixHashes, 0, (int) id.index() + 1);
        forgetHanded();
    }

    /** The node handed {@code entries} over: they replace the handed log from their first index. */
    void hand(List<Entry> entries) {
        if (entries.isEmpty()) return;
        for (Entry e : entries) {
            int i = (int) e.index();
            if (i >= handedPrefixHashes.length) {
                handedPrefixHashes = Arrays.copyOf(handedPrefixHashes, Math.max(i + 1, handedPrefixHashes.length * 2));
                handedEntries = Arrays.copyOf(handedEntries, handedPrefixHashes.length);
            }
            handedPrefixHashes[i] = extend(handedPrefixHashes[i - 1], e);
            handedEntries[i] = e;
        }
        handedFrom = Math.min(handedFrom, entries.get(0).index());
        handedLastIndex = entries.get(entries.size() - 1).index();
    }

    /** A new life, or a snapshot installed: the core's log is the disk's. */
    void forgetHanded() {
        handedPrefixHashes = Arrays.copyOf(prefixHashes, Math.max(prefixHashes.length, 1024));
        handedEntries = new Entry[handedPrefixHashes.length];
        handedLastIndex = storage.lastIndex();
        handedFrom = Long.MAX_VALUE;
    }

    /** The entry at {@code index} in the core's log, or null when neither the handed log nor the disk holds it. */
    Entry handedEntry(long index) {
        if (index > handedLastIndex) return null;
        if (index >= handedFrom) return handedEntries[(int) index];
        return index >= storage.firstIndex() && index <= storage.lastIndex() ? storage.entry(index) : null;
    }

    long handedLastIndex() {
        return handedLastIndex;
    }

    long handedPrefixHash(long index) {
        if (index > handedLastIndex) throw new IllegalArgumentException("no entry " + index + " handed over");
        return handedPrefixHashes[(int) index];
    }

    SnapshotId snapshot() {
        return storage.snapshot();
    }

    byte[] snapshotData() {
        return snapshotData;
    }

    /** Hashes of the prefixes up to {@code index}, for a snapshot sent to another node. */
    long[] prefixHashesUpTo(long index) {
        return Arrays.copyOf(prefixHashes, (int) index + 1);
    }

    void persist(HardState hardState, List<Entry> entries, boolean sync) {
        if (!entries.isEmpty() && !sync) throw new IllegalStateException("entries persisted without a sync");
        if (hardState != null) storage.setHardState(hardState);
        if (sync) syncedHardState = storage.hardState();
        if (entries.isEmpty()) return;
        storage.append(entries);
        ensureHashCapacity(storage.lastIndex());
        for (Entry e : entries) prefixHashes[(int) e.index()] = extend(prefixHashes[(int) e.index() - 1], e);
    }

    private void ensureHashCapacity(long index) {
        if (index >= prefixHashes.length) prefixHashes = Arrays.copyOf(prefixHashes, (int) Math.max(index + 1, prefixHashes.length * 2L));
    }

    HardState syncedHardState() {
        return syncedHardState;
    }

    /** A power loss: what was written without a sync is gone. */
    void loseUnsynced() {
        storage.setHardState(syncedHardState);
    }

    long lastIndex() {
        return storage.lastIndex();
    }

    /** Hash of the log up to and including {@code index} (0 for the empty prefix). */
    long prefixHash(long index) {
        if (index > storage.lastIndex()) throw new IllegalArgumentException("no entry " + index);
        return prefixHashes[(int) index];
    }

    static long extend(long prefix, Entry e) {
        long h = (prefix ^ e.term()) * 0x9E3779B97F4A7C15L + Arrays.hashCode(e.data()) + e.index();
        return h ^ (h >>> 29);
    }
}
