package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Membership;
import io.raftkv.raft.RaftCore;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.ClientRequests;
import io.raftkv.server.Lessor;

import java.util.ArrayDeque;
import java.util.List;

/**
 * One simulated node: a {@link SimDisk} that survives crashes, and one {@link Life} that does not: the node's
 * real parts (Raft core, replica driver, key/value state machine, client request table) and its timers. A slot of
 * the simulation's pool of ids: {@link #started} once it ran (the first members, or a node the membership operator
 * added), {@link #retired} once it stopped for good (the cluster removed it), never started again.
 */
final class SimNode {

    /**
     * What a node holds between a start and a crash: the same parts a real node wires to its event loop. {@code watches}:
     * the node's real watch hub and the simulated client connections it serves, null in a run without watches.
     */
    record Life(RaftCore core, KvStateMachine kv, ClientRequests requests, Lessor lessor, ReplicaDriver<ApplyResult> driver, SimTimers timers,
                SimWatchers.Served watches) { }

    final int id;
    final SimDisk disk = new SimDisk();
    /** The configuration at index 0 of this node's log: the first voters, or {@link Membership#EMPTY} for a node that joined. */
    Membership bootstrap = Membership.EMPTY;
    /** For a node that joined: the index of the entry that added it (the real node keeps its join target's view until then). */
    long joinIndex;
    Life life;
    boolean up;
    /** It has run: one of the first members, or a node that joined. A slot never started holds an empty disk. */
    boolean started;
    /** Stopped for good, as a real node stops when it learns the cluster removed it: never restarted. */
    boolean retired;
    /**
     * Until this time (simulated ms), a node that was removed keeps running and its messages reach their targets, as a
     * node that never learnt it was removed: no stop when it applies its removal or a peer refuses it. 0: not one.
     */
    long zombieUntilMs;
    /** A turn end is scheduled for requests handled since the last (see Simulation's turnMs). */
    boolean turnPending;
    /** The applied index at which the membership checker last compared this node's applied configuration. */
    long appliedConfigChecked = -1;
    /** The applied and the committed configuration the membership checker last found to agree for this node. */
    Membership appliedConfigSeen;
    Membership committedConfigSeen;
    /** The core's configuration as the simulation last followed it (links closed to the peers it removes). */
    Membership membershipSeen;
    /** Crash at the next sync, after the leader's pre-sync messages went out and before anything is durable. */
    boolean crashAtNextSync;
    /**
     * Writes handed to the disk and not durable yet, oldest first. A crash makes a prefix of them durable (written, the
     * node never heard) and loses the rest.
     */
    record PendingWrite(HardState hardState, List<Entry> entries, boolean sync, Runnable durable) { }

    final ArrayDeque<PendingWrite> writing = new ArrayDeque<>();
    /** When the disk finishes the last write handed to it (simulated ms): writes complete in order. */
    long diskFreeAtMs;
    /** This life is writing a snapshot (one at a time, as a node's snapshot thread). */
    boolean snapshotting;
    /** A snapshot received from a leader, on disk, that the core has not installed yet. */
    ReceivedSnapshot received;

    /** What a SNAPSHOT message carried: the state machine bytes, and (for the checker) the sender's log prefix hashes. */
    record ReceivedSnapshot(io.raftkv.raft.SnapshotId id, byte[] data, long[] prefixHashes) { }
    long lastCommitSeen;
    long lastPersistedCommit;
    /** The applied index at which the node last answered a serializable read: its answers never go back, across lives too. */
    long serializableServedAt;
    long tickPhaseMs;
    /** When this node's lessor became primary (it leads and applied its term's no-op); -1 while it is not. */
    long primarySince = -1;
    int lives;
    long ticks;
    /** This node's clock (lease reads only): it runs at this rate of the simulated time, read {@code clockBaseMs} at {@code clockBaseAtMs}. */
    double clockRate = 1;
    long clockBaseMs;
    long clockBaseAtMs;

    SimNode(int id) {
        this.id = id;
    }

    /** The node's monotonic clock at simulated time {@code nowMs}: what its read lease measures with. */
    long clockMs(long nowMs) {
        return clockBaseMs + (long) ((nowMs - clockBaseAtMs) * clockRate);
    }

    /** From {@code nowMs} on, the clock runs at {@code rate}: it goes on from where it is, never back. */
    void clockRate(long nowMs, double rate) {
        clockBaseMs = clockMs(nowMs);
        clockBaseAtMs = nowMs;
        clockRate = rate;
    }

    RaftCore core() {
        return life.core();
    }

    KvStateMachine kv() {
        return life.kv();
    }

    void start(Life life) {
        if (retired) throw new IllegalStateException("node " + id + " was retired: it never starts again");
        this.life = life;
        up = true;
        started = true;
        lives++;
        lastCommitSeen = 0;
        appliedConfigChecked = -1;
        membershipSeen = null;
        crashAtNextSync = false;
        snapshotting = false;
        writing.clear();
        disk.forgetHanded();
    }

    /** Everything but the disk is lost; the life's timers never fire, its client connections break. */
    void crash() {
        up = false;
        life.timers().kill();
        if (life.watches() != null) life.watches().died();
        life = null;
    }

    /** Stopped for good (from up or down): the disk stays, for the checks that read every disk. */
    void retire() {
        if (up) crash();
        retired = true;
        zombieUntilMs = 0;
    }

    /** Running or down for a while, but a node of the cluster's life: started and not retired. */
    boolean running() {
        return started && !retired;
    }

    boolean zombie(long nowMs) {
        return zombieUntilMs > nowMs;
    }
}
