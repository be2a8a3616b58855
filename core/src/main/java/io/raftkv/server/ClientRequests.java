package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvException;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.raft.Entry;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.SubmitResult;
import io.raftkv.replica.ReplicaDriver;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
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
 */
public final class ClientRequests implements ReplicaDriver.Listener<ApplyResult> {

    /** Where a request came from and its answer goes: a client connection, or a simulated client. */
    public interface Channel {
        /** Sends the answer; one to a channel that went away is dropped. */
        void reply(ClientResponse response);
    }

    /**
     * The limits of the table, with units last. Each pending request holds one timer, so a node's timer budget
     * counts {@code pendingRequestsMax} of them. {@code barrierRetryMs}: how often the start-up barrier asks again.
     * {@code txnOpsMax}: compares, and operations of each branch, of one transaction (etcd's --max-txn-ops).
     * {@code commandBytesMax}: the largest log entry a request may become, so that any entry fits one APPEND.
     * {@code resultBytesMax}: key-values one answer may carry (a range over it is refused, or cut inside a transaction).
     */
    public record Limits(int pendingRequestsMax, long requestTimeoutMs, int keyBytesMax, int valueBytesMax, long barrierRetryMs,
                         int txnOpsMax, long commandBytesMax, long resultBytesMax) {
        public Limits {
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
    private sealed interface ReadWaiter permits StartupBarrier, PendingRead { }

    private record StartupBarrier() implements ReadWaiter { }

    /** A GET or a RANGE waiting for its read index. */
    private record PendingRead(Channel channel, ClientRequest request, long timerId) implements ReadWaiter { }

    private record PendingWrite(Channel channel, long requestId, long term, long timerId) { }

    private static final StartupBarrier BARRIER = new StartupBarrier();
    private static final int BARRIER_ROUNDS_KEPT_MAX = 16;

    private final int selfId;
    /** Addresses of the members, to name the leader in a NOT_LEADER answer. */
    private final IntFunction<ClusterConfig.Member> members;
    private final RaftCore core;
    private final KvStateMachine kv;
    private final Timers timers;
    private final Limits limits;
    private final boolean unsafeLocalReads;
    private final Map<Long, PendingWrite> pendingWrites = new HashMap<>();
    private final Map<Long, ReadWaiter> pendingReads = new HashMap<>();
    private final ArrayDeque<Long> barrierContexts = new ArrayDeque<>();
    private long nextReadContext;
    /** Pending entries of {@link #pendingReads} that are client reads (barrier rounds are not counted). */
    private int pendingClientReads;
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
    public ClientRequests(int selfId, IntFunction<ClusterConfig.Member> members, RaftCore core, KvStateMachine kv, Timers timers, Limits limits,
                          long firstReadContext) {
        this(selfId, members, core, kv, timers, limits, firstReadContext, InjectedRequestBug.NONE);
    }

    /** Tests only: a table with a deliberate bug, to show that the checks find it. */
    public ClientRequests(int selfId, IntFunction<ClusterConfig.Member> members, RaftCore core, KvStateMachine kv, Timers timers, Limits limits,
                          long firstReadContext, InjectedRequestBug bug) {
        this.selfId = selfId;
        this.members = members;
        this.core = core;
        this.kv = kv;
        this.timers = timers;
        this.limits = limits;
        this.nextReadContext = firstReadContext;
        this.unsafeLocalReads = bug == InjectedRequestBug.LINEARIZABLE_READS_FROM_LOCAL_MAP;
        this.caughtUpSinceStart = bug == InjectedRequestBug.NO_STARTUP_BARRIER;
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

    public int pending() {
        return pendingWrites.size() + pendingClientReads;
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
            propose(c, r.requestId(), new KvCommand.Txn(t.request()));
        } else if (r instanceof ClientRequest.Compact compact) {
            propose(c, r.requestId(), new KvCommand.Compact(compact.revision()));
        } else if (serializable(r) || unsafeLocalReads) {
            c.reply(caughtUpSinceStart ? read(r) : new ClientResponse.Error(r.requestId(), ErrorCode.UNAVAILABLE,
                    "the node is catching up with the leader after a start; retry, or read from another node"));
        } else {
            readIndex(c, r);
        }
    }

    private static boolean serializable(ClientRequest r) {
        return r instanceof ClientRequest.Get g ? g.serializable() : ((ClientRequest.Range) r).request().serializable();
    }

    private void readIndex(Channel c, ClientRequest r) {
        long context = nextReadContext;
        SubmitResult result = core.readIndex(context);
        if (!result.accepted()) {
            c.reply(refusal(r.requestId(), result));
            return;
        }
        nextReadContext++;
        long timer = timers.schedule(limits.requestTimeoutMs(), () -> {
            if (pendingReads.remove(context) instanceof PendingRead read) {
                pendingClientReads--;
                read.channel().reply(timeout(read.request().requestId()));
            }
        });
        pendingReads.put(context, new PendingRead(c, r, timer));
        pendingClientReads++;
    }

    private void propose(Channel c, long requestId, KvCommand command) {
        byte[] data = command.encode();
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
        long timer = timers.schedule(limits.requestTimeoutMs(), () -> {
            PendingWrite w = pendingWrites.get(index);
            if (w != null && w.requestId() == requestId && w.channel() == c) {
                pendingWrites.remove(index);
                c.reply(timeout(requestId));
            }
        });
        PendingWrite replaced = pendingWrites.put(index, new PendingWrite(c, requestId, result.term(), timer));
        if (replaced != null) {
            // This node lost its leadership, its log was cut back, and it leads again: the earlier write at this
            // index may or may not be committed elsewhere, so its outcome is unknown.
            timers.cancel(replaced.timerId());
            replaced.channel().reply(timeout(replaced.requestId()));
        }
    }

    // ------------------------------------------------------------------ what the replica reports

    @Override
    public void applied(Entry e, ApplyResult result) {
        PendingWrite w = pendingWrites.remove(e.index());
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
        if (waiter instanceof PendingRead r) {
            pendingClientReads--;
            timers.cancel(r.timerId());
            r.channel().reply(read(r.request()));
        } else {
            caughtUpSinceStart = true;
            for (long barrier : barrierContexts) pendingReads.remove(barrier);
            barrierContexts.clear();
        }
    }

    // ------------------------------------------------------------------ answers

    private ResponseHeader header(long revision) {
        return new ResponseHeader(revision, selfId, core.term());
    }

    private ClientResponse answer(long requestId, ApplyResult result) {
        ResponseHeader h = header(result.revision());
        if (result instanceof ApplyResult.TxnDone t) return new ClientResponse.TxnResult(requestId, h, t.succeeded(), t.results());
        if (result instanceof ApplyResult.Refused r) return new ClientResponse.Error(requestId, r.code(), r.message());
        return new ClientResponse.Ok(requestId, h);
    }

    /** Serves a GET or a RANGE from the store as it is now. */
    private ClientResponse read(ClientRequest r) {
        ResponseHeader h = header(kv.revision());
        if (r instanceof ClientRequest.Get g) {
            KeyValue found = kv.store().get(g.key());
            return found == null ? new ClientResponse.NotFound(r.requestId(), h) : new ClientResponse.Value(r.requestId(), h, found);
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
        ClusterConfig.Member leader = members.apply(result.leaderId());
        return leader == null
                ? new ClientResponse.NotLeader(requestId, 0, "", 0)
                : new ClientResponse.NotLeader(requestId, leader.id(), leader.host(), leader.port());
    }

    private static ClientResponse timeout(long requestId) {
        return new ClientResponse.Error(requestId, ErrorCode.TIMEOUT, "no answer within the deadline: the request may or may not have taken effect");
    }
}
