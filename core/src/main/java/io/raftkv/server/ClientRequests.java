package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvException;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.Leases;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import io.raftkv.raft.SubmitResult;
import io.raftkv.replica.ReplicaDriver;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.function.IntFunction;

/**
 * The client request table of one replica: takes requests, hands writes and linearizable reads to the core,
 * and answers each exactly once (when its entry is applied, when its read is safe, or at its deadline). Also
 * holds the start-up barrier that serializable reads wait for. Runs on the thread that drives the replica.
 *
 * <p>A write is answered when the entry at its proposal's index is applied: with what applying it did (OK, a
 * transaction's results, or the store's refusal) if that entry has the proposal's term, {@code UNAVAILABLE} (not
 * applied; retry) if a leader change put another entry there. Every key/value answer carries a header: the
 * store's revision, this member, its term.
 *
 * <p>Leases: a grant or a revoke is a write (the leader picks a grant's id and raises its TTL to the minimum before
 * proposing it); a keepalive, a time-to-live and the list of leases are served by the leader only (a follower answers
 * NOT_LEADER), through a read index, so that a deposed leader never renews a lease, and from its {@link Lessor}.
 *
 * <p>Auth (docs/auth.md): a write from an authenticated connection is proposed as its user's ({@link KvCommand.AsUser}),
 * so that applying it checks that user's permissions; a read's permission is checked when it is served. AUTH requests go to
 * {@link AuthRequests} once {@link #serveAuth} wired it.
 */
public final class ClientRequests implements ReplicaDriver.Listener<ApplyResult> {

    /** Where a request came from and its answer goes: a client connection, or a simulated client. */
    public interface Channel {
        /** Sends the answer; one to a channel that went away is dropped. */
        void reply(ClientResponse response);

        /** Who the connection authenticated as; null when it has not (or cannot: a simulated client). */
        default AccessControl.Identity identity() {
            return null;
        }

        /** AUTHENTICATE succeeded: the connection acts as {@code who} from now on. */
        default void identify(AccessControl.Identity who) {
            throw new UnsupportedOperationException("this channel cannot authenticate");
        }
    }

    /**
     * The limits of the table, with units last. Each pending request holds one timer, so a node's timer budget
     * counts {@code pendingRequestsMax} of them. {@code barrierRetryMs}: how often the start-up barrier asks again.
     * {@code txnOpsMax}: compares, and operations of each branch, of one transaction (etcd's --max-txn-ops).
     * {@code commandBytesMax}: the largest log entry a request may become, so that any entry fits one APPEND.
     * {@code resultBytesMax}: key-values one answer may carry (a range over it is refused, or cut inside a transaction).
     * {@code leasesMax}: leases the cluster may hold (the leader refuses a grant past it, counting its grants in flight);
     * {@code keysPerLeaseMax}: keys one lease may hold (the leader refuses a put past it); {@code leaseTtlSecondsMin}: a
     * grant of a shorter TTL is raised to it (etcd's minimum TTL, 1.5 election timeouts).
     */
    public record Limits(int pendingRequestsMax, long requestTimeoutMs, int keyBytesMax, int valueBytesMax, long barrierRetryMs,
                         int txnOpsMax, long commandBytesMax, long resultBytesMax, int leasesMax, int keysPerLeaseMax, long leaseTtlSecondsMin) {
        public Limits {
            if (leasesMax < 1 || keysPerLeaseMax < 1) throw new IllegalArgumentException("leasesMax and keysPerLeaseMax must be at least 1");
            if (leaseTtlSecondsMin < 1 || leaseTtlSecondsMin > Leases.TTL_SECONDS_MAX) throw new IllegalArgumentException("leaseTtlSecondsMin " + leaseTtlSecondsMin);
            if (pendingRequestsMax < 1) throw new IllegalArgumentException("pendingRequestsMax must be at least 1");
            if (requestTimeoutMs < 1) throw new IllegalArgumentException("requestTimeoutMs must be at least 1");
            if (keyBytesMax < 1 || valueBytesMax < 0) throw new IllegalArgumentException("keyBytesMax must be at least 1 and valueBytesMax not negative");
            if (barrierRetryMs < 1) throw new IllegalArgumentException("barrierRetryMs must be at least 1");
            if (txnOpsMax < 1) throw new IllegalArgumentException("txnOpsMax must be at least 1");
            if (commandBytesMax < KvCommand.PUT_OVERHEAD_BYTES + (long) keyBytesMax + valueBytesMax) {
                throw new IllegalArgumentException("commandBytesMax must hold the largest PUT");
            }
            if (resultBytesMax < 64L + keyBytesMax + valueBytesMax) throw new IllegalArgumentException("resultBytesMax must hold the largest key-value");
        }
    }

    /** What a read context waits for: the core only carries a number, the table knows what it stands for. */
    private sealed interface ReadWaiter permits StartupBarrier, ReadBatch, LeaseRenewal { }

    private record StartupBarrier() implements ReadWaiter { }

    /** A GET, a RANGE, a read-only transaction or a lease read (keepalive, time-to-live, list) waiting for its read index. */
    private record PendingRead(Channel channel, ClientRequest request) { }

    /**
     * Linearizable reads that share one read index: every read that arrives before the core hands out its next Ready joins
     * the batch the first of them opened, since the read index's round (or READ_INDEX to the leader) leaves with that Ready,
     * after all of them arrived; one context, one timer. Asked at {@code askedAtMs} in {@code term} (0 when served from the
     * read lease: it proves nothing).
     */
    private static final class ReadBatch implements ReadWaiter {
        final long context;
        final long askedAtMs;
        final long term;
        /** {@link RaftCore#readiesTaken()} when it opened: it takes reads until that changes. */
        final long readyAt;
        final boolean fromLease;
        final List<PendingRead> reads = new ArrayList<>();
        long timerId;

        ReadBatch(long context, long askedAtMs, long term, long readyAt, boolean fromLease) {
            this.context = context;
            this.askedAtMs = askedAtMs;
            this.term = term;
            this.readyAt = readyAt;
            this.fromLease = fromLease;
        }
    }

    /** A read index asked only to renew the read lease. */
    private record LeaseRenewal(long askedAtMs, long term) implements ReadWaiter { }

    /**
     * {@code grantId}: the lease id a LEASE_GRANT proposes, 0 for any other write. {@code txnWrites}: the keys a transaction
     * may write, which transactions held behind it wait on (null for any other write).
     */
    private record PendingWrite(Channel channel, long requestId, long term, long timerId, long grantId, List<ByteBuffer> txnWrites) { }

    /**
     * A transaction held at the leader behind one in flight that writes a key whose revision it compares.
     * {@code confirmedBy}: the index of a write of this leader's {@code term} that left after this transaction arrived,
     * whose commit confirms the leader as a read index round would; 0 when there is none.
     */
    private record HeldTxn(Channel channel, ClientRequest.Txn request, long timerId, long confirmedBy, long term) { }

    /**
     * A key that proposed transactions write: how many are in flight, and the transactions held until none is; the
     * last write proposed on it, its term, and {@link RaftCore#readiesTaken()} when it was proposed (it leaves with the
     * next Ready).
     */
    private static final class KeyTurn {
        final ByteBuffer key;
        int writing;
        final ArrayDeque<HeldTxn> held = new ArrayDeque<>();
        long lastWriteIndex;
        long lastWriteTerm;
        long lastWriteReadies = -1;

        KeyTurn(ByteBuffer key) {
            this.key = key;
        }
    }

    private static final StartupBarrier BARRIER = new StartupBarrier();
    private static final int BARRIER_ROUNDS_KEPT_MAX = 16;
    /** Lease renewals waiting for their read index: one a heartbeat; a late answer to an earlier one is as good. */
    private static final int LEASE_RENEWALS_KEPT_MAX = 16;

    private final int selfId;
    /** Addresses of the members, to name the leader in a NOT_LEADER answer. */
    private final IntFunction<ClusterConfig.Member> members;
    private final RaftCore core;
    private final KvStateMachine kv;
    private final Lessor lessor;
    private final Timers timers;
    private final Limits limits;
    private final boolean unsafeLocalReads;
    private final boolean readBatchNeverCloses;
    private final AccessControl access;
    /** Serves AUTH requests; null until {@link #serveAuth} (a simulated replica has none). */
    private AuthRequests auth;
    private final Map<Long, PendingWrite> pendingWrites = new HashMap<>();
    /** The keys transactions in flight write, by key bytes (a wrapped array compares by content). */
    private final Map<ByteBuffer, KeyTurn> keyTurns = new HashMap<>();
    /** Keys that became idle during the turn, whose held transactions go on at its end. */
    private final ArrayDeque<KeyTurn> turnsToRelease = new ArrayDeque<>();
    private int heldTxns;
    private long heldTotal;
    private long heldAnsweredAtOnce;
    private final Map<Long, ReadWaiter> pendingReads = new HashMap<>();
    private final ArrayDeque<Long> barrierContexts = new ArrayDeque<>();
    /** The leader's read lease; null when lease reads are off (every linearizable read asks a read index). */
    private final ReadLease readLease;
    private final ArrayDeque<Long> renewalContexts = new ArrayDeque<>();
    /** Linearizable reads served from the read lease, without a heartbeat round of their own. */
    private long leaseReads;
    /** Ids of the grants this node proposed and has not seen applied: counted against leasesMax, never picked again. */
    private final Set<Long> pendingGrants = new HashSet<>();
    /** Where the ids of grants that ask for none come from: seeded per life, so the simulator replays them. */
    private final SplittableRandom leaseIds;
    private long nextReadContext;
    /** Pending entries of {@link #pendingReads} that are client reads (barrier rounds are not counted). */
    private int pendingClientReads;
    /** The batch new linearizable reads join while the core has not handed out a Ready since it opened; null when none. */
    private ReadBatch openBatch;
    /**
     * Serializable reads wait for one linearizable read barrier after start: the map is rebuilt from the log up
     * to the commit index this node persisted, which may be behind what it served before a crash. Once applied
     * reaches a read index from the current leader, it is at least where it ever was, so a node's serializable
     * reads never go back, across restarts too.
     */
    private boolean caughtUpSinceStart;

    /**
     * {@code firstReadContext}: where this table's read contexts start. It must differ from one life of the node to
     * the next (a random number does): the leader's answer to a read a follower forwarded before a crash may
     * arrive after its restart, and must not serve a new read that happens to reuse the number.
     */
    public ClientRequests(int selfId, IntFunction<ClusterConfig.Member> members, RaftCore core, KvStateMachine kv, Lessor lessor, Timers timers,
                          Limits limits, long firstReadContext) {
        this(selfId, members, core, kv, lessor, timers, limits, firstReadContext, null, InjectedRequestBug.NONE);
    }

    /**
     * {@code readLease}: the leader's read lease, null when lease reads are off. Tests only: {@code bug}, a deliberate bug,
     * to show that the checks find it.
     */
    public ClientRequests(int selfId, IntFunction<ClusterConfig.Member> members, RaftCore core, KvStateMachine kv, Lessor lessor, Timers timers,
                          Limits limits, long firstReadContext, ReadLease readLease, InjectedRequestBug bug) {
        this.selfId = selfId;
        this.readLease = readLease;
        this.members = members;
        this.core = core;
        this.kv = kv;
        this.lessor = lessor;
        this.leaseIds = new SplittableRandom(firstReadContext * 0x9E3779B97F4A7C15L + 1);
        this.timers = timers;
        this.limits = limits;
        this.nextReadContext = firstReadContext;
        this.unsafeLocalReads = bug == InjectedRequestBug.LINEARIZABLE_READS_FROM_LOCAL_MAP;
        this.access = new AccessControl(kv);
        this.caughtUpSinceStart = bug == InjectedRequestBug.NO_STARTUP_BARRIER;
        this.readBatchNeverCloses = bug == InjectedRequestBug.READ_BATCH_NEVER_CLOSES;
    }

    /**
     * Serves AUTH requests from now on: passwords are hashed on a thread of their own, whose results {@code loop} runs on
     * the loop thread (it must take tasks from any thread).
     */
    public void serveAuth(Executor loop) {
        this.auth = new AuthRequests(this, kv, loop);
    }

    /** The refusal of {@code r} from the connection of {@code c} (docs/auth.md), or null: while auth is disabled, always null. */
    ClientResponse refusal(Channel c, ClientRequest r) {
        return access.refusal(c.identity(), r);
    }

    /** The refusal of a backup (SNAPSHOT) from the connection of {@code c}: only root may take one once auth is enabled. */
    ClientResponse backupRefusal(Channel c, long requestId) {
        return access.backupRefusal(c.identity(), requestId);
    }

    /** Starts the start-up barrier: one read index asked every {@code barrierRetryMs} until one comes back. */
    public void startBarrier() {
        if (caughtUpSinceStart) return;
        // Any round may be lost to a leader change; a late answer to an earlier one is as good, so the last
        // few stay registered, and no more: a node cut off for hours must not collect them without bound.
        SubmitResult r = core.readIndex(nextReadContext);
        if (r.accepted()) {
            if (barrierContexts.size() == BARRIER_ROUNDS_KEPT_MAX) pendingReads.remove(barrierContexts.poll());
            barrierContexts.add(nextReadContext);
            pendingReads.put(nextReadContext++, BARRIER);
        }
        timers.schedule(limits.barrierRetryMs(), this::startBarrier);
    }

    /**
     * Every heartbeat, a leader with lease reads on asks a read index only to renew its lease, so that a read after a
     * quiet while needs no round of its own.
     */
    public void renewReadLease() {
        if (readLease == null || core.role() != Role.LEADER) return;
        long askedAtMs = readLease.nowMs();
        long term = core.term();
        if (!core.readIndex(nextReadContext).accepted()) return;
        if (renewalContexts.size() == LEASE_RENEWALS_KEPT_MAX) pendingReads.remove(renewalContexts.poll());
        renewalContexts.add(nextReadContext);
        pendingReads.put(nextReadContext++, new LeaseRenewal(askedAtMs, term));
    }

    public long leaseReads() {
        return leaseReads;
    }

    public int pending() {
        return pendingWrites.size() + pendingClientReads + heldTxns;
    }

    public boolean caughtUpSinceStart() {
        return caughtUpSinceStart;
    }

    public void handle(Channel c, ClientRequest r) {
        if (r instanceof ClientRequest.Status) {
            RaftStatus s = core.status();
            c.reply(new ClientResponse.StatusResult(r.requestId(), selfId, s.role().name(), s.term(), s.leader(), s.commit(),
                    kv.appliedIndex(), kv.size(), kv.hash()));
            return;
        }
        if (pending() >= limits.pendingRequestsMax()) {
            c.reply(new ClientResponse.Error(r.requestId(), ErrorCode.OVERLOADED, limits.pendingRequestsMax() + " requests already pending"));
            return;
        }
        RequestChecks.Problem problem = RequestChecks.check(r, limits);
        if (problem != null) {
            c.reply(new ClientResponse.Error(r.requestId(), problem.code(), problem.message()));
            return;
        }
        if (r instanceof ClientRequest.Put p) {
            propose(c, r.requestId(), KvCommand.put(p.key(), p.value()));
        } else if (r instanceof ClientRequest.Delete d) {
            propose(c, r.requestId(), KvCommand.delete(d.key()));
        } else if (r instanceof ClientRequest.Txn t) {
            txn(c, t);
        } else if (r instanceof ClientRequest.LeaseGrant g) {
            grant(c, g);
        } else if (r instanceof ClientRequest.LeaseRevoke v) {
            propose(c, r.requestId(), new KvCommand.LeaseRevoke(v.leaseId()));
        } else if (r instanceof ClientRequest.LeaseKeepAlive || r instanceof ClientRequest.LeaseTimeToLive || r instanceof ClientRequest.LeaseLeases) {
            // The leader's lessor alone knows when leases expire; a read index first, so that a deposed leader answers none.
            if (core.role() != Role.LEADER) c.reply(notLeader(r.requestId(), core.status().leader()));
            else readIndex(c, r);
        } else if (r instanceof ClientRequest.Compact compact) {
            propose(c, r.requestId(), new KvCommand.Compact(compact.revision()));
        } else if (r instanceof ClientRequest.Auth a) {
            if (auth == null) c.reply(new ClientResponse.Error(r.requestId(), ErrorCode.UNKNOWN_TYPE, "this node serves no AUTH requests"));
            else auth.handle(c, a);
        } else if (serializable(r) || unsafeLocalReads) {
            c.reply(caughtUpSinceStart ? read(c, r) : new ClientResponse.Error(r.requestId(), ErrorCode.UNAVAILABLE,
                    "the node is catching up with the leader after a start; retry, or read from another node"));
        } else {
            readIndex(c, r);
        }
    }

    private static boolean serializable(ClientRequest r) {
        return r instanceof ClientRequest.Get g ? g.serializable() : ((ClientRequest.Range) r).request().serializable();
    }

    void readIndex(Channel c, ClientRequest r) {
        ReadBatch batch = openBatch;
        // A lease batch takes a read only while the lease still holds at its arrival.
        if (batch == null || batch.readyAt != core.readiesTaken() && !readBatchNeverCloses || batch.fromLease && !readLease.holds(core.term())) {
            batch = openBatch(c, r);
            if (batch == null) return;
        }
        batch.reads.add(new PendingRead(c, r));
        pendingClientReads++;
        if (batch.fromLease) leaseReads++;
    }

    /** A new batch of reads with its read index asked, or null when the core refused it ({@code r} is answered so). */
    private ReadBatch openBatch(Channel c, ClientRequest r) {
        openBatch = null;
        long context = nextReadContext;
        long askedAtMs = 0;
        long term = 0;
        boolean fromLease = readLease != null && readLease.holds(core.term()) && core.leaseRead(context);
        if (!fromLease) {
            if (readLease != null) {
                askedAtMs = readLease.nowMs();
                term = core.term();
            }
            SubmitResult result = core.readIndex(context);
            if (!result.accepted()) {
                c.reply(refusal(r.requestId(), result));
                return null;
            }
        }
        nextReadContext++;
        ReadBatch batch = new ReadBatch(context, askedAtMs, term, core.readiesTaken(), fromLease);
        batch.timerId = timers.schedule(limits.requestTimeoutMs(), () -> {
            if (openBatch == batch) openBatch = null;
            if (pendingReads.remove(context) == batch) {
                pendingClientReads -= batch.reads.size();
                for (PendingRead read : batch.reads) read.channel().reply(timeout(read.request().requestId()));
            }
        });
        pendingReads.put(context, batch);
        openBatch = batch;
        return batch;
    }

    /**
     * A grant at the leader: the lease limit, counting this leader's grants in flight; an id picked when none is asked
     * for; the TTL raised to the minimum. The state machine refuses an id in use when it applies the grant.
     */
    private void grant(Channel c, ClientRequest.LeaseGrant g) {
        if (core.role() != Role.LEADER) {
            c.reply(notLeader(g.requestId(), core.status().leader()));
            return;
        }
        long leases = kv.leases().size() + (long) pendingGrants.size();
        if (leases >= limits.leasesMax()) {
            c.reply(new ClientResponse.Error(g.requestId(), ErrorCode.LEASE_LIMIT, "the cluster holds " + kv.leases().size() + " leases and "
                    + pendingGrants.size() + " are being granted: the limit is " + limits.leasesMax() + " (leasesMax); revoke some first"));
            return;
        }
        long id = g.leaseId();
        if (id != 0 && (kv.leases().get(id) != null || pendingGrants.contains(id))) {
            c.reply(new ClientResponse.Error(g.requestId(), ErrorCode.LEASE_EXISTS, "lease already exists: " + Long.toHexString(id)));
            return;
        }
        while (id == 0 || kv.leases().get(id) != null || pendingGrants.contains(id)) id = leaseIds.nextLong() & Long.MAX_VALUE;
        propose(c, g.requestId(), new KvCommand.LeaseGrant(id, Math.max(g.ttlSeconds(), limits.leaseTtlSecondsMin())), id, null);
    }

    /**
     * At the leader, a transaction whose puts would attach more keys to a lease than {@code keysPerLeaseMax}: refused
     * before it is proposed (each branch on its own; puts of keys the lease holds already count nothing). Puts in
     * flight are not counted, so concurrent puts may pass the limit by the writes in flight. A lease that does not
     * exist is left to the state machine, which refuses the transaction when it applies it.
     */
    private RequestChecks.Problem keysPerLeaseProblem(TxnRequest t) {
        for (List<TxnOp> branch : List.of(t.success(), t.failure())) {
            Map<Long, Integer> added = null;
            for (TxnOp op : branch) {
                if (!(op instanceof TxnOp.Put p) || p.lease() == 0) continue;
                Leases.Lease lease = kv.leases().get(p.lease());
                if (lease == null || lease.holds(p.key())) continue;
                if (added == null) added = new HashMap<>();
                int n = added.merge(p.lease(), 1, Integer::sum);
                if (lease.keyCount() + (long) n > limits.keysPerLeaseMax()) {
                    return new RequestChecks.Problem(ErrorCode.LEASE_LIMIT, "lease " + Long.toHexString(p.lease()) + " holds " + lease.keyCount()
                            + " keys: the limit is " + limits.keysPerLeaseMax() + " (keysPerLeaseMax); nothing was applied");
                }
            }
        }
        return null;
    }

    void propose(Channel c, long requestId, KvCommand command) {
        propose(c, requestId, command, 0, null);
    }

    // ------------------------------------------------------------------ transactions

    /**
     * A transaction that will take a branch that only reads is served as a linearizable read, with no log entry: one whose
     * branches both only read (as etcd serves them), or whose compares fail for good ({@link KvStateMachine#failsForGood})
     * and whose failure branch only reads, the failed compare-and-swap. At the leader, one that compares a key's revision
     * while a transaction in flight writes that key waits for it to be applied ({@link #hold}), so that under contention
     * the losers of a round become reads instead of log entries. Else it is proposed.
     */
    private void txn(Channel c, ClientRequest.Txn t) {
        TxnRequest q = t.request();
        if (KvStateMachine.readsOnly(q.failure()) && (KvStateMachine.readsOnly(q.success()) || kv.failsForGood(q))) {
            readIndex(c, t);
            return;
        }
        if (core.role() != Role.LEADER) {
            c.reply(notLeader(t.requestId(), core.status().leader()));
            return;
        }
        RequestChecks.Problem full = keysPerLeaseProblem(q);
        if (full != null) {
            c.reply(new ClientResponse.Error(t.requestId(), full.code(), full.message()));
            return;
        }
        KeyTurn busy = busyKey(q);
        if (busy != null) {
            hold(c, t, busy);
            return;
        }
        propose(c, t.requestId(), new KvCommand.Txn(q), 0, writtenKeys(q));
    }

    /** The turn of a key a compare of {@code q} checks for revision equality, while a transaction in flight writes it; or null. */
    private KeyTurn busyKey(TxnRequest q) {
        if (keyTurns.isEmpty()) return null;
        for (Compare c : q.compares()) {
            if (!KvStateMachine.revisionEquality(c)) continue;
            KeyTurn turn = keyTurns.get(ByteBuffer.wrap(c.key()));
            if (turn != null && turn.writing > 0) return turn;
        }
        return null;
    }

    /** The single keys a transaction may write, in either branch: what transactions held behind it wait on once it is proposed. */
    private static List<ByteBuffer> writtenKeys(TxnRequest q) {
        List<ByteBuffer> keys = new ArrayList<>();
        for (List<TxnOp> branch : List.of(q.success(), q.failure())) {
            for (TxnOp op : branch) {
                if (op instanceof TxnOp.Put p) keys.add(ByteBuffer.wrap(p.key()));
                else if (op instanceof TxnOp.DeleteRange d && d.rangeEnd().length == 0) keys.add(ByteBuffer.wrap(d.key()));
            }
        }
        return keys;
    }

    /** Waits behind the writes of {@code turn}'s key in flight; counted as pending, and not applied if its deadline comes first. */
    private void hold(Channel c, ClientRequest.Txn t, KeyTurn turn) {
        HeldTxn[] held = new HeldTxn[1];
        long timer = timers.schedule(limits.requestTimeoutMs(), () -> {
            if (turn.held.remove(held[0])) {
                heldTxns--;
                dropIfIdle(turn);
                c.reply(new ClientResponse.Error(t.requestId(), ErrorCode.UNAVAILABLE,
                        "the transaction waited for another on the same key until its deadline: it was not applied, retry"));
            }
        });
        // The last write on the key has not left yet (no Ready since it was proposed): its APPENDs go out after this
        // arrival, so a majority acknowledging it, which its commit needs, acknowledges this leader after the arrival.
        boolean unsent = turn.lastWriteReadies == core.readiesTaken() && turn.lastWriteTerm == core.term();
        held[0] = new HeldTxn(c, t, timer, unsent ? turn.lastWriteIndex : 0, core.term());
        turn.held.add(held[0]);
        heldTxns++;
        heldTotal++;
    }

    /** A transaction in flight on each of {@code keys} left the table (applied, or gone): those held behind a key now idle go on at the turn's end. */
    private void writesDone(List<ByteBuffer> keys) {
        for (ByteBuffer key : keys) {
            KeyTurn turn = keyTurns.get(key);
            if (turn == null) continue;
            if (--turn.writing == 0) {
                if (turn.held.isEmpty()) keyTurns.remove(key, turn);
                else turnsToRelease.add(turn);
            }
        }
    }

    private void dropIfIdle(KeyTurn turn) {
        if (turn.writing == 0 && turn.held.isEmpty()) keyTurns.remove(turn.key, turn);
    }

    /**
     * The end of a loop turn, once the replica's Ready is handled (a transaction may not be proposed from inside it): the
     * transactions held behind keys no write is in flight on go on, in the order they came, until one of them is proposed
     * and writes the key again; at a node that no longer leads, all of them (they are answered NOT_LEADER, or served as
     * reads). True when it proposed or asked something, and the Ready should be handled again.
     */
    public boolean afterTurn() {
        if (turnsToRelease.isEmpty() && (heldTxns == 0 || core.role() == Role.LEADER)) return false;
        boolean leads = core.role() == Role.LEADER;
        if (!leads) turnsToRelease.addAll(keyTurns.values());
        boolean acted = false;
        while (!turnsToRelease.isEmpty()) {
            KeyTurn turn = turnsToRelease.poll();
            while ((turn.writing == 0 || !leads) && !turn.held.isEmpty()) {
                HeldTxn h = turn.held.poll();
                heldTxns--;
                timers.cancel(h.timerId());
                if (!answeredAtOnce(h)) {
                    txn(h.channel(), h.request());
                    acted = true;
                }
            }
            dropIfIdle(turn);
        }
        return acted;
    }

    /**
     * Answers a released transaction from the store as it is, without a read index round of its own, when that is a
     * linearizable read: it arrived before a write of this leader's term left, that write is applied (so committed: a
     * majority acknowledged this leader after the arrival, as a heartbeat round would, thesis §6.4), this node still
     * leads in that term, and its compares now fail for good with a failure branch that only reads. The losers of a
     * compare-and-swap round are then answered with the winner, instead of a round later. False when it did not answer.
     */
    private boolean answeredAtOnce(HeldTxn h) {
        if (h.confirmedBy() == 0 || core.role() != Role.LEADER || core.term() != h.term() || kv.appliedIndex() < h.confirmedBy()) return false;
        TxnRequest q = h.request().request();
        if (!KvStateMachine.readsOnly(q.failure()) || !kv.failsForGood(q)) return false;
        ClientResponse answer = read(h.channel(), h.request());
        if (answer != null) h.channel().reply(answer);
        heldAnsweredAtOnce++;
        return true;
    }

    /** Held transactions answered with the write they waited behind ({@link #answeredAtOnce}), since start. */
    public long heldAnsweredAtOnce() {
        return heldAnsweredAtOnce;
    }

    /** Transactions held behind another on the same key since start: how often contention was queued instead of logged. */
    public long heldTotal() {
        return heldTotal;
    }

    /** NOT_LEADER for {@code requestId} when this node does not lead, else null. */
    ClientResponse notLeaderNow(long requestId) {
        return core.role() == Role.LEADER ? null : notLeader(requestId, core.status().leader());
    }

    private void propose(Channel c, long requestId, KvCommand command, long grantId, List<ByteBuffer> txnWrites) {
        AccessControl.Identity who = c.identity();
        byte[] data = (who == null ? command : new KvCommand.AsUser(who.user(), command)).encode();
        if (data.length > limits.commandBytesMax()) {
            c.reply(new ClientResponse.Error(requestId, ErrorCode.TOO_LARGE, "a request of " + data.length + " bytes in the log is over the limit of "
                    + limits.commandBytesMax() + " (what one APPEND frame carries)"));
            return;
        }
        SubmitResult result = core.propose(data);
        if (!result.accepted()) {
            c.reply(refusal(requestId, result));
            return;
        }
        long index = result.index();
        if (txnWrites != null) {
            for (ByteBuffer key : txnWrites) {
                KeyTurn turn = keyTurns.computeIfAbsent(key, KeyTurn::new);
                turn.writing++;
                turn.lastWriteIndex = index;
                turn.lastWriteTerm = result.term();
                turn.lastWriteReadies = core.readiesTaken();
            }
        }
        long timer = timers.schedule(limits.requestTimeoutMs(), () -> {
            PendingWrite w = pendingWrites.get(index);
            if (w != null && w.requestId() == requestId && w.channel() == c) {
                removeWrite(index);
                c.reply(timeout(requestId));
            }
        });
        PendingWrite replaced = pendingWrites.put(index, new PendingWrite(c, requestId, result.term(), timer, grantId, txnWrites));
        if (grantId != 0) pendingGrants.add(grantId);
        if (replaced != null) {
            // This node lost its leadership, its log was cut back, and it leads again: the earlier write at this
            // index may or may not be committed elsewhere, so its outcome is unknown.
            if (replaced.grantId() != 0 && replaced.grantId() != grantId) pendingGrants.remove(replaced.grantId());
            if (replaced.txnWrites() != null) writesDone(replaced.txnWrites());
            timers.cancel(replaced.timerId());
            replaced.channel().reply(timeout(replaced.requestId()));
        }
    }

    /** Takes the write at {@code index} out of the table, and its grant out of those in flight. */
    private PendingWrite removeWrite(long index) {
        PendingWrite w = pendingWrites.remove(index);
        if (w != null && w.grantId() != 0) pendingGrants.remove(w.grantId());
        if (w != null && w.txnWrites() != null) writesDone(w.txnWrites());
        return w;
    }

    // ------------------------------------------------------------------ what the replica reports

    @Override
    public void applied(Entry e, ApplyResult result) {
        PendingWrite w = removeWrite(e.index());
        if (w == null) return;
        timers.cancel(w.timerId());
        if (w.term() == e.term()) {
            w.channel().reply(answer(w.requestId(), result));
        } else {
            w.channel().reply(new ClientResponse.Error(w.requestId(), ErrorCode.UNAVAILABLE,
                    "a leader change replaced the write before it committed: it was not applied, retry"));
        }
    }

    @Override
    public void readable(ReadState read) {
        ReadWaiter waiter = pendingReads.remove(read.context());
        if (waiter == null) return; // timed out already
        if (waiter instanceof ReadBatch batch) {
            if (openBatch == batch) openBatch = null;
            pendingClientReads -= batch.reads.size();
            timers.cancel(batch.timerId);
            leaseConfirmed(batch.askedAtMs, batch.term);
            for (PendingRead r : batch.reads) {
                ClientResponse answer = read(r.channel(), r.request());
                if (answer != null) r.channel().reply(answer); // null: an AUTHENTICATE answers later
            }
        } else if (waiter instanceof LeaseRenewal renewal) {
            leaseConfirmed(renewal.askedAtMs(), renewal.term());
            for (long c : renewalContexts) pendingReads.remove(c);
            renewalContexts.clear();
        } else {
            caughtUpSinceStart = true;
            for (long barrier : barrierContexts) pendingReads.remove(barrier);
            barrierContexts.clear();
        }
    }

    /** A read index this node asked as the leader of {@code term} came back: a majority acknowledged it since. */
    private void leaseConfirmed(long askedAtMs, long term) {
        // Only the leader's own rounds count: a follower's read index is its leader's, and says nothing of this node.
        if (readLease != null && term != 0 && core.role() == Role.LEADER && core.term() == term) readLease.confirmed(askedAtMs, term);
    }

    // ------------------------------------------------------------------ answers

    private ResponseHeader header(long revision) {
        return new ResponseHeader(revision, selfId, core.term());
    }

    /** A header at the store's revision now. */
    ResponseHeader header() {
        return header(kv.revision());
    }

    private ClientResponse answer(long requestId, ApplyResult result) {
        ResponseHeader h = header(result.revision());
        if (result instanceof ApplyResult.TxnDone t) return new ClientResponse.TxnResult(requestId, h, t.succeeded(), t.results());
        if (result instanceof ApplyResult.Refused r) return new ClientResponse.Error(requestId, r.code(), r.message());
        if (result instanceof ApplyResult.LeaseGranted g) return new ClientResponse.LeaseResult(requestId, h, g.leaseId(), g.ttlSeconds(), g.ttlSeconds(), List.of());
        return new ClientResponse.Ok(requestId, h);
    }

    /**
     * Serves a lease read once its read index is applied: from the lessor, which must still be the primary one (the
     * leader may have stepped down since the read was asked).
     */
    private ClientResponse leaseRead(ClientRequest r) {
        ResponseHeader h = header(kv.revision());
        if (!lessor.primary()) return notLeader(r.requestId(), core.status().leader());
        if (r instanceof ClientRequest.LeaseLeases) return new ClientResponse.Leases(r.requestId(), h, kv.leases().ids());
        if (r instanceof ClientRequest.LeaseKeepAlive k) {
            Lessor.Renewal renewal = lessor.renew(k.leaseId());
            if (renewal instanceof Lessor.Renewal.Renewed renewed) {
                return new ClientResponse.LeaseResult(r.requestId(), h, k.leaseId(), renewed.ttlSeconds(), renewed.ttlSeconds(), List.of());
            }
            if (renewal instanceof Lessor.Renewal.Expired) {
                return new ClientResponse.Error(r.requestId(), ErrorCode.LEASE_NOT_FOUND, "requested lease not found: lease "
                        + Long.toHexString(k.leaseId()) + " expired, and its revocation is under way");
            }
            if (renewal instanceof Lessor.Renewal.NotPrimary) return notLeader(r.requestId(), core.status().leader());
            return leaseNotFound(r.requestId(), k.leaseId());
        }
        ClientRequest.LeaseTimeToLive t = (ClientRequest.LeaseTimeToLive) r;
        Leases.Lease lease = kv.leases().get(t.leaseId());
        long remainingMs = lessor.remainingMs(t.leaseId());
        if (lease == null || remainingMs < 0) return leaseNotFound(r.requestId(), t.leaseId());
        List<byte[]> keys = List.of();
        if (t.keys()) {
            keys = lease.keys();
            long bytes = 0;
            for (byte[] k : keys) bytes += 4 + k.length;
            if (bytes > limits.resultBytesMax()) {
                return new ClientResponse.Error(r.requestId(), ErrorCode.TOO_LARGE, "the " + keys.size() + " keys of lease " + Long.toHexString(t.leaseId())
                        + " take " + bytes + " bytes, over the answer's limit of " + limits.resultBytesMax() + ": ask without keys");
            }
        }
        // Whole seconds left, cut as etcd cuts them; just after a leader change a lease may have more than its TTL left.
        return new ClientResponse.LeaseResult(r.requestId(), h, t.leaseId(), remainingMs / 1000, lease.ttlSeconds(), keys);
    }

    private static ClientResponse leaseNotFound(long requestId, long leaseId) {
        return new ClientResponse.Error(requestId, ErrorCode.LEASE_NOT_FOUND, "requested lease not found: " + Long.toHexString(leaseId));
    }

    /**
     * Serves a GET or a RANGE from the store as it is now, a lease read from the lessor, an auth read from the auth store
     * (null for an AUTHENTICATE, answered once its password is checked); the read's permission is checked here, against
     * the auth store as applied now (docs/auth.md).
     */
    private ClientResponse read(Channel c, ClientRequest r) {
        ClientResponse denied = access.servingRefusal(c.identity(), r);
        if (denied != null) return denied;
        if (r instanceof ClientRequest.Auth a) return auth.answer(c, a, header(), limits.resultBytesMax());
        if (r instanceof ClientRequest.LeaseKeepAlive || r instanceof ClientRequest.LeaseTimeToLive || r instanceof ClientRequest.LeaseLeases) {
            return leaseRead(r);
        }
        ResponseHeader h = header(kv.revision());
        if (r instanceof ClientRequest.Get g) {
            KeyValue found = kv.store().get(g.key());
            return found == null ? new ClientResponse.NotFound(r.requestId(), h) : new ClientResponse.Value(r.requestId(), h, found);
        }
        if (r instanceof ClientRequest.Txn t) {
            // Decided to take a branch that only reads; a compare that failed for good stays failed, so the branch is the same.
            ApplyResult result = kv.readOnlyTxn(t.request());
            return result != null ? answer(r.requestId(), result) : new ClientResponse.Error(r.requestId(), ErrorCode.UNAVAILABLE,
                    "the transaction's branch writes after all: it was not applied, retry");
        }
        RangeRequest range = ((ClientRequest.Range) r).request();
        try {
            OpResult.Range result = kv.store().range(range, limits.resultBytesMax());
            return new ClientResponse.RangeResult(r.requestId(), h, result.kvs(), result.more(), result.count());
        } catch (KvException e) {
            return new ClientResponse.Error(r.requestId(), e.code(), e.getMessage());
        }
    }

    private ClientResponse refusal(long requestId, SubmitResult result) {
        if (result.status() == SubmitResult.Status.OVERLOADED) {
            return new ClientResponse.Error(requestId, ErrorCode.OVERLOADED, "too much uncommitted data or too many pending reads; retry later");
        }
        return notLeader(requestId, result.leaderId());
    }

    /** NOT_LEADER naming {@code leaderId} with its address, or no one when it is unknown. */
    private ClientResponse notLeader(long requestId, int leaderId) {
        ClusterConfig.Member leader = leaderId == selfId ? null : members.apply(leaderId);
        return leader == null
                ? new ClientResponse.NotLeader(requestId, 0, "", 0)
                : new ClientResponse.NotLeader(requestId, leader.id(), leader.host(), leader.port());
    }

    private static ClientResponse timeout(long requestId) {
        return new ClientResponse.Error(requestId, ErrorCode.TIMEOUT, "no answer within the deadline: the request may or may not have taken effect");
    }
}
