package io.raftkv.snapshot;

import java.util.HashSet;
import java.util.List;

/**
 * Where a snapshot sits in the Raft log: it replaces the log up to {@code index} (whose entry has {@code term}), and
 * {@code voters} is the membership at that index, which the log it replaces can no longer tell.
 */
public record SnapshotMeta(long index, long term, List<Integer> voters) {

    public SnapshotMeta {
        if (index < 1 || term < 1) throw new IllegalArgumentException("a snapshot replaces entries from index 1 and term 1 on, not index " + index + " term " + term);
        voters = List.copyOf(voters);
        if (voters.isEmpty() || voters.size() > SnapshotFormat.VOTERS_MAX) {
            throw new IllegalArgumentException(voters.size() + " voters, a membership has 1 to " + SnapshotFormat.VOTERS_MAX);
        }
        if (new HashSet<>(voters).size() != voters.size()) throw new IllegalArgumentException("duplicate voter in " + voters);
        for (int v : voters) if (v < 1) throw new IllegalArgumentException("node ids start at 1, got " + v + " in " + voters);
    }
}
