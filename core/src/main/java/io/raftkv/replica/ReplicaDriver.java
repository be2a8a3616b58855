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
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Turns a {@link RaftCore}'s {@link Ready} into disk writes, messages and answers, in the contract's order:
 * send, hand the writes to the disk, apply, serve reads, advance; and once the disk reports them durable, tell the
 * core and send what waited for them. The one implementation of that contract:
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

    /**
     * The durable log and hard state, written in the background or in place: the driver goes on while the disk works
     * (etcd's asynchronous storage writes), and counts nothing as durable before the log says it is.
     */
    public interface DurableLog {
        /**
         * Hands over {@code hardState} (when not null) and {@code entries} to persist after everything handed over
         * before, durably (fsync) when {@code sync}; an entry replaces every persisted entry at the same or a later
         * index. Does not wait for the disk (a log with a bounded queue may wait for room in it). Once they are durable,
         * with everything before them, runs {@code durable} on the driver's thread: before returning (a log that writes
         * in place) or later, in the order handed over. By then the {@link io.raftkv.raft.Storage} the core reads shows
         * them. An exception, here or from {@link #awaitDurable()}, means nothing may be assumed durable: the caller
         * stops the replica.
         */
        void persist(HardState hardState, List<Entry> entries, boolean sync, Runnable durable) throws IOException;

        /** Returns once everything handed over is durable, its {@code durable} callbacks run. */
        void awaitDurable() throws IOException;
    }

    /** The replicated state machine; {@code R} is what applying an entry gives back for the client that proposed it. */
    public interface StateMachine<R> {
        /** Applies the committed entry at {@link #appliedIndex()} + 1 (a no-op entry too: it only moves the index). */
        R apply(Entry e);

        long appliedIndex();

        /**
         * Told the entries about to be applied, all at once, before the first is: a state machine may start loading what
         * they will touch, so that its cache misses overlap instead of coming one entry at a time.
         */
        default void prefetch(List<Entry> committed) {
        }
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

    /** A write handed to the durable log: its last entry (null when only the hard state) and what waits for it. */
    private record Write(Entry last, List<Message> after) { }

    /** Writes handed to the durable log, oldest first, not yet released; the first {@link #durableReported} are durable. */
    private final ArrayDeque<Write> writing = new ArrayDeque<>();
    private int durableReported;
    /** The durable log's report: one more write, the oldest not reported, is durable. Runs on the driver's thread. */
    private final Runnable durable = () -> durableReported++;

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

    /**
     * Handles every Ready the core has, in the contract's order, and what the durable log reported durable since the
     * last call. Call it again whenever the log reports. An I/O error leaves the replica unusable.
     */
    public void process() throws IOException {
        while (true) {
            releaseDurable();
            if (!core.hasReady()) return;
            Ready rd = core.ready();
            send(rd.messages());
            if (bug == InjectedDriverBug.ACKNOWLEDGE_BEFORE_SYNC) send(rd.messagesAfterPersist());
            if (rd.mustSync()) transport.flush();
            if (rd.snapshot() != null) {
                // The log restarts after the snapshot: what was handed over before must not land after it.
                log.awaitDurable();
                snapshots.install(rd.snapshot(), rd.snapshotMembership());
                if (stateMachine.appliedIndex() != rd.snapshot().index()) {
                    throw new IllegalStateException("snapshot " + rd.snapshot() + " installed, but the state machine is at " + stateMachine.appliedIndex());
                }
            }
            handOver(rd);
            stateMachine.prefetch(rd.committedEntries());
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

    /** Gives the Ready's writes to the log; its acknowledgements wait for them, and for every write handed over before. */
    private void handOver(Ready rd) throws IOException {
        List<Message> after = bug == InjectedDriverBug.ACKNOWLEDGE_BEFORE_SYNC ? List.of() : rd.messagesAfterPersist();
        if (rd.hardState() == null && rd.entries().isEmpty()) {
            if (after.isEmpty()) return;
            if (writing.isEmpty()) {
                send(after);
            } else {
                writing.peekLast().after.addAll(after);
            }
            return;
        }
        Entry last = rd.entries().isEmpty() ? null : rd.entries().get(rd.entries().size() - 1);
        writing.add(new Write(last, new ArrayList<>(after)));
        log.persist(rd.hardState(), rd.entries(), rd.mustSync(), durable);
    }

    /** Tells the core which entries are durable, and sends what waited for them, in the order handed over. */
    private void releaseDurable() {
        for (; durableReported > 0; durableReported--) {
            Write w = writing.poll();
            if (w == null) throw new IllegalStateException("the durable log reported more writes durable than it was handed");
            if (w.last != null) core.persisted(w.last.index(), w.last.term());
            send(w.after);
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
