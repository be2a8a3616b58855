package io.raftkv.raft;

/**
 * Names a snapshot by the last log entry it replaces: its index and term. {@link #NONE} (0, 0) means "no
 * snapshot": the log starts at index 1.
 */
public record SnapshotId(long index, long term) {

    public static final SnapshotId NONE = new SnapshotId(0, 0);

    public SnapshotId {
        if (index < 0 || term < 0 || (index == 0) != (term == 0)) throw new IllegalArgumentException("bad snapshot id " + index + "@t" + term);
    }

    @Override
    public String toString() {
        return index + "@t" + term;
    }
}
