package io.raftkv.kv;

import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Frames;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.KvCodec;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Membership;
import io.raftkv.replica.ReplicaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The replicated state machine: an {@link MvccStore} and its {@link Leases}, changed only by committed log entries
 * applied in index order, each exactly once, with etcd's semantics for puts, deletes, transactions, compaction and
 * leases (a grant, a key attached by a put with a lease, a revoke deleting the lease's keys in one revision), and its
 * {@link AuthStore}: while auth is enabled, a command applies only if the user it was asked as may make it, checked
 * here, at its place in the log, so that a permission revoked applies on every replica at the same index (docs/auth.md).
 */
public final class KvStateMachine implements ReplicaDriver.StateMachine<ApplyResult> {

    private static final KeyValue MISSING = new KeyValue(new byte[0], 0, 0, 0, new byte[0]);
    private static final byte[] EMPTY = new byte[0];

    /** Replaced as a whole by {@link #restore}; otherwise changed only by {@link #apply}. */
    private MvccStore store = new MvccStore();
    /** The leases and their keys: replaced with the store, changed only with it. */
    private Leases leases = new Leases();
    /** Users, roles, permissions: replaced with the store; each auth change makes a new one. */
    private AuthStore auth = AuthStore.EMPTY;
    /** Bytes of key-values the ranges of one transaction may answer with; past it they are cut and say more. */
    private final long resultBytesMax;
    private final InjectedKvBug bug;
    private long appliedIndex;
    /** What {@link #prefetch} read, kept only so that the compiler keeps its reads. */
    private int prefetched;
    private ChangeListener changes = ChangeListener.NONE;

    public KvStateMachine(long resultBytesMax) {
        this(resultBytesMax, InjectedKvBug.NONE);
    }

    /** Tests only: a state machine with a deliberate bug. */
    public KvStateMachine(long resultBytesMax, InjectedKvBug bug) {
        this.resultBytesMax = resultBytesMax;
        this.bug = bug;
    }

    /** A state machine whose transaction answers are not bounded: tests and benchmarks. */
    public KvStateMachine() {
        this(Long.MAX_VALUE);
    }

    /** Who hears what each applied command changed (watches). */
    public void setChangeListener(ChangeListener listener) {
        this.changes = listener;
    }

    /**
     * Loads the store's index slots, entries and versions of the keys the committed puts will write, all of them before
     * the first is applied: applied one at a time, each put's lookup waited for its own cache misses (the stalls of the
     * leader's loop under puts were mostly these).
     */
    @Override
    public void prefetch(List<Entry> committed) {
        int touched = 0;
        for (int i = 0; i < committed.size(); i++) {
            byte[] data = committed.get(i).data();
            if (data.length < 5 || data[0] != KvCommand.PUT) continue;
            int keyLength = (data[1] & 0xff) << 24 | (data[2] & 0xff) << 16 | (data[3] & 0xff) << 8 | data[4] & 0xff;
            if (keyLength > 0 && keyLength <= data.length - 5) touched += store.prefetch(data, 5, keyLength);
        }
        prefetched += touched;
    }

    /** Applies the entry at {@link #appliedIndex()} + 1; any other index is a broken invariant and throws. */
    @Override
    public ApplyResult apply(Entry e) {
        if (e.index() != appliedIndex + 1) throw new IllegalStateException("entry " + e.index() + " applied after " + appliedIndex);
        appliedIndex = e.index();
        // A no-op and a configuration change only move the applied index: the core and the node act on the latter.
        if (e.isNoop() || Membership.isConfigEntry(e)) return new ApplyResult.Nothing(store.revision());
        KvCommand c = KvCommand.decode(e.data());
        String user = null;
        if (c instanceof KvCommand.AsUser u) {
            user = u.user();
            c = u.command();
        }
        if (auth.enabled()) {
            ApplyResult denied = authorize(user, c);
            if (denied != null) return denied;
        }
        if (c instanceof KvCommand.Auth a) return authChange(a);
        if (c instanceof KvCommand.Put p) {
            MvccStore.Write w = store.write(changes.listening());
            put(w, p.key(), p.value(), 0);
            return new ApplyResult.Done(end(w));
        }
        if (c instanceof KvCommand.Delete d) {
            MvccStore.Write w = store.write(changes.listening());
            deleteRange(w, d.key(), EMPTY);
            return new ApplyResult.Done(end(w));
        }
        if (c instanceof KvCommand.LeaseGrant g) return grant(g);
        if (c instanceof KvCommand.LeaseRevoke r) return revoke(r.leaseId());
        if (c instanceof KvCommand.Compact compact) {
            try {
                store.compact(compact.revision());
                return new ApplyResult.Done(store.revision());
            } catch (KvException refused) {
                return new ApplyResult.Refused(store.revision(), refused.code(), refused.getMessage());
            }
        }
        return txn(((KvCommand.Txn) c).request());
    }

    /**
     * Why {@code user} (null: the command came without one) may not make {@code c} now that auth is enabled, or null.
     * Without a user, only what the nodes propose themselves goes: compactions and lease revocations (a client's write
     * proposed before auth was enabled is refused here, as etcd's "user name is empty").
     */
    private ApplyResult authorize(String user, KvCommand c) {
        if (user == null) {
            if (c instanceof KvCommand.Compact || c instanceof KvCommand.LeaseRevoke || c instanceof KvCommand.LeaseGrant) return null;
            return new ApplyResult.Refused(store.revision(), ErrorCode.AUTH_REQUIRED, "user name is empty: auth was enabled before this request was applied");
        }
        boolean allowed;
        if (auth.isRoot(user)) allowed = true;
        else if (c instanceof KvCommand.Put p) allowed = auth.canWrite(user, p.key(), EMPTY);
        else if (c instanceof KvCommand.Delete d) allowed = auth.canWrite(user, d.key(), EMPTY);
        else if (c instanceof KvCommand.Txn t) allowed = auth.permitsTxn(user, t.request());
        else if (c instanceof KvCommand.Auth a) allowed = auth.permitsAuth(user, a.request());
        else if (c instanceof KvCommand.LeaseRevoke r) allowed = mayRevoke(user, r.leaseId());
        else allowed = c instanceof KvCommand.LeaseGrant; // a compaction is root's
        if (allowed) return null;
        return new ApplyResult.Refused(store.revision(), ErrorCode.PERMISSION_DENIED, "permission denied"
                + (auth.user(user) == null ? ": user " + user + " does not exist" : " to user " + user));
    }

    /** As etcd: revoking a lease deletes its keys, so the user must be allowed to write every one of them. */
    private boolean mayRevoke(String user, long leaseId) {
        Leases.Lease lease = leases.get(leaseId);
        if (lease == null) return true; // refused as not found anyway
        for (byte[] key : lease.keys()) if (!auth.canWrite(user, key, EMPTY)) return false;
        return true;
    }

    private ApplyResult authChange(KvCommand.Auth a) {
        try {
            auth = auth.apply(a.request(), a.password());
            return new ApplyResult.Done(store.revision());
        } catch (KvException refused) {
            return new ApplyResult.Refused(store.revision(), refused.code(), refused.getMessage());
        }
    }

    private ApplyResult txn(TxnRequest t) {
        boolean succeeded = comparesHold(t);
        List<TxnOp> branch = succeeded ? t.success() : t.failure();
        ApplyResult unreadable = unreadableRange(branch);
        if (unreadable != null) return unreadable;
        // etcd's rule: a put naming a lease that does not exist (never granted, revoked, expired) fails the transaction.
        for (TxnOp op : branch) {
            if (op instanceof TxnOp.Put p && p.lease() != 0 && leases.get(p.lease()) == null) {
                return new ApplyResult.Refused(store.revision(), ErrorCode.LEASE_NOT_FOUND, "requested lease not found: lease "
                        + Long.toHexString(p.lease()) + " (for the put of " + Frames.printable(p.key()) + "); nothing was applied");
            }
        }
        // The previous key-values asked for must fit the answer, or the client could not be told what was applied.
        // A branch never writes one key twice, so the keys live now are exactly those its prev_kvs return.
        long prevKvBytes = 0;
        for (TxnOp op : branch) {
            if (op instanceof TxnOp.Put p && p.prevKv()) prevKvBytes += bytes(store.live(p.key(), new byte[0]));
            else if (op instanceof TxnOp.DeleteRange d && d.prevKv()) prevKvBytes += bytes(store.live(d.key(), d.rangeEnd()));
        }
        if (prevKvBytes > resultBytesMax) {
            return new ApplyResult.Refused(store.revision(), ErrorCode.TOO_LARGE, "the transaction's previous key-values take " + prevKvBytes
                    + " bytes, over the answer's limit of " + resultBytesMax + ": nothing was applied; ask without prev_kv");
        }
        MvccStore.Write w = store.write(changes.listening());
        List<OpResult> results = new ArrayList<>(branch.size());
        long budget = resultBytesMax - prevKvBytes;
        for (TxnOp op : branch) {
            if (op instanceof TxnOp.Range r) {
                long at = r.request().revision() > 0 ? r.request().revision() : w.readRevision();
                OpResult.Range range = store.rangeAt(r.request(), at, budget, true);
                budget -= bytes(range.kvs());
                results.add(range);
            } else if (op instanceof TxnOp.Put p) {
                KeyValue prev = put(w, p.key(), p.value(), p.lease());
                results.add(new OpResult.Put(p.prevKv() ? prev : null));
            } else if (op instanceof TxnOp.DeleteRange d) {
                List<KeyValue> deleted = deleteRange(w, d.key(), d.rangeEnd());
                results.add(new OpResult.DeleteRange(deleted.size(), d.prevKv() ? deleted : List.of()));
            }
        }
        return new ApplyResult.TxnDone(end(w), succeeded, results);
    }

    private boolean comparesHold(TxnRequest t) {
        boolean succeeded = true;
        for (Compare c : t.compares()) succeeded &= holds(c);
        return succeeded;
    }

    /** Before anything is written: a range at a revision the store cannot serve refuses the whole transaction. */
    private ApplyResult unreadableRange(List<TxnOp> branch) {
        try {
            for (TxnOp op : branch) {
                if (op instanceof TxnOp.Range r && r.request().revision() > 0) store.checkReadable(r.request().revision());
            }
            return null;
        } catch (KvException refused) {
            return new ApplyResult.Refused(store.revision(), refused.code(), refused.getMessage());
        }
    }

    /** Whether every operation of {@code branch} is a range: a branch that writes nothing. */
    public static boolean readsOnly(List<TxnOp> branch) {
        for (TxnOp op : branch) if (!(op instanceof TxnOp.Range)) return false;
        return true;
    }

    /**
     * The transaction as a read of the store as it is now, when the branch its compares pick writes nothing: what applying
     * it here would answer, with no log entry and no new revision (etcd serves a read-only transaction so). Null when
     * that branch writes: it must go through the log.
     */
    public ApplyResult readOnlyTxn(TxnRequest t) {
        boolean succeeded = comparesHold(t);
        List<TxnOp> branch = succeeded ? t.success() : t.failure();
        if (!readsOnly(branch)) return null;
        ApplyResult unreadable = unreadableRange(branch);
        if (unreadable != null) return unreadable;
        List<OpResult> results = new ArrayList<>(branch.size());
        long budget = resultBytesMax;
        for (TxnOp op : branch) {
            RangeRequest r = ((TxnOp.Range) op).request();
            OpResult.Range range = store.rangeAt(r, r.revision() > 0 ? r.revision() : store.revision(), budget, true);
            budget -= bytes(range.kvs());
            results.add(range);
        }
        return new ApplyResult.TxnDone(store.revision(), succeeded, results);
    }

    /**
     * Whether a compare of {@code t} is false now and stays false at every later revision, so that wherever the transaction
     * is applied from now on it takes its failure branch: the mod or create revision of one key compared equal to a
     * revision {@code r} the store has reached, which the key does not have now. A later write of the key gives it a
     * revision past the store's, a delete gives it none (0): never {@code r} again. (Versions and values can come back.)
     */
    public boolean failsForGood(TxnRequest t) {
        if (bug == InjectedKvBug.COMPARES_ALWAYS_HOLD) return false;
        for (Compare c : t.compares()) {
            if (!revisionEquality(c) || c.number() > store.revision()) continue;
            KeyValue now = store.get(c.key());
            long held = now == null ? 0 : c.target() == Compare.Target.MOD ? now.modRevision() : now.createRevision();
            if (held != c.number()) return true;
        }
        return false;
    }

    /**
     * A compare of one key's mod or create revision with a revision (not 0): what optimistic concurrency control compares, and
     * what any write of the key makes false for good (see {@link #failsForGood}).
     */
    public static boolean revisionEquality(Compare c) {
        return c.result() == Compare.Result.EQUAL && c.rangeEnd().length == 0 && c.number() > 0
                && (c.target() == Compare.Target.MOD || c.target() == Compare.Target.CREATE);
    }

    /** Ends a command's writes and tells the listener what they changed. */
    private long end(MvccStore.Write w) {
        long before = store.revision();
        long revision = w.end();
        if (revision != before) {
            List<WatchEvent> events = w.events();
            if (!events.isEmpty()) changes.changed(revision, events);
        }
        return revision;
    }

    /** A put that keeps the leases' key sets: the key leaves the lease it had, and joins {@code lease} (0: none). */
    private KeyValue put(MvccStore.Write w, byte[] key, byte[] value, long lease) {
        KeyValue prev = w.put(key, value, lease);
        long before = prev == null ? 0 : prev.lease();
        if (before != lease) {
            if (before != 0) leases.detach(before, key);
            if (lease != 0) leases.attach(lease, key);
        }
        return prev;
    }

    /** A delete that keeps the leases' key sets: each deleted key leaves its lease. */
    private List<KeyValue> deleteRange(MvccStore.Write w, byte[] key, byte[] rangeEnd) {
        List<KeyValue> deleted = w.deleteRange(key, rangeEnd);
        for (KeyValue kv : deleted) if (kv.lease() != 0) leases.detach(kv.lease(), kv.key());
        return deleted;
    }

    private ApplyResult grant(KvCommand.LeaseGrant g) {
        if (g.leaseId() <= 0 || g.ttlSeconds() < 1 || g.ttlSeconds() > Leases.TTL_SECONDS_MAX) {
            // The leader checks both before proposing: only a log written by another program gets here.
            return new ApplyResult.Refused(store.revision(), ErrorCode.BAD_REQUEST, "lease id " + g.leaseId() + " or TTL " + g.ttlSeconds() + " s out of range");
        }
        if (leases.get(g.leaseId()) != null) {
            return new ApplyResult.Refused(store.revision(), ErrorCode.LEASE_EXISTS, "lease already exists: " + Long.toHexString(g.leaseId()));
        }
        leases.grant(g.leaseId(), g.ttlSeconds());
        return new ApplyResult.LeaseGranted(store.revision(), g.leaseId(), g.ttlSeconds());
    }

    /** Ends the lease and deletes its keys in key order, all at one revision (none when it had no keys, as in etcd). */
    private ApplyResult revoke(long id) {
        Leases.Lease lease = leases.remove(id);
        if (lease == null) return new ApplyResult.Refused(store.revision(), ErrorCode.LEASE_NOT_FOUND, "requested lease not found: " + Long.toHexString(id));
        MvccStore.Write w = store.write(changes.listening());
        int deleted = 0;
        for (byte[] key : lease.keys()) deleted += w.deleteRange(key, EMPTY).size();
        if (deleted != lease.keyCount()) throw new IllegalStateException("lease " + Long.toHexString(id) + " held " + lease.keyCount() + " keys, " + deleted + " were live");
        return new ApplyResult.LeaseRevoked(end(w), id, deleted);
    }

    private static long bytes(List<KeyValue> kvs) {
        long n = 0;
        for (KeyValue kv : kvs) n += KvCodec.keyValueBytes(kv);
        return n;
    }

    /** etcd's compare: every live key of the range must satisfy it; a missing key has zero revisions and no value. */
    private boolean holds(Compare c) {
        if (bug == InjectedKvBug.COMPARES_ALWAYS_HOLD) return true;
        List<KeyValue> kvs = store.live(c.key(), c.rangeEnd());
        if (kvs.isEmpty()) return c.target() != Compare.Target.VALUE && c.result().holds(compare(c, MISSING));
        for (KeyValue kv : kvs) if (!c.result().holds(compare(c, kv))) return false;
        return true;
    }

    private static int compare(Compare c, KeyValue kv) {
        return switch (c.target()) {
            case VERSION -> Long.compare(kv.version(), c.number());
            case CREATE -> Long.compare(kv.createRevision(), c.number());
            case MOD -> Long.compare(kv.modRevision(), c.number());
            case VALUE -> Integer.signum(Arrays.compareUnsigned(kv.value(), c.value()));
        };
    }

    /**
     * Frees a batch of the history that compactions dropped: the owner calls it once per loop turn, so that a
     * compaction over many keys never stalls a turn. Changes no answer.
     */
    public void trimCompacted() {
        store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX);
    }

    /**
     * Captures the state machine now (applied index, revision, compaction point) for a writer on any thread, and
     * holds the store's trimming until {@link KvSnapshot#release()}: call release as soon as it is written. Loop
     * thread only.
     */
    public KvSnapshot snapshot() {
        return KvSnapshot.take(store, leases, auth, appliedIndex);
    }

    /** A store and its leases read from a snapshot stream, on any thread, waiting to be {@link #install installed}. */
    public static final class Restored {
        private final MvccStore store;
        private final Leases leases;
        private final AuthStore auth;

        Restored(MvccStore store, Leases leases, AuthStore auth) {
            this.store = store;
            this.leases = leases;
            this.auth = auth;
        }

        public long revision() {
            return store.revision();
        }
    }

    /**
     * Reads a snapshot stream (written by {@link KvSnapshot#writeTo}) into a new store, on any thread: a big snapshot
     * is read while the loop goes on. A malformed stream throws {@link KvSnapshotFormatException}. A key or value
     * longer than {@code keyBytesMax} / {@code valueBytesMax} is refused as damage, so they must be at least the
     * limits the writes were accepted with.
     */
    public static Restored read(InputStream in, int keyBytesMax, int valueBytesMax) throws IOException {
        return KvSnapshotReader.read(in, keyBytesMax, valueBytesMax);
    }

    /**
     * Replaces the state with {@code restored}, a snapshot taken at log index {@code appliedIndex}: the next entry
     * applied must be {@code appliedIndex + 1}. Loop thread only; a {@link KvSnapshot} taken before keeps reading the
     * old store.
     */
    public void install(long appliedIndex, Restored restored) {
        if (appliedIndex < 0) throw new IllegalArgumentException("applied index " + appliedIndex + " is negative");
        store = restored.store;
        leases = restored.leases;
        auth = restored.auth;
        this.appliedIndex = appliedIndex;
        changes.replaced();
    }

    /** {@link #read} then {@link #install}, on the loop thread: a restart, tests. A malformed stream leaves the state as it was. */
    public void restore(long appliedIndex, InputStream in, int keyBytesMax, int valueBytesMax) throws IOException {
        install(appliedIndex, read(in, keyBytesMax, valueBytesMax));
    }

    /** The current store: {@link #restore} replaces it, so hold on to it no longer than a loop turn. */
    public MvccStore store() {
        return store;
    }

    /** The leases: {@link #restore} replaces them, so hold on to them no longer than a loop turn. */
    public Leases leases() {
        return leases;
    }

    /** Users, roles, permissions, as applied: each change and {@link #restore} replace it, so hold it no longer than a loop turn. */
    public AuthStore auth() {
        return auth;
    }

    /** The value at the current revision, or null when the key is absent. */
    public byte[] get(byte[] key) {
        KeyValue kv = store.get(key);
        return kv == null ? null : kv.value();
    }

    @Override
    public long appliedIndex() {
        return appliedIndex;
    }

    public long size() {
        return store.liveKeys();
    }

    public long revision() {
        return store.revision();
    }

    /**
     * A digest of the live keys, values, revisions and leases: replicas at the same applied index agree on it. O(1).
     * Without leases it is {@link MvccStore#digest()}.
     */
    public long hash() {
        return store.digest() + leases.digest();
    }
}
