package io.raftkv.kv;

import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.Permission;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * The state machine as it was at one applied index, written out later, on any thread, while the loop goes on
 * applying writes (Redis' background save, without the fork): versions are immutable, so reading the store "as of
 * {@link #revision()}" sees exactly the store then, and the trim hold taken at {@link KvStateMachine#snapshot()}
 * keeps compactions from freeing what that read still needs. {@link #release()} drops the hold; until then no
 * compaction frees memory, so release as soon as the snapshot is written.
 *
 * <p>The stream holds every key with the versions a read at any revision in [{@link #compactRevision()},
 * {@link #revision()}] can see: what a fully trimmed store holds at the revision (keys of earlier compactions may
 * not be trimmed yet, so the writer applies the trimming rule itself), and the leases as they were at the capture (ids
 * and granted TTLs, copied then: the keys attached to each are those whose version at the revision names it), and the
 * auth store as it was (immutable, so taken as it is). Layout in {@link KvSnapshotFormat}.
 */
public final class KvSnapshot {

    /** The writer's buffer: the stream is written in pieces of this size, never the whole store at once. */
    static final int WRITE_BUFFER_BYTES = 64 * 1024;
    private static int touchedSink;

    private final MvccStore store;
    /** The store's keys at the capture, in order: the loop may add and (after the hold) remove keys meanwhile. */
    private final MvccStore.KeyEntry[][] entries;
    private final long appliedIndex;
    private final long revision;
    private final long compactRevision;
    private final long digest;
    /** The leases at the capture, ascending by id. */
    private final List<Leases.Granted> leases;
    private final AuthStore auth;
    /** Written on the loop thread, read by the writer to refuse a view it can no longer trust. */
    private volatile boolean released;

    private KvSnapshot(MvccStore store, Leases leases, AuthStore auth, long appliedIndex) {
        this.store = store;
        this.entries = store.entriesInOrder();
        this.leases = leases.granted();
        this.auth = auth;
        this.appliedIndex = appliedIndex;
        this.revision = store.revision();
        this.compactRevision = store.compactRevision();
        this.digest = store.digest();
    }

    /** Captures the store and the leases now (a copy of the leases' ids and TTLs) and takes a trim hold. Loop thread only. */
    static KvSnapshot take(MvccStore store, Leases leases, AuthStore auth, long appliedIndex) {
        KvSnapshot snapshot = new KvSnapshot(store, leases, auth, appliedIndex);
        store.holdTrim();
        return snapshot;
    }

    /** The last log index applied to the captured state: the Raft log up to it is what the snapshot replaces. */
    public long appliedIndex() {
        return appliedIndex;
    }

    /** The store's revision R: the stream holds the store as of R. */
    public long revision() {
        return revision;
    }

    /** The compaction point C at capture: reads at [C, R] can be answered from the stream. */
    public long compactRevision() {
        return compactRevision;
    }

    /** {@link MvccStore#digest()} at R, which a restored store must reproduce. */
    public long digest() {
        return digest;
    }

    /**
     * Writes the captured store to {@code out}, streaming; any thread, while the loop keeps applying. Flushes but
     * does not close {@code out}. May be called more than once, never after {@link #release()}: throws
     * IllegalStateException if the hold was released before or during the write (the output is then not a snapshot).
     */
    public void writeTo(OutputStream out) throws IOException {
        requireHeld("before it was written");
        // The header needs the count before the keys; the view is fixed, so a first pass counts what the second writes.
        long keyCount = 0;
        Leaf leaf = new Leaf();
        for (MvccStore.KeyEntry[] keys : entries) {
            leaf.load(keys, false);
            for (int i = 0; i < keys.length; i++) if (leaf.kept[i] > 0) keyCount++;
        }

        CRC32C crc = new CRC32C();
        CheckedOutputStream checked = new CheckedOutputStream(out, crc);
        // Fields go into one array and the array to the stream a piece at a time: a DataOutputStream over a
        // BufferedOutputStream took a synchronized call per byte of every int, a third of the snapshot thread's time.
        BodyWriter data = new BodyWriter(WRITE_BUFFER_BYTES + 1024);
        data.raw(KvSnapshotFormat.MAGIC);
        data.u8(KvSnapshotFormat.FORMAT_VERSION >>> 8).u8(KvSnapshotFormat.FORMAT_VERSION);
        data.i64(revision).i64(compactRevision).i64(digest).i64(keyCount).i64(leases.size());
        for (Leases.Granted l : leases) data.i64(l.id()).i64(l.ttlSeconds());
        writeAuth(data);
        long written = 0;
        for (MvccStore.KeyEntry[] keys : entries) {
            leaf.load(keys, true);
            for (int i = 0; i < keys.length; i++) {
                if (leaf.kept[i] == 0) continue;
                writeKey(data, keys[i].key, leaf.newest[i], leaf.kept[i]);
                written++;
                if (data.size() >= WRITE_BUFFER_BYTES) data.drainTo(checked);
            }
        }
        // Only so that the compiler keeps the reads of Leaf.load.
        if (leaf.touched == Integer.MIN_VALUE) touchedSink = leaf.touched;
        if (written != keyCount) throw new IllegalStateException("the view at revision " + revision + " changed while written: " + keyCount + " keys counted, " + written + " written");
        data.drainTo(checked);
        data.u32((int) crc.getValue());
        data.drainTo(out);
        out.flush();
        requireHeld("while it was written");
    }

    /**
     * One leaf of the view, its keys' versions read a step at a time over the whole leaf: the entries, then their
     * versions, then (to write them) their keys' and values' bytes. The reads of one step do not wait for each other,
     * so the processor overlaps their cache misses; a key at a time, each waited for the one before (a store whose keys
     * were overwritten in random order has them all over the heap). Reused from leaf to leaf.
     */
    private final class Leaf {
        final MvccStore.Version[] newest = new MvccStore.Version[KeyOrder.LEAF_MAX];
        /** Versions of each key a read in [C, R] can see: 0 for a key the snapshot leaves out. */
        final int[] kept = new int[KeyOrder.LEAF_MAX];
        private int touched;

        void load(MvccStore.KeyEntry[] keys, boolean bytes) {
            int n = keys.length;
            for (int i = 0; i < n; i++) newest[i] = keys[i].head;
            for (int i = 0; i < n; i++) newest[i] = newestAtRevision(newest[i]);
            for (int i = 0; i < n; i++) kept[i] = versionsKept(newest[i]);
            if (!bytes) return;
            for (int i = 0; i < n; i++) {
                if (kept[i] == 0) continue;
                touched += keys[i].key.length;
                if (newest[i].value != null) touched += MvccStore.touch(newest[i].value);
            }
        }
    }

    /** Writes the key with its {@code versions} newest versions from {@code newest} on: those a read in [C, R] can see. */
    private void writeKey(BodyWriter data, byte[] key, MvccStore.Version newest, int versions) {
        data.bytes(key);
        data.u32(versions);
        MvccStore.Version v = newest;
        for (int i = 0; i < versions; i++, v = v.prev) {
            data.i64(v.createRevision).i64(v.modRevision).i64(v.version);
            if (v.isTombstone()) {
                data.u8(KvSnapshotFormat.KIND_TOMBSTONE);
            } else if (v.lease() == 0) {
                data.u8(KvSnapshotFormat.KIND_VALUE).bytes(v.value);
            } else {
                data.u8(KvSnapshotFormat.KIND_LEASED_VALUE).i64(v.lease()).bytes(v.value);
            }
        }
    }

    private void writeAuth(BodyWriter data) {
        data.u8(auth.enabled() ? 1 : 0).i64(auth.revision()).u32(auth.roles().size()).u32(auth.users().size());
        for (AuthStore.Role r : auth.roles()) {
            data.str(r.name()).u32(r.permissions().size());
            for (Permission p : r.permissions()) data.u8(p.type().code).bytes(p.key()).bytes(p.rangeEnd());
        }
        for (AuthStore.User u : auth.users()) {
            data.str(u.name()).bytes(u.password().salt()).u32(u.password().iterations()).bytes(u.password().hash()).u32(u.roles().size());
            for (String role : u.roles()) data.str(role);
        }
    }

    /** Drops the trim hold; compactions free memory again. Idempotent. Loop thread only. */
    public void release() {
        if (released) return;
        released = true;
        store.releaseTrim();
    }

    private void requireHeld(String when) {
        if (released) throw new IllegalStateException("snapshot at revision " + revision + " released " + when + ": compactions may have trimmed the view");
    }

    private MvccStore.Version newestAtRevision(MvccStore.Version head) {
        MvccStore.Version v = head;
        while (v != null && v.modRevision > revision) v = v.prev;
        return v;
    }

    /**
     * How many versions from {@code newest} on a fully trimmed store keeps ({@code MvccStore.trim}'s rule): down to
     * the newest one at or below the compaction point, that one dropped if it is a delete.
     */
    private int versionsKept(MvccStore.Version newest) {
        int n = 0;
        for (MvccStore.Version v = newest; v != null; v = v.prev) {
            if (v.modRevision <= compactRevision) return v.isTombstone() ? n : n + 1;
            n++;
        }
        return n;
    }
}
