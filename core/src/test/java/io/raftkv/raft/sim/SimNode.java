package io.raftkv.raft.sim;

import io.raftkv.raft.Entry;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.ReadState;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * One simulated node: a {@link SimDisk} that survives crashes, and volatile state that does not (the Raft
 * core, the key/value map, the client requests it is working on).
 */
final class SimNode {

    /** A client request a node has taken and will answer when its entry is applied or its read is safe. */
    record PendingRequest(int clientId, long opId, String key) { }

    final int id;
    final SimDisk disk = new SimDisk();
    boolean up;
    RaftCore core;
    final TreeMap<String, String> kv = new TreeMap<>();
    final Map<Long, PendingRequest> pendingWrites = new HashMap<>();
    final Map<Long, PendingRequest> pendingReads = new HashMap<>();
    /** Read states released by the core, waiting for the applied index to reach them. */
    final ArrayList<ReadState> readsWaitingForApply = new ArrayList<>();
    long applied;
    /** Crash at the next sync, after the leader's pre-sync messages went out and before anything is durable. */
    boolean crashAtNextSync;
    long lastCommitSeen;
    long lastPersistedCommit;
    long tickPhaseMs;
    int lives;

    SimNode(int id) {
        this.id = id;
    }

    void start(RaftConfig config) {
        up = true;
        lives++;
        core = new RaftCore(config, disk.storage);
        kv.clear();
        applied = 0;
        lastCommitSeen = 0;
        crashAtNextSync = false;
    }

    void crash() {
        up = false;
        core = null;
        kv.clear();
        pendingWrites.clear();
        pendingReads.clear();
        readsWaitingForApply.clear();
    }

    /** Applies a committed entry to the map; returns the write it completes, if this node proposed it. */
    PendingRequest apply(Entry e) {
        if (e.index() != applied + 1) SafetyChecker.fail("node " + id + " applied " + e.index() + " after " + applied);
        applied = e.index();
        if (e.isNoop()) return null;
        SimCommand c = SimCommand.decode(e.data());
        if (c.delete()) kv.remove(c.key()); else kv.put(c.key(), c.value());
        return pendingWrites.remove(c.opId());
    }
}
