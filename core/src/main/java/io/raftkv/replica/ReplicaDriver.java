package io.raftkv.replica;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Membership;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Ready;
import io.raftkv.raft.SnapshotId;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;

/**
 * Turns a {@link RaftCore}'s {@link Ready} into disk writes, messages and answers, in the contract's order:
 * send, persist, send after persist, apply, serve reads, advance. The one implementation of that contract:
 * the node runs it on its loop thread with a WAL and sockets, the simulator with a simulated disk and network,
 * the scripted test cluster and the benchmarks with memory. Owns nothing but the reads waiting for apply;
 * not thread-safe: the thread that drives the core calls {@link #process()}.
 */
public final class ReplicaDriver<R> {

    /** Where messages to peers go. Must not block; may drop (Raft retransmits). */
    public interface Transport {
        void send(Message m);

        /**
         * Starts writing what {@link #send} queued, before the driver's sync: the leader's appends travel while
         * its own disk works (thesis §10.2.1). A transport that sends at once does nothing.
         */
        void flush();
    }

    /** The durable log and hard state. */
    public interface DurableLog {
        /**
         * Persists {@code hardState} (when not null) and {@code entries}; an entry replaces every persisted
         * entry at the same or a later index. When {@code sync} is true it returns only once both are durable.
         * Afterwards the {@link io.raftkv.raft.Storage} the core reads shows them. An exception means nothing
         * may be assumed durable: the caller stops the replica.
         */
        void persist(HardState hardState, List<Entry> entries, boolean sync) throws IOException;
    }

    /** The replicated state machine; {@code R} is what applying an entry gives back for the client that proposed it. */
    public interface StateMachine<R> {
        /** Applies the committed entry at {@link #appliedIndex()} + 1 (a no-op entry too: it only moves the index). */
        R apply(Entry e);

        long appliedIndex();
    }

    /** Installs the snapshots a leader sends, which the transport received and made durable before delivering them. */
    public interface SnapshotInstaller {
        /**
         * Replaces the durable log with an empty one that continues after {@code id} (durable with the Ready's sync
         * at the latest), and the state machine's state with the snapshot's: on return its
         * {@link StateMachine#appliedIndex()} is {@code id.index()}; {@code membership} is the configuration at it, which
         * the storage must report from now on. An exception stops the replica.
         */
        void install(SnapshotId id, Membership membership) throws IOException;
    }

    /** Who waits on the replica: the client request table. */
    public interface Listener<R> {
        /** {@code e} was just applied, with this result. */
        void applied(Entry e, R result);

        /** The linearizable read {@code read} may now be served: the state machine has applied up to its index. */
        void readable(ReadState read);
    }

    private final RaftCore core;
    private final Transport transport;
    private final DurableLog log;
    private final StateMachine<R> stateMachine;
    private final Listener<R> listener;
    private final SnapshotInstaller snapshots;
    private final InjectedDriverBug bug;
    /**
     * Read states kept waiting for apply at most. A follower whose apply lags may collect answers to reads whose
     * clients gave up already; past this bound the oldest is dropped (its client's deadline answers it, if it
     * still waits).
     */
    static final int READS_WAITING_MAX = 1 << 16;
    /** Read states released by the core, waiting for the applied index to reach them. */
    private final ArrayDeque<ReadState> readsWaitingForApply = new ArrayDeque<>();

    /** A replica whose log is never compacted, so that it is never sent a snapshot: scripted tests and benchmarks. */
    public ReplicaDriver(RaftCore core, Transport transport, DurableLog log, StateMachine<R> stateMachine, Listener<R> listener) {
        this(core, transport, log, stateMachine, listener, (id, membership) -> {
            throw new IllegalStateException("snapshot " + id + " sent to a replica that takes none");
        }, InjectedDriverBug.NONE);
    }

    public ReplicaDriver(RaftCore core, Transport transport, DurableLog log, StateMachine<R> stateMachine, Listener<R> listener,
                         SnapshotInstaller snapshots) {
        this(core, transport, log, stateMachine, listener, snapshots, InjectedDriverBug.NONE);
    }

    /** Tests only: a driver with a deliberate bug, to show that the simulator finds it. */
    public ReplicaDriver(RaftCore core, Transport transport, DurableLog log, StateMachine<R> stateMachine, Listener<R> listener,
                         SnapshotInstaller snapshots, InjectedDriverBug bug) {
        this.core = core;
        this.transport = transport;
        this.log = log;
        this.stateMachine = stateMachine;
        this.listener = listener;
        this.snapshots = snapshots;
        this.bug = bug;
    }

    public RaftCore core() {
        return core;
    }

    /** Handles every Ready the core has, in the contract's order. An I/O error leaves the replica unusable. */
    public void process() throws IOException {
        while (core.hasReady()) {
            Ready rd = core.ready();
            send(rd.messages());
            if (bug == InjectedDriverBug.ACKNOWLEDGE_BEFORE_SYNC) send(rd.messagesAfterPersist());
            if (rd.mustSync()) transport.flush();
            if (rd.snapshot() != null) {
                snapshots.install(rd.snapshot(), rd.snapshotMembership());
                if (stateMachine.appliedIndex() != rd.snapshot().index()) {
                    throw new IllegalStateException("snapshot " + rd.snapshot() + " installed, but the state machine is at " + stateMachine.appliedIndex());
                }
            }
            log.persist(rd.hardState(), rd.entries(), rd.mustSync());
            if (bug != InjectedDriverBug.ACKNOWLEDGE_BEFORE_SYNC) send(rd.messagesAfterPersist());
            for (Entry e : rd.committedEntries()) {
                if (e.index() != stateMachine.appliedIndex() + 1) {
                    throw new IllegalStateException("committed entry " + e.index() + " handed out after applied " + stateMachine.appliedIndex());
                }
                listener.applied(e, stateMachine.apply(e));
            }
            for (ReadState rs : rd.readStates()) {
                if (readsWaitingForApply.size() == READS_WAITING_MAX) readsWaitingForApply.poll();
                readsWaitingForApply.add(rs);
            }
            serveReads();
            core.advance(rd);
        }
    }

    private void send(List<Message> messages) {
        for (int i = 0; i < messages.size(); i++) transport.send(messages.get(i));
    }

    private void serveReads() {
        long applied = stateMachine.appliedIndex();
        for (Iterator<ReadState> it = readsWaitingForApply.iterator(); it.hasNext(); ) {
            ReadState rs = it.next();
            if (rs.index() > applied) continue;
            it.remove();
            listener.readable(rs);
        }
    }
}
