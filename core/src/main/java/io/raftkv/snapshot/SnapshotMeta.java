package io.raftkv.snapshot;

import io.raftkv.raft.Membership;

/**
 * Where a snapshot sits in the Raft log: it replaces the log up to {@code index} (whose entry has {@code term}), and
 * {@code membership} is the cluster configuration at that index, which the log it replaces can no longer tell.
 */
public record SnapshotMeta(long index, long term, Membership membership) {

    public SnapshotMeta {
        if (index < 1 || term < 1) throw new IllegalArgumentException("a snapshot replaces entries from index 1 and term 1 on, not index " + index + " term " + term);
        if (membership == null || membership.voters().isEmpty()) throw new IllegalArgumentException("a snapshot's configuration has at least one voter: " + membership);
    }
}
