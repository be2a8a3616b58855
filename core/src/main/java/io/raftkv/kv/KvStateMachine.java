package io.raftkv.kv;

import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.KvCodec;
import io.raftkv.protocol.OpResult;
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
 * The replicated state machine: an {@link MvccStore} changed only by committed log entries applied in index
 * order, each exactly once, with etcd's semantics for puts, deletes, transactions and compaction.
 */
public final class KvStateMachine implements ReplicaDriver.StateMachine<ApplyResult> {

    private static final KeyValue MISSING = new KeyValue(new byte[0], 0, 0, 0, new byte[0]);

    /** Replaced as a whole by {@link #restore}; otherwise changed only by {@link #apply}. */
    private MvccStore store = new MvccStore();
    /** Bytes of key-values the ranges of one transaction may answer with; past it they are cut and say more. */
    private final long resultBytesMax;
    private final InjectedKvBug bug;
    private long appliedIndex;
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

    /** Applies the entry at {@link #appliedIndex()} + 1; any other index is a broken invariant and throws. */
    @Override
    public ApplyResult apply(Entry e) {
        if (e.index() != appliedIndex + 1) throw new IllegalStateException("entry " + e.index() + " applied after " + appliedIndex);
        appliedIndex = e.index();
        // A no-op and a configuration change only move the applied index: the core and the node act on the latter.
        if (e.isNoop() || Membership.isConfigEntry(e)) return new ApplyResult.Nothing(store.revision());
        KvCommand c = KvCommand.decode(e.data());
        if (c instanceof KvCommand.Put p) {
            MvccStore.Write w = store.write(changes.listening());
            w.put(p.key(), p.value());
            return new ApplyResult.Done(end(w));
        }
        if (c instanceof KvCommand.Delete d) {
            MvccStore.Write w = store.write(changes.listening());
            w.deleteRange(d.key(), new byte[0]);
            return new ApplyResult.Done(end(w));
        }
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

    private ApplyResult txn(TxnRequest t) {
        boolean succeeded = true;
        for (Compare c : t.compares()) succeeded &= holds(c);
        List<TxnOp> branch = succeeded ? t.success() : t.failure();
        try {
            // Before anything is written: a range at a revision the store cannot serve refuses the whole transaction.
            for (TxnOp op : branch) {
                if (op instanceof TxnOp.Range r && r.request().revision() > 0) store.checkReadable(r.request().revision());
            }
        } catch (KvException refused) {
            return new ApplyResult.Refused(store.revision(), refused.code(), refused.getMessage());
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
                KeyValue prev = w.put(p.key(), p.value());
                results.add(new OpResult.Put(p.prevKv() ? prev : null));
            } else if (op instanceof TxnOp.DeleteRange d) {
                List<KeyValue> deleted = w.deleteRange(d.key(), d.rangeEnd());
                results.add(new OpResult.DeleteRange(deleted.size(), d.prevKv() ? deleted : List.of()));
            }
        }
        return new ApplyResult.TxnDone(end(w), succeeded, results);
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
        return KvSnapshot.take(store, appliedIndex);
    }

    /** A store read from a snapshot stream, on any thread, waiting to be {@link #install installed}. */
    public static final class Restored {
        private final MvccStore store;

        private Restored(MvccStore store) {
            this.store = store;
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
        return new Restored(KvSnapshotReader.read(in, keyBytesMax, valueBytesMax));
    }

    /**
     * Replaces the state with {@code restored}, a snapshot taken at log index {@code appliedIndex}: the next entry
     * applied must be {@code appliedIndex + 1}. Loop thread only; a {@link KvSnapshot} taken before keeps reading the
     * old store.
     */
    public void install(long appliedIndex, Restored restored) {
        if (appliedIndex < 0) throw new IllegalArgumentException("applied index " + appliedIndex + " is negative");
        store = restored.store;
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

    /** A digest of the live keys, values and revisions: replicas at the same applied index agree on it. O(1). */
    public long hash() {
        return store.digest();
    }
}
