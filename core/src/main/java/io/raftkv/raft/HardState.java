package io.raftkv.raft;

/**
 * What a node must persist before it answers anything that depends on it (Figure 2, "persistent state"):
 * the current term and the vote cast in it. The commit index is carried along so that a restarted node
 * can apply what it knew to be committed without waiting for the leader; losing it is safe.
 */
public record HardState(long term, int vote, long commit) {

    public static final HardState EMPTY = new HardState(0, RaftCore.NONE, 0);
}
