package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;

/**
 * Keeps the history bounded: every {@code intervalMs}, the leader proposes a compaction to
 * {@code retentionRevisions} behind the current revision once that is a tenth of the retention past the last
 * compaction. The compaction travels in the log, so every replica compacts at the same revision (etcd's
 * revision-mode auto compaction, done through Raft).
 */
public final class AutoCompactor {

    private final RaftCore core;
    private final KvStateMachine kv;
    private final Timers timers;
    private final long retentionRevisions;
    private final long intervalMs;
    /** The highest compaction this node proposed in {@link #proposedInTerm}: not proposed again while it may be in flight. */
    private long proposedUpTo;
    private long proposedInTerm;

    public AutoCompactor(RaftCore core, KvStateMachine kv, Timers timers, long retentionRevisions, long intervalMs) {
        this.core = core;
        this.kv = kv;
        this.timers = timers;
        this.retentionRevisions = retentionRevisions;
        this.intervalMs = intervalMs;
    }

    /** Starts the periodic check; a retention of 0 means auto compaction is off. */
    public void start() {
        if (retentionRevisions > 0) timers.schedule(intervalMs, this::check);
    }

    private void check() {
        timers.schedule(intervalMs, this::check);
        if (core.role() != Role.LEADER) return;
        if (core.term() != proposedInTerm) proposedUpTo = 0; // a proposal of an earlier term may have been lost
        long target = kv.revision() - retentionRevisions;
        long done = Math.max(kv.store().compactRevision(), proposedUpTo);
        if (target - done < Math.max(1, retentionRevisions / 10)) return;
        if (core.propose(new KvCommand.Compact(target).encode()).accepted()) {
            proposedUpTo = target;
            proposedInTerm = core.term();
        }
    }
}
