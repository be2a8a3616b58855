package io.raftkv.protocol;

import java.util.Arrays;

/**
 * A key and its value as a read sees them, with etcd's metadata: the revision that created the key (since its
 * last delete), the revision that last changed it, its version (1 on creation, +1 per put) and the lease it is
 * attached to (etcd's {@code kv.lease}; 0 for none). A keys-only read carries an empty value.
 */
public record KeyValue(byte[] key, long createRevision, long modRevision, long version, byte[] value, long lease) {

    /** A key attached to no lease. */
    public KeyValue(byte[] key, long createRevision, long modRevision, long version, byte[] value) {
        this(key, createRevision, modRevision, version, value, 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyValue kv && Arrays.equals(key, kv.key) && createRevision == kv.createRevision
                && modRevision == kv.modRevision && version == kv.version && Arrays.equals(value, kv.value) && lease == kv.lease;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key) * 31 + Long.hashCode(modRevision);
    }

    @Override
    public String toString() {
        return "KeyValue[" + Frames.printable(key) + " create=" + createRevision + " mod=" + modRevision + " version=" + version
                + " value=" + Frames.printable(value) + (lease != 0 ? " lease=" + Long.toHexString(lease) : "") + "]";
    }
}
