package io.raftkv.kv;

import io.raftkv.protocol.Permission;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
        for (MvccStore.KeyEntry[] leaf : entries) {
            for (MvccStore.KeyEntry e : leaf) if (versionsKept(newestAtRevision(e.head)) > 0) keyCount++;
        }

        CRC32C crc = new CRC32C();
        DataOutputStream data = new DataOutputStream(new BufferedOutputStream(new CheckedOutputStream(out, crc), WRITE_BUFFER_BYTES));
        data.write(KvSnapshotFormat.MAGIC);
        data.writeShort(KvSnapshotFormat.FORMAT_VERSION);
        data.writeLong(revision);
        data.writeLong(compactRevision);
        data.writeLong(digest);
        data.writeLong(keyCount);
        data.writeLong(leases.size());
        for (Leases.Granted l : leases) {
            data.writeLong(l.id());
            data.writeLong(l.ttlSeconds());
        }
        writeAuth(data);
        long written = 0;
        for (MvccStore.KeyEntry[] leaf : entries) {
            for (MvccStore.KeyEntry e : leaf) {
                if (writeKey(data, e)) written++;
            }
        }
        if (written != keyCount) throw new IllegalStateException("the view at revision " + revision + " changed while written: " + keyCount + " keys counted, " + written + " written");
        data.flush();
        data.writeInt((int) crc.getValue());
        data.flush();
        requireHeld("while it was written");
    }

    /** Writes the key with the versions a read in [C, R] can see; false, writing nothing, when there are none. */
    private boolean writeKey(DataOutputStream data, MvccStore.KeyEntry e) throws IOException {
        MvccStore.Version newest = newestAtRevision(e.head);
        int versions = versionsKept(newest);
        if (versions == 0) return false;
        data.writeInt(e.key.length);
        data.write(e.key);
        data.writeInt(versions);
        MvccStore.Version v = newest;
        for (int i = 0; i < versions; i++, v = v.prev) {
            data.writeLong(v.createRevision);
            data.writeLong(v.modRevision);
            data.writeLong(v.version);
            if (v.isTombstone()) {
                data.writeByte(KvSnapshotFormat.KIND_TOMBSTONE);
            } else if (v.lease() == 0) {
                data.writeByte(KvSnapshotFormat.KIND_VALUE);
                data.writeInt(v.value.length);
                data.write(v.value);
            } else {
                data.writeByte(KvSnapshotFormat.KIND_LEASED_VALUE);
                data.writeLong(v.lease());
                data.writeInt(v.value.length);
                data.write(v.value);
            }
        }
        return true;
    }

    private void writeAuth(DataOutputStream data) throws IOException {
        data.writeByte(auth.enabled() ? 1 : 0);
        data.writeLong(auth.revision());
        data.writeInt(auth.roles().size());
        data.writeInt(auth.users().size());
        for (AuthStore.Role r : auth.roles()) {
            writeString(data, r.name());
            data.writeInt(r.permissions().size());
            for (Permission p : r.permissions()) {
                data.writeByte(p.type().code);
                writeBytes(data, p.key());
                writeBytes(data, p.rangeEnd());
            }
        }
        for (AuthStore.User u : auth.users()) {
            writeString(data, u.name());
            writeBytes(data, u.password().salt());
            data.writeInt(u.password().iterations());
            writeBytes(data, u.password().hash());
            data.writeInt(u.roles().size());
            for (String role : u.roles()) writeString(data, role);
        }
    }

    private static void writeString(DataOutputStream data, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        data.writeShort(b.length);
        data.write(b);
    }

    private static void writeBytes(DataOutputStream data, byte[] b) throws IOException {
        data.writeInt(b.length);
        data.write(b);
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
