package io.raftkv.kv;

import io.raftkv.raft.Entry;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The replicated map: binary keys and values, kept sorted by key (unsigned byte order, as etcd), changed
 * only by committed log entries applied in index order, each exactly once.
 */
public final class KvStateMachine {

    private final TreeMap<byte[], byte[]> map = new TreeMap<>(Arrays::compareUnsigned);
    private long appliedIndex;

    /** Applies the entry at {@link #appliedIndex()} + 1; an entry already applied is skipped. */
    public void apply(Entry e) {
        if (e.index() <= appliedIndex) return;
        if (e.index() != appliedIndex + 1) throw new IllegalStateException("entry " + e.index() + " applied after " + appliedIndex);
        appliedIndex = e.index();
        if (e.isNoop()) return;
        KvCommand c = KvCommand.decode(e.data());
        if (c.delete()) map.remove(c.key()); else map.put(c.key(), c.value());
    }

    /** The value, or null when the key is absent. */
    public byte[] get(byte[] key) {
        return map.get(key);
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public int size() {
        return map.size();
    }

    /** A digest of the whole map (keys and values in key order): equal maps, equal hash, as etcd's HashKV. */
    public long hash() {
        CRC32C crc = new CRC32C();
        byte[] length = new byte[4];
        for (Map.Entry<byte[], byte[]> kv : map.entrySet()) {
            for (byte[] part : new byte[][]{kv.getKey(), kv.getValue()}) {
                length[0] = (byte) (part.length >>> 24);
                length[1] = (byte) (part.length >>> 16);
                length[2] = (byte) (part.length >>> 8);
                length[3] = (byte) part.length;
                crc.update(length);
                crc.update(part);
            }
        }
        return crc.getValue();
    }
}
