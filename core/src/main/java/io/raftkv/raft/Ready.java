package io.raftkv.raft;

import java.util.List;

/**
 * Work the core hands to its driver. The driver must, in this order (the contract, as etcd's raft README):
 * <ol>
 *   <li>send {@link #messages()}: they depend on nothing unpersisted (the leader's appends, so its own
 *       disk write overlaps replication, thesis §10.2.1);</li>
 *   <li>install {@link #snapshot()} when not null: the log restarts after it and the state machine takes its
 *       state, before anything after it is persisted or applied; {@link #snapshotMembership()} is the
 *       configuration at it;</li>
 *   <li>persist {@link #hardState()} (when not null) and {@link #entries()} durably; an entry replaces any
 *       persisted entry at the same or a later index;</li>
 *   <li>send {@link #messagesAfterPersist()}: votes and acknowledgements that promise what was just persisted;</li>
 *   <li>apply {@link #committedEntries()} in order, then serve {@link #readStates()} once applied reaches them;</li>
 *   <li>call {@link RaftCore#advance(Ready)}.</li>
 * </ol>
 * No other call may be made on the core between {@link RaftCore#ready()} and {@link RaftCore#advance(Ready)}.
 */
public record Ready(HardState hardState, boolean mustSync, SnapshotId snapshot, Membership snapshotMembership, List<Entry> entries, List<Message> messages,
                    List<Message> messagesAfterPersist, List<Entry> committedEntries, List<ReadState> readStates) {
    // mustSync: the term, the vote, the log or its snapshot changed, so the write must be durable (fsync) before
    // messagesAfterPersist go out. A hard state whose only change is the commit index may be written lazily.
}
