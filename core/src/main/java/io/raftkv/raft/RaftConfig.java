package io.raftkv.raft;

import java.util.List;

/**
 * How one Raft node is set up: its id, the voters, the time constants in ticks and the limits. Fluent
 * setters; {@link RaftCore} validates the whole at construction.
 */
public final class RaftConfig {

    final int id;
    final Membership bootstrap;
    int electionTicks = 10;
    int heartbeatTicks = 1;
    int entriesPerMessageMax = 256;
    long bytesPerMessageMax = 1 << 20;
    int inflightMessagesMax = 64;
    long inflightBytesMax = 0;
    long uncommittedBytesMax = 64L << 20;
    int pendingReadsMax = 10_000;
    long applyBytesPerReadyMax = 16L << 20;
    /** A minute of heartbeats at one a tick of 100 ms: time to check and read a snapshot of several GiB. */
    static final int SNAPSHOT_INSTALL_HEARTBEATS_DEFAULT = 600;
    int snapshotInstallHeartbeatsMax = SNAPSHOT_INSTALL_HEARTBEATS_DEFAULT;
    /** A learner is promoted only once its log is within 10% of the leader's commit index and within this many entries of it. */
    long learnerPromoteLagEntriesMax = 1_000;
    boolean preVote = true;
    boolean checkQuorum = true;
    /**
     * Lease reads are served in this cluster (thesis §6.4.1): every node then refuses votes for an election timeout after
     * it starts, since it may have acknowledged a leader whose lease is still running before it crashed. Set alike on
     * every node.
     */
    boolean leaseReads = false;
    long randomSeed = 0;
    long appliedIndex = 0;
    InjectedBug injectedBug = InjectedBug.NONE;

    /** A node of a cluster whose configuration at index 0 is these voters, this node among them. */
    public RaftConfig(int id, List<Integer> voters) {
        this(id, Membership.ofVoters(voters));
        if (!bootstrap.isVoter(id)) throw new IllegalArgumentException("node " + id + " is not among the voters " + voters);
    }

    /**
     * A node whose log, while it holds no configuration entry and no snapshot, has {@code bootstrap} as its
     * configuration: the cluster's first members for a node that helped start it, {@link Membership#EMPTY} for one
     * that joined later (it takes no part until its leader's log or snapshot names it).
     */
    public RaftConfig(int id, Membership bootstrap) {
        if (id <= 0) throw new IllegalArgumentException("node ids start at 1, got " + id);
        this.id = id;
        this.bootstrap = bootstrap;
    }

    public RaftConfig leaseReads(boolean on) { leaseReads = on; return this; }

    /** Ticks a follower waits without hearing a leader before campaigning; the actual timeout is randomized in [n, 2n). */
    public RaftConfig electionTicks(int n) { electionTicks = n; return this; }

    /** Ticks between a leader's heartbeats; must be below {@link #electionTicks(int)}. */
    public RaftConfig heartbeatTicks(int n) { heartbeatTicks = n; return this; }

    public RaftConfig entriesPerMessageMax(int n) { entriesPerMessageMax = n; return this; }

    public RaftConfig bytesPerMessageMax(long n) { bytesPerMessageMax = n; return this; }

    /** APPEND messages in flight per follower while replicating. */
    public RaftConfig inflightMessagesMax(int n) { inflightMessagesMax = n; return this; }

    /** Entry bytes in flight per follower past which no APPEND is added (0: no bound; etcd's MaxInflightBytes). */
    public RaftConfig inflightBytesMax(long n) { inflightBytesMax = n; return this; }

    /** Bytes of proposed and not yet committed entries beyond which the leader refuses proposals. */
    public RaftConfig uncommittedBytesMax(long n) { uncommittedBytesMax = n; return this; }

    /** ReadIndex requests the leader holds at once, its own and its followers'. */
    public RaftConfig pendingReadsMax(int n) { pendingReadsMax = n; return this; }

    /** Bytes of committed entries handed out in one {@link Ready}. */
    public RaftConfig applyBytesPerReadyMax(long n) { applyBytesPerReadyMax = n; return this; }

    /**
     * Heartbeat answers a follower may take to install a snapshot the transport delivered before the leader sends it
     * again (a follower that restarted meanwhile, or refused the file, never acknowledges it).
     */
    public RaftConfig snapshotInstallHeartbeatsMax(int n) { snapshotInstallHeartbeatsMax = n; return this; }

    public RaftConfig learnerPromoteLagEntriesMax(long n) { learnerPromoteLagEntriesMax = n; return this; }

    public RaftConfig preVote(boolean on) { preVote = on; return this; }

    public RaftConfig checkQuorum(boolean on) { checkQuorum = on; return this; }

    /** Seeds the election timeout randomization, so a run can be replayed. */
    public RaftConfig randomSeed(long seed) { randomSeed = seed; return this; }

    /** The index the driver's state machine already reflects after a restart (0 if it rebuilds from the log). */
    public RaftConfig appliedIndex(long index) { appliedIndex = index; return this; }

    /** Tests only: switch on a deliberate safety bug. */
    public RaftConfig injectedBug(InjectedBug bug) { injectedBug = bug; return this; }

    void validate() {
        require(heartbeatTicks >= 1, "heartbeatTicks must be at least 1");
        require(electionTicks > heartbeatTicks, "electionTicks must be greater than heartbeatTicks");
        require(entriesPerMessageMax >= 1, "entriesPerMessageMax must be at least 1");
        require(bytesPerMessageMax >= 1, "bytesPerMessageMax must be at least 1");
        require(inflightMessagesMax >= 1, "inflightMessagesMax must be at least 1");
        require(inflightBytesMax >= 0, "inflightBytesMax must not be negative (0: no bound)");
        require(uncommittedBytesMax >= 1, "uncommittedBytesMax must be at least 1");
        require(pendingReadsMax >= 1, "pendingReadsMax must be at least 1");
        require(applyBytesPerReadyMax >= 1, "applyBytesPerReadyMax must be at least 1");
        require(snapshotInstallHeartbeatsMax >= 1, "snapshotInstallHeartbeatsMax must be at least 1");
        require(learnerPromoteLagEntriesMax >= 0, "learnerPromoteLagEntriesMax must not be negative");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
