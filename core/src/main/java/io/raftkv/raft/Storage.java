package io.raftkv.raft;

import java.util.List;

/**
 * The durable log and hard state as the core reads them. The driver writes to it (it is the one that
 * persists {@link Ready}); the core only reads. Implementations must answer from memory: they are called
 * on the node's loop thread and must not block on I/O.
 *
 * <p>The log starts at index 1 (no compaction yet). Index 0 has term 0.
 */
public interface Storage {

    /** The hard state last persisted ({@link HardState#EMPTY} for a new node). */
    HardState hardState();

    /** Index of the last persisted entry, 0 when the log is empty. */
    long lastIndex();

    /** Term of the entry at {@code index}, for 0 &lt;= index &lt;= {@link #lastIndex()}. */
    long term(long index);

    /**
     * Entries in [lo, hi), stopping early once their total {@link Entry#sizeBytes()} would pass
     * {@code maxBytes}; at least one entry is returned when lo &lt; hi.
     */
    List<Entry> entries(long lo, long hi, long maxBytes);
}
