package io.raftkv.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The leases of the replicated state (etcd's lessor without its clock): each lease's id, the TTL it was granted with,
 * and the keys attached to it. Changed only by applying committed entries, so every replica holds the same leases;
 * when a lease expires is not replicated state but the leader's own business (server/Lessor). Loop thread only.
 *
 * <p>A key is attached to the lease its newest version names ({@code KeyValue.lease}): a put with a lease attaches it,
 * a put without one or a delete detaches it. The key sets are kept here, in key order, so that a revoke deletes them in
 * one revision without a scan of the store.
 */
public final class Leases {

    /**
     * The longest TTL a lease may be granted with, in seconds: etcd's MaxLeaseTTL (9,000,000,000 s, about 285 years), so
     * that a deadline in milliseconds never overflows.
     */
    public static final long TTL_SECONDS_MAX = 9_000_000_000L;

    /** One lease: its id, granted TTL and attached keys (unsigned key order). */
    public static final class Lease {
        private final long id;
        private final long ttlSeconds;
        private final TreeSet<byte[]> keys = new TreeSet<>(Arrays::compareUnsigned);

        private Lease(long id, long ttlSeconds) {
            this.id = id;
            this.ttlSeconds = ttlSeconds;
        }

        public long id() {
            return id;
        }

        /** The TTL it was granted with. */
        public long ttlSeconds() {
            return ttlSeconds;
        }

        public int keyCount() {
            return keys.size();
        }

        /** Whether {@code key} is attached to it. */
        public boolean holds(byte[] key) {
            return keys.contains(key);
        }

        /** Its keys in unsigned key order, a copy. */
        public List<byte[]> keys() {
            return new ArrayList<>(keys);
        }
    }

    /** A lease as a snapshot holds it: id and granted TTL. */
    public record Granted(long id, long ttlSeconds) { }

    private final TreeMap<Long, Lease> byId = new TreeMap<>();
    private long digest;

    /** The lease {@code id}, or null. */
    public Lease get(long id) {
        return byId.get(id);
    }

    public int size() {
        return byId.size();
    }

    /** Every lease, ascending by id (a view: do not change the leases while iterating). */
    public Collection<Lease> all() {
        return Collections.unmodifiableCollection(byId.values());
    }

    /** The ids of every lease, ascending. */
    public List<Long> ids() {
        return new ArrayList<>(byId.keySet());
    }

    /** Every lease's id and TTL, ascending by id: what a snapshot captures (the key sets come from the store). */
    List<Granted> granted() {
        List<Granted> out = new ArrayList<>(byId.size());
        for (Lease l : byId.values()) out.add(new Granted(l.id, l.ttlSeconds));
        return out;
    }

    /**
     * A digest of the leases' ids and TTLs: replicas that applied the same log agree on it. The keys' attachments are in
     * the store's digest (a version's lease is part of its hash).
     */
    public long digest() {
        return digest;
    }

    void grant(long id, long ttlSeconds) {
        if (id <= 0 || ttlSeconds < 1 || ttlSeconds > TTL_SECONDS_MAX) throw new IllegalArgumentException("lease " + id + " with TTL " + ttlSeconds);
        if (byId.putIfAbsent(id, new Lease(id, ttlSeconds)) != null) throw new IllegalStateException("lease " + Long.toHexString(id) + " granted twice");
        digest += hash(id, ttlSeconds);
    }

    /** Removes the lease; returns it (with its keys, which the caller deletes), or null when there is none. */
    Lease remove(long id) {
        Lease l = byId.remove(id);
        if (l != null) digest -= hash(l.id, l.ttlSeconds);
        return l;
    }

    /** Attaches {@code key} to lease {@code id}, which must exist (the caller checked before writing anything). */
    void attach(long id, byte[] key) {
        Lease l = byId.get(id);
        if (l == null) throw new IllegalStateException("key attached to lease " + Long.toHexString(id) + ", which does not exist");
        l.keys.add(key);
    }

    /** Detaches {@code key} from lease {@code id}; the lease must hold it (every live leased key is attached). */
    void detach(long id, byte[] key) {
        Lease l = byId.get(id);
        if (l == null || !l.keys.remove(key)) {
            throw new IllegalStateException("key detached from lease " + Long.toHexString(id) + ", which " + (l == null ? "does not exist" : "does not hold it"));
        }
    }

    private static long hash(long id, long ttlSeconds) {
        long h = id * 0x9E3779B97F4A7C15L + ttlSeconds;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        return h ^ (h >>> 33);
    }
}
