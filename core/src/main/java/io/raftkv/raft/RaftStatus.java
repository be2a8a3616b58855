package io.raftkv.raft;

/** A snapshot of a node's Raft state, for STATUS requests, logs and tests. */
public record RaftStatus(int id, Role role, long term, int vote, int leader, long commit, long applied,
                         long lastIndex, long lastTerm) {
}
