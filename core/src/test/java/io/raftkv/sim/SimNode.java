package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.RaftCore;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.ClientRequests;

/**
 * One simulated node: a {@link SimDisk} that survives crashes, and one {@link Life} that does not: the node's
 * real parts (Raft core, replica driver, key/value state machine, client request table) and its timers.
 */
final class SimNode {

    /** What a node holds between a start and a crash: the same parts a real node wires to its event loop. */
    record Life(RaftCore core, KvStateMachine kv, ClientRequests requests, ReplicaDriver<ApplyResult> driver, SimTimers timers) { }

    final int id;
    final SimDisk disk = new SimDisk();
    Life life;
    boolean up;
    /** Crash at the next sync, after the leader's pre-sync messages went out and before anything is durable. */
    boolean crashAtNextSync;
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
    int lives;

    SimNode(int id) {
        this.id = id;
    }

    RaftCore core() {
        return life.core();
    }

    KvStateMachine kv() {
        return life.kv();
    }

    void start(Life life) {
        this.life = life;
        up = true;
        lives++;
        lastCommitSeen = 0;
        crashAtNextSync = false;
        snapshotting = false;
    }

    /** Everything but the disk is lost; the life's timers never fire. */
    void crash() {
        up = false;
        life.timers().kill();
        life = null;
    }
}
