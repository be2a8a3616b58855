package io.raftkv.raft;

import java.util.List;

/**
 * The durable log and hard state as the core reads them. The driver writes to it (it is the one that
 * persists {@link Ready}); the core only reads. Implementations must answer from memory: they are called
 * on the node's loop thread and must not block on I/O.
 *
 * <p>The log held starts at {@link #firstIndex()}: the entries before it were compacted away after a snapshot
 * covered them, and only the term of the entry just before it is still known (index 0 has term 0).
 */
public interface Storage {

    /** The hard state last persisted ({@link HardState#EMPTY} for a new node). */
    HardState hardState();

    /** Index of the first entry held; {@code lastIndex() + 1} when none is. 1 until the log is first compacted. */
    long firstIndex();

    /** Index of the last persisted entry; {@code firstIndex() - 1} when the log holds none. */
    long lastIndex();

    /** Term of the entry at {@code index}, for firstIndex() - 1 &lt;= index &lt;= {@link #lastIndex()}. */
    long term(long index);

    /**
     * Entries in [lo, hi), firstIndex() &lt;= lo, stopping early once their total {@link Entry#sizeBytes()} would
     * pass {@code maxBytes}; at least one entry is returned when lo &lt; hi.
     */
    List<Entry> entries(long lo, long hi, long maxBytes);

    /**
     * The newest durable snapshot of the state machine: what a follower that needs entries before
     * {@link #firstIndex()} is sent instead. {@link SnapshotId#NONE} while there is none. Its index is at least
     * {@code firstIndex() - 1}: a log is compacted only up to a durable snapshot (minus a catch-up margin).
     */
    SnapshotId snapshot();

    /** The cluster configuration at {@link #snapshot()}: the log it replaces can no longer tell. Unused while there is none. */
    Membership snapshotMembership();
}
