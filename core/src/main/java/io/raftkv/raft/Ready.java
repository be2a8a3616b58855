package io.raftkv.raft;

import java.util.List;

/**
 * Work the core hands to its driver. The driver must, in this order (the contract, as etcd's raft README with its
 * asynchronous storage writes):
 * <ol>
 *   <li>send {@link #messages()}: they depend on nothing unpersisted (the leader's appends, so its own
 *       disk write overlaps replication, thesis §10.2.1);</li>
 *   <li>install {@link #snapshot()} when not null, once everything handed to the disk before is durable: the log
 *       restarts after it and the state machine takes its state, before anything after it is persisted or applied;
 *       {@link #snapshotMembership()} is the configuration at it;</li>
 *   <li>hand {@link #hardState()} (when not null) and {@link #entries()} to the disk, to be written after everything
 *       handed over before (durably when {@link #mustSync()}); an entry replaces any persisted entry at the same or a
 *       later index;</li>
 *   <li>apply {@link #committedEntries()} in order (they are durable here already), then serve {@link #readStates()}
 *       once applied reaches them;</li>
 *   <li>call {@link RaftCore#advance(Ready)};</li>
 *   <li>once what it handed to the disk is durable, and everything handed over before: send
 *       {@link #messagesAfterPersist()} (votes and acknowledgements that promise it), and report the last entry with
 *       {@link RaftCore#persisted(long, long)} (not while a Ready is outstanding). A driver that writes in place does
 *       this right after advance.</li>
 * </ol>
 * No other call may be made on the core between {@link RaftCore#ready()} and {@link RaftCore#advance(Ready)}.
 */
public record Ready(HardState hardState, boolean mustSync, SnapshotId snapshot, Membership snapshotMembership, List<Entry> entries, List<Message> messages,
                    List<Message> messagesAfterPersist, List<Entry> committedEntries, List<ReadState> readStates) {
    // mustSync: the term, the vote, the log or its snapshot changed, so the write must be durable (fsync) before
    // messagesAfterPersist go out. A hard state whose only change is the commit index may be written lazily.
}
