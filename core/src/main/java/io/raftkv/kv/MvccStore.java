package io.raftkv.kv;

import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.KvCodec;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.WatchEvent;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * etcd's data model in memory: every key with its versions since the compaction point, and one cluster-wide
 * revision that each write advances (an empty store is at revision 1, as etcd's).
 *
 * <p><b>Layout.</b> Each key is a {@link KeyEntry} holding its newest {@link Version}; versions are immutable and link
 * to the one before, newest first, so a key costs one entry and one version object beside its bytes while it has no
 * history. A delete is a version too (a tombstone) until compaction drops it. The entries are kept in key order
 * (unsigned bytes) by a {@link KeyOrder}, a B-tree of arrays that ranges walk, and by key content in a hash index
 * ({@link KeyIndex}) that writes and point reads use; both belong to the loop thread.
 *
 * <p><b>Point-in-time views without stopping the writer.</b> Only the loop thread writes. Every version carries the
 * revision that made it and is never changed, so a reader on any thread that reads "as of revision R" (walking
 * each key's chain to the newest version at or below R) sees exactly the store at R while writes go on: what a
 * snapshot or a watch catching up from history needs. Compaction replaces chains instead of cutting them, but a
 * reader as of R must keep trimming from passing R while it reads (keys it has not reached yet would lose the
 * versions it needs, or leave the store): a read on the loop thread runs between compactions; a reader on another
 * thread (the snapshot writer, {@link KvSnapshot}) walks a copy of the key order taken on the loop thread
 * ({@link #entriesInOrder}: its references, 0.3 ms a million keys) and takes a trim hold
 * ({@link #holdTrim}) for its duration.
 *
 * <p><b>Costs.</b> A read of one key is O(log n + versions kept for it). A range is O(log n + keys in the range):
 * counting needs every key, as in etcd. The loop thread finds a key for a write or a point read through the hash
 * index, one or two memory reads where the order's search takes a dozen. Compaction
 * visits only the keys that hold history, a bounded batch per loop turn.
 */
public final class MvccStore {

    /**
     * One version of a key; {@code value} null marks the delete. Immutable, so readers on other threads are safe. A
     * version attached to a lease is a {@link LeasedVersion}, so that the keys without one (most) pay nothing for it.
     */
    static class Version {
        final long createRevision;
        final long modRevision;
        final long version;
        final byte[] value;
        final Version prev;

        Version(long createRevision, long modRevision, long version, byte[] value, Version prev) {
            this.createRevision = createRevision;
            this.modRevision = modRevision;
            this.version = version;
            this.value = value;
            this.prev = prev;
        }

        /** A version attached to {@code lease} (0: none); a delete never is. */
        static Version of(long createRevision, long modRevision, long version, byte[] value, long lease, Version prev) {
            if (lease == 0) return new Version(createRevision, modRevision, version, value, prev);
            if (value == null) throw new IllegalArgumentException("a delete attached to lease " + lease);
            return new LeasedVersion(createRevision, modRevision, version, value, lease, prev);
        }

        /** The lease this version's key is attached to (etcd's kv.lease), 0 for none. */
        long lease() {
            return 0;
        }

        boolean isTombstone() {
            return value == null;
        }

        Version withPrev(Version p) {
            return of(createRevision, modRevision, version, value, lease(), p);
        }
    }

    /** A version whose key is attached to a lease. */
    static final class LeasedVersion extends Version {
        private final long lease;

        LeasedVersion(long createRevision, long modRevision, long version, byte[] value, long lease, Version prev) {
            super(createRevision, modRevision, version, value, prev);
            this.lease = lease;
        }

        @Override
        long lease() {
            return lease;
        }
    }

    /**
     * A key in the map: its newest version, replaced in place by a write, so that overwriting a key is one search
     * of the map, not two. {@code queued}: the key waits for a compaction to trim it (loop thread only).
     */
    static final class KeyEntry {
        final byte[] key;
        final int hash;
        volatile Version head;
        boolean queued;

        KeyEntry(byte[] key, Version head) {
            this.key = key;
            this.hash = KeyIndex.hash(key);
            this.head = head;
        }
    }

    private static final byte[] EMPTY = new byte[0];
    /** Keys a range reads a step at a time ({@link #rangeAt}). */
    private static final int RANGE_CHUNK = 32;
    private static int touchedSink;
    /** Keys a compaction trims at once; the rest, a batch per loop turn ({@link #trimCompacted}), so no turn stalls. */
    public static final int TRIM_KEYS_PER_CALL_MAX = 1024;

    /** The entries in key order, for ranges. */
    private final KeyOrder order = new KeyOrder();
    /** The same entries by key content, for point lookups. */
    private final KeyIndex index = new KeyIndex();
    private volatile long revision = 1;
    private volatile long compactRevision;
    private long liveKeys;
    /** Bytes of the live keys and their values: what the store holds beyond its bookkeeping and history. */
    private long liveBytes;
    private long digest;
    /** Keys that hold more than one version or a delete: the only ones a compaction may have to trim. */
    private ArrayList<KeyEntry> withHistory = new ArrayList<>();
    /** Keys of past compactions not trimmed yet; trimmed to the current compaction point, a batch at a time. */
    private final ArrayDeque<KeyEntry> toTrim = new ArrayDeque<>();
    /** Trim holds taken and not released (loop thread only): while there is one, no version is freed. */
    private int trimHolds;

    public long revision() {
        return revision;
    }

    /** The revision the history was last compacted at; reads below it are refused (0: never compacted). */
    public long compactRevision() {
        return compactRevision;
    }

    public long liveKeys() {
        return liveKeys;
    }

    /** Bytes of the live keys and their current values. O(1). */
    public long liveBytes() {
        return liveBytes;
    }

    /**
     * A digest of the live keys with their values and revisions (etcd's HashKV in spirit): replicas that applied
     * the same log agree on it. Kept up to date on every write, so it costs O(1) to ask.
     */
    public long digest() {
        return digest;
    }

    // ------------------------------------------------------------------ reads

    /** The key as of the current revision, or null. Loop thread only. */
    public KeyValue get(byte[] key) {
        KeyEntry e = index.get(key);
        Version v = e == null ? null : e.head;
        return v == null || v.isTombstone() ? null : keyValue(e.key, v);
    }

    /**
     * A range read (etcd's Range): at {@code request.revision()}, or the current revision when it is 0. Throws
     * {@link KvException} for a revision below the compaction point or beyond the current revision.
     */
    public OpResult.Range range(RangeRequest request, long resultBytesMax) {
        long at = request.revision() <= 0 ? revision : request.revision();
        checkReadable(at);
        return rangeAt(request, at, resultBytesMax, false);
    }

    /** A range with no bound on its result's size: tests. */
    public OpResult.Range range(RangeRequest request) {
        return range(request, Long.MAX_VALUE);
    }

    /** Throws unless the store can be read as of {@code at}. */
    public void checkReadable(long at) {
        if (at > revision) throw new KvException(ErrorCode.FUTURE_REVISION, "revision " + at + " is a future revision: the store is at " + revision);
        if (at < compactRevision) throw new KvException(ErrorCode.COMPACTED, "revision " + at + " has been compacted: the compact revision is " + compactRevision);
    }

    /**
     * The range as of {@code at}. Its key-values may take {@code resultBytesMax} bytes in an answer: past that,
     * {@code cut} keeps those that fit and says {@code more} (inside a transaction, whose writes are done and must be
     * answered), else the read is refused with TOO_LARGE (a plain read: ask again with a limit).
     */
    OpResult.Range rangeAt(RangeRequest r, long at, long resultBytesMax, boolean cut) {
        RangeRequest.SortOrder order = r.sortOrder();
        if (order == RangeRequest.SortOrder.NONE && r.sortTarget() != RangeRequest.SortTarget.KEY) order = RangeRequest.SortOrder.ASCEND;
        boolean byKey = r.sortTarget() == RangeRequest.SortTarget.KEY;
        Iterable<KeyEntry> view = view(r.key(), r.rangeEnd(), byKey && order == RangeRequest.SortOrder.DESCEND);
        // Sorting by anything but the key needs every key first; by key, the limit can cut while iterating.
        long keep = byKey && r.limit() > 0 ? r.limit() : Long.MAX_VALUE;
        List<KeyValue> kvs = new ArrayList<>();
        long count = 0;
        // A chunk of keys at a time, each step over the whole chunk before the next: the entries, their versions, then
        // the bytes of their keys and values are loaded by reads that do not wait for each other, which the processor
        // overlaps. One key at a time, each cache miss (a store whose keys were overwritten in random order has them
        // scattered over the heap) waits for the one before: twice the time (RangeBenchmark).
        KeyEntry[] entries = new KeyEntry[RANGE_CHUNK];
        Version[] versions = new Version[RANGE_CHUNK];
        Iterator<KeyEntry> it = view.iterator();
        boolean values = !r.countOnly() && !r.keysOnly();
        int touched = 0;
        while (it.hasNext()) {
            int n = 0;
            while (n < RANGE_CHUNK && it.hasNext()) entries[n++] = it.next();
            for (int i = 0; i < n; i++) versions[i] = entries[i].head;
            int kept = kvs.size();
            for (int i = 0; i < n; i++) {
                Version v = at(versions[i], at);
                if (v == null || v.isTombstone()) continue;
                count++;
                if (!r.countOnly() && kvs.size() < keep) kvs.add(keyValue(entries[i].key, v));
            }
            if (values) for (int i = kept; i < kvs.size(); i++) touched += touch(kvs.get(i).key()) + touch(kvs.get(i).value());
        }
        // Only so that the compiler keeps the reads above.
        if (touched == Integer.MIN_VALUE) touchedSink = touched;
        if (!byKey && order != RangeRequest.SortOrder.NONE) {
            Comparator<KeyValue> c = comparator(r.sortTarget());
            kvs.sort(order == RangeRequest.SortOrder.DESCEND ? c.reversed() : c);
            if (r.limit() > 0 && kvs.size() > r.limit()) kvs = new ArrayList<>(kvs.subList(0, (int) r.limit()));
        }
        // Values go after sorting, which may be by value.
        if (r.keysOnly()) kvs.replaceAll(kv -> new KeyValue(kv.key(), kv.createRevision(), kv.modRevision(), kv.version(), EMPTY, kv.lease()));
        long bytes = 0;
        for (int i = 0; i < kvs.size(); i++) {
            bytes += KvCodec.keyValueBytes(kvs.get(i));
            if (bytes <= resultBytesMax) continue;
            if (!cut) {
                throw new KvException(ErrorCode.TOO_LARGE, "the range's answer is over the limit of " + resultBytesMax + " bytes at "
                        + (i + 1) + " of " + kvs.size() + " keys: ask with a limit, or keys only");
            }
            kvs = new ArrayList<>(kvs.subList(0, i));
            break;
        }
        return new OpResult.Range(kvs, !r.countOnly() && count > kvs.size(), count);
    }

    /** The live keys in a range as of the current revision (compares, deletes). */
    List<KeyValue> live(byte[] key, byte[] rangeEnd) {
        List<KeyValue> kvs = new ArrayList<>();
        for (KeyEntry e : view(key, rangeEnd, false)) {
            Version v = e.head;
            if (!v.isTombstone()) kvs.add(keyValue(e.key, v));
        }
        return kvs;
    }

    private static Comparator<KeyValue> comparator(RangeRequest.SortTarget target) {
        Comparator<KeyValue> byKey = (a, b) -> Arrays.compareUnsigned(a.key(), b.key());
        Comparator<KeyValue> first = switch (target) {
            case KEY -> byKey;
            case VERSION -> Comparator.comparingLong(KeyValue::version);
            case CREATE -> Comparator.comparingLong(KeyValue::createRevision);
            case MOD -> Comparator.comparingLong(KeyValue::modRevision);
            case VALUE -> (a, b) -> Arrays.compareUnsigned(a.value(), b.value());
        };
        return first.thenComparing(byKey);
    }

    /**
     * The keys of {@code [key, rangeEnd)} by etcd's conventions (no end, one key; "\0", every key from {@code key} on),
     * ascending or descending.
     */
    private Iterable<KeyEntry> view(byte[] key, byte[] rangeEnd, boolean descending) {
        if (rangeEnd.length == 0) {
            KeyEntry e = index.get(key);
            return e == null ? List.of() : List.of(e);
        }
        if (rangeEnd.length == 1 && rangeEnd[0] == 0) return order.range(key, null, descending);
        if (Arrays.compareUnsigned(key, rangeEnd) >= 0) return List.of();
        return order.range(key, rangeEnd, descending);
    }

    /** Starts loading what a write of the {@code length}-byte key at {@code offset} will read ({@link KeyIndex#touch}). */
    int prefetch(byte[] bytes, int offset, int length) {
        return index.touch(KeyIndex.hash(bytes, offset, length));
    }

    /** Reads a byte of each cache line of {@code bytes}, so that copying them later finds them in the cache. */
    static int touch(byte[] bytes) {
        int sum = bytes.length;
        for (int i = 0; i < bytes.length; i += 64) sum += bytes[i];
        return sum;
    }

    /** The newest version at or below {@code revision}, or null. */
    private static Version at(Version newest, long revision) {
        Version v = newest;
        while (v != null && v.modRevision > revision) v = v.prev;
        return v;
    }

    private static KeyValue keyValue(byte[] key, Version v) {
        return new KeyValue(key, v.createRevision, v.modRevision, v.version, v.isTombstone() ? EMPTY : v.value, v.lease());
    }

    private static final Comparator<WatchEvent> EVENT_ORDER = Comparator.<WatchEvent>comparingLong(WatchEvent::revision)
            .thenComparing((a, b) -> Arrays.compareUnsigned(a.kv().key(), b.kv().key()));

    /** What {@link #changes} found, and how many keys it visited to find it (what a caller budgets by). */
    public record Changes(List<WatchEvent> events, long keysVisited) { }

    /**
     * The changes to the keys of {@code [key, rangeEnd)} at revisions {@code from} to {@code to} (both included), as
     * watch events ordered by revision, then key: what a watch that fell behind is caught up with. {@code from} must be
     * above the compaction point (a delete at the compaction point itself is gone). O(keys in the range + versions
     * returned); the caller bounds the window. Loop thread only (between compactions, as every loop-thread read).
     */
    public Changes changes(byte[] key, byte[] rangeEnd, long from, long to) {
        if (from <= compactRevision) throw new IllegalArgumentException("changes from " + from + " at or below the compaction point " + compactRevision);
        List<WatchEvent> changes = new ArrayList<>();
        long visited = 0;
        for (KeyEntry e : view(key, rangeEnd, false)) {
            visited++;
            for (Version v = e.head; v != null && v.modRevision >= from; v = v.prev) {
                if (v.modRevision > to) continue;
                KeyValue prev = v.prev == null || v.prev.isTombstone() ? null : keyValue(e.key, v.prev);
                changes.add(new WatchEvent(v.isTombstone() ? WatchEvent.Type.DELETE : WatchEvent.Type.PUT, keyValue(e.key, v), prev));
            }
        }
        changes.sort(EVENT_ORDER);
        return new Changes(changes, visited);
    }

    // ------------------------------------------------------------------ writes (the loop thread only)

    /**
     * Starts the writes of one command: every put and delete in it gets revision {@link #revision()} + 1, which
     * becomes the store's revision at {@link Write#end()} if anything was written (a delete that found nothing
     * writes nothing, as in etcd).
     */
    public Write write() {
        return new Write(revision + 1, false);
    }

    /** {@link #write()} that also records the command's changes as watch events ({@link Write#events()}). */
    public Write write(boolean recordEvents) {
        return new Write(revision + 1, recordEvents);
    }

    /** The writes of one command, all at one revision. */
    public final class Write {
        private final long at;
        private boolean changed;
        /** The changes as watch events, when asked for: null otherwise, so that nobody watching costs nothing. */
        private final List<WatchEvent> events;

        private Write(long at, boolean recordEvents) {
            this.at = at;
            this.events = recordEvents ? new ArrayList<>(2) : null;
        }

        /**
         * The changes made so far as watch events (with the key before each, as watches with prev_kv want them), in key
         * order: the order a read of the history gives too, so every node and every path sends a revision's events alike.
         * Empty when nothing was recorded.
         */
        public List<WatchEvent> events() {
            if (events == null) return List.of();
            if (events.size() > 1) events.sort(EVENT_ORDER);
            return events;
        }

        /** The revision reads inside this command see: its own writes included, as in an etcd transaction. */
        public long readRevision() {
            return changed ? at : revision;
        }

        /** Puts {@code value}, attached to no lease; returns the key as it was (null when absent). */
        public KeyValue put(byte[] key, byte[] value) {
            return put(key, value, 0);
        }

        /**
         * Puts {@code value}, the key attached to {@code lease} (0: none); returns the key as it was (null when absent),
         * with the lease it had. Keeping the leases' key sets is the caller's ({@link KvStateMachine}).
         */
        public KeyValue put(byte[] key, byte[] value, long lease) {
            KeyEntry e = index.get(key);
            changed = true;
            if (e == null) {
                Version v = Version.of(at, at, 1, value, lease, null);
                KeyEntry created = new KeyEntry(key, v);
                order.add(created);
                index.add(created);
                liveKeys++;
                liveBytes += key.length + value.length;
                digest += hash(key, v);
                if (events != null) events.add(new WatchEvent(WatchEvent.Type.PUT, keyValue(key, v), null));
                return null;
            }
            Version head = e.head;
            boolean live = !head.isTombstone();
            Version v = Version.of(live ? head.createRevision : at, at, live ? head.version + 1 : 1, value, lease, head);
            e.head = v;
            if (live) {
                digest -= hash(e.key, head);
                liveBytes -= head.value.length;
            } else {
                liveKeys++;
                liveBytes += e.key.length;
            }
            liveBytes += value.length;
            digest += hash(e.key, v);
            queueForCompaction(e);
            KeyValue prev = live ? keyValue(e.key, head) : null;
            if (events != null) events.add(new WatchEvent(WatchEvent.Type.PUT, keyValue(e.key, v), prev));
            return prev;
        }

        /** Deletes the live keys of {@code [key, rangeEnd)}; returns them as they were. */
        public List<KeyValue> deleteRange(byte[] key, byte[] rangeEnd) {
            List<KeyValue> deleted = new ArrayList<>();
            for (KeyEntry e : view(key, rangeEnd, false)) {
                Version head = e.head;
                if (head.isTombstone()) continue;
                KeyValue prev = keyValue(e.key, head);
                deleted.add(prev);
                e.head = new Version(0, at, 0, null, head);
                if (events != null) events.add(new WatchEvent(WatchEvent.Type.DELETE, keyValue(e.key, e.head), prev));
                digest -= hash(e.key, head);
                liveKeys--;
                liveBytes -= e.key.length + head.value.length;
                queueForCompaction(e);
                changed = true;
            }
            return deleted;
        }

        /** Ends the command: the store's revision moves to this command's if it wrote anything. */
        public long end() {
            if (changed) revision = at;
            return revision;
        }
    }

    private void queueForCompaction(KeyEntry e) {
        if (e.queued) return;
        e.queued = true;
        withHistory.add(e);
    }

    /**
     * Drops the history below {@code at}: every version a read at {@code at} or later can still see stays (for
     * each key the newest version at or below {@code at}, unless it is a delete, and every newer one). Reads below
     * {@code at} are refused from now on; the versions they needed are freed {@link #TRIM_KEYS_PER_CALL_MAX} keys at
     * a time, now and at each {@link #trimCompacted} (what is freed when changes no answer), or after the last trim
     * hold is released. Throws {@link KvException} when {@code at} is not above the compaction point or is beyond
     * the current revision.
     */
    public void compact(long at) {
        if (at <= compactRevision) throw new KvException(ErrorCode.COMPACTED, "revision " + at + " has been compacted: the compact revision is " + compactRevision);
        if (at > revision) throw new KvException(ErrorCode.FUTURE_REVISION, "revision " + at + " is a future revision: the store is at " + revision);
        compactRevision = at;
        toTrim.addAll(withHistory);
        withHistory = new ArrayList<>();
        trimCompacted(TRIM_KEYS_PER_CALL_MAX);
    }

    /**
     * Trims up to {@code keysMax} keys waiting since a compaction, none while a trim hold is taken; returns how many
     * still wait. Loop thread only.
     */
    public int trimCompacted(int keysMax) {
        if (trimHolds > 0) return toTrim.size();
        long at = compactRevision;
        for (int n = 0; n < keysMax && !toTrim.isEmpty(); n++) {
            KeyEntry e = toTrim.poll();
            Version trimmed = trim(e.head, at);
            if (trimmed == null) {
                order.remove(e);
                index.remove(e);
                e.queued = false;
                continue;
            }
            e.head = trimmed;
            // Versions newer than the compaction point, or a delete, wait for a later compaction.
            if (trimmed.prev != null || trimmed.isTombstone()) withHistory.add(e);
            else e.queued = false;
        }
        return toTrim.size();
    }

    /**
     * Stops trimming until the matching {@link #releaseTrim}: a reader on another thread reading as of R walks chains
     * the loop thread may otherwise replace, and a compaction past R would drop versions (or whole keys) it has not
     * reached yet. Compactions meanwhile still move the compaction point, so reads below it are refused at once, and
     * queue their keys; only the freeing waits. Holds nest. Loop thread only.
     */
    public void holdTrim() {
        trimHolds++;
    }

    /** Drops one hold taken by {@link #holdTrim}; after the last one, {@link #trimCompacted} frees again. Loop thread only. */
    public void releaseTrim() {
        if (trimHolds == 0) throw new IllegalStateException("releasing a trim hold that was never taken");
        trimHolds--;
    }

    /** Whether a trim hold is taken. Loop thread only. */
    public boolean trimHeld() {
        return trimHolds > 0;
    }

    /** The chain {@code newest} with the versions no read at or after {@code at} can see removed; null if none is left. */
    private static Version trim(Version newest, long at) {
        ArrayList<Version> newer = new ArrayList<>();
        Version v = newest;
        while (v != null && v.modRevision > at) {
            newer.add(v);
            v = v.prev;
        }
        Version base = v == null || v.isTombstone() ? null : v;
        boolean unchanged = v == null || (base != null && base.prev == null);
        if (unchanged) return newest;
        Version chain = base == null ? null : base.withPrev(null);
        for (int i = newer.size() - 1; i >= 0; i--) chain = newer.get(i).withPrev(chain);
        return chain;
    }

    /**
     * Every key held, in key order (unsigned), deleted ones not compacted away yet included: a copy, which a reader
     * on another thread walks while the loop goes on writing (a key created later is one a reader as of an earlier
     * revision does not need; under a trim hold, no key it holds leaves the store). Loop thread only.
     */
    KeyEntry[][] entriesInOrder() {
        return order.copy();
    }

    /**
     * Builds a new store from a snapshot ({@link KvSnapshotReader}): the keys in ascending order, each with its
     * chain as a fully trimmed store at {@code revision} holds it. The bookkeeping comes out as the writes and
     * compactions that made those chains would have left it, so later writes and compactions behave the same.
     */
    static final class Loader {
        private final long revision;
        private final long compactRevision;
        private final ArrayList<KeyEntry> entries = new ArrayList<>();

        Loader(long revision, long compactRevision) {
            if (revision < 1 || compactRevision < 0 || compactRevision > revision) {
                throw new IllegalArgumentException("revision " + revision + " and compact revision " + compactRevision + " do not make a store");
            }
            this.revision = revision;
            this.compactRevision = compactRevision;
        }

        void add(byte[] key, Version head) {
            if (!entries.isEmpty() && Arrays.compareUnsigned(entries.get(entries.size() - 1).key, key) >= 0) {
                throw new IllegalArgumentException("keys must come in ascending order");
            }
            if (head.modRevision > revision) throw new IllegalArgumentException("a version at " + head.modRevision + " beyond the store's revision " + revision);
            entries.add(new KeyEntry(key, head));
        }

        /** The store; keys come in order, so each one is appended to the key order's last leaf. */
        MvccStore store() {
            MvccStore store = new MvccStore();
            store.revision = revision;
            store.compactRevision = compactRevision;
            for (KeyEntry e : entries) {
                store.order.add(e);
                store.index.add(e);
                Version head = e.head;
                if (!head.isTombstone()) {
                    store.liveKeys++;
                    store.liveBytes += e.key.length + head.value.length;
                    store.digest += hash(e.key, head);
                }
                // What a write leaves: a key with history or a delete waits for the next compaction.
                if (head.prev != null || head.isTombstone()) store.queueForCompaction(e);
            }
            return store;
        }
    }

    /** Versions kept for {@code key}, newest first: for tests of compaction. */
    int versionsOf(byte[] key) {
        KeyEntry e = index.get(key);
        int n = 0;
        for (Version v = e == null ? null : e.head; v != null; v = v.prev) n++;
        return n;
    }

    /** Keys held, deleted ones not yet compacted away included: for tests of compaction. */
    int keysHeld() {
        if (index.size() != order.size()) throw new IllegalStateException("the index holds " + index.size() + " keys, the order " + order.size());
        return order.size();
    }

    private static long hash(byte[] key, Version v) {
        CRC32C crc = new CRC32C();
        crc.update(key);
        long k = crc.getValue();
        crc.reset();
        crc.update(v.value);
        long h = (k << 32 | crc.getValue()) ^ ((long) key.length << 48) ^ v.value.length;
        h = mix(h ^ mix(v.createRevision * 31 + v.modRevision) ^ v.version);
        // Only a key attached to a lease mixes it in: digests of stores without leases are as before them.
        if (v.lease() != 0) h = mix(h ^ mix(v.lease() * 0x9E3779B97F4A7C15L));
        return h;
    }

    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        return h ^ (h >>> 33);
    }
}
