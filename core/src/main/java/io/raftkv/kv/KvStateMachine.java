package io.raftkv.kv;

import io.raftkv.raft.Entry;
import io.raftkv.replica.ReplicaDriver;

import java.util.Arrays;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The replicated map: binary keys and values, kept sorted by key (unsigned byte order, as etcd), changed
 * only by committed log entries applied in index order, each exactly once.
 */
public final class KvStateMachine implements ReplicaDriver.StateMachine {

    private final TreeMap<byte[], byte[]> map = new TreeMap<>(Arrays::compareUnsigned);
    private long appliedIndex;
    private long digest;

    /** Applies the entry at {@link #appliedIndex()} + 1; an entry already applied is skipped. */
    @Override
    public void apply(Entry e) {
        if (e.index() <= appliedIndex) return;
        if (e.index() != appliedIndex + 1) throw new IllegalStateException("entry " + e.index() + " applied after " + appliedIndex);
        appliedIndex = e.index();
        if (e.isNoop()) return;
        KvCommand c = KvCommand.decode(e.data());
        byte[] old = c.delete() ? map.remove(c.key()) : map.put(c.key(), c.value());
        if (old != null) digest -= entryHash(c.key(), old);
        if (!c.delete()) digest += entryHash(c.key(), c.value());
    }

    /** The value, or null when the key is absent. */
    public byte[] get(byte[] key) {
        return map.get(key);
    }

    @Override
    public long appliedIndex() {
        return appliedIndex;
    }

    public int size() {
        return map.size();
    }

    /**
     * A digest of the whole map, as etcd's HashKV: equal maps, equal hash, whatever the history. Kept up to
     * date on every apply (a sum of per-entry hashes), so STATUS costs O(1) however large the map is.
     */
    public long hash() {
        return digest;
    }

    private static long entryHash(byte[] key, byte[] value) {
        CRC32C crc = new CRC32C();
        crc.update(key);
        long k = crc.getValue();
        crc.reset();
        crc.update(value);
        long h = (k << 32 | crc.getValue()) ^ ((long) key.length << 48) ^ value.length;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        return h ^ (h >>> 33);
    }
}
