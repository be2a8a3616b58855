package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;

/**
 * Keeps the history bounded. Every {@code intervalMs}, the leader proposes a compaction to the highest revision either
 * rule lets go: {@code retentionRevisions} behind the current revision, once that is a tenth of the retention past the
 * last compaction (etcd's revision mode); the revision that was current {@code retentionMs} ago (etcd's periodic mode).
 * The compaction travels in the log, so every replica compacts at the same revision.
 *
 * <p>The periodic rule needs no clock: every node samples its revision on the timer, one sample per stride of checks,
 * in a ring whose oldest sample is {@code retentionMs} old. Followers sample too, so a new leader has the past at once
 * instead of waiting a whole retention; their revisions trail the leader's by what is not yet applied, which only keeps
 * a little more.
 */
public final class AutoCompactor {

    /** The periodic rule's ring: at most this many samples plus one, so a long retention costs a few KiB. */
    static final int SAMPLES_MAX = 1_000;

    private final RaftCore core;
    private final KvStateMachine kv;
    private final Timers timers;
    private final long retentionRevisions;
    private final long intervalMs;
    /** The periodic rule: revisions at the last sampling checks, a ring; empty when the rule is off. */
    private final long[] samples;
    /** Checks between two samples. */
    private final long stride;
    private long checks;
    private long sampled;
    /** The highest compaction this node proposed in {@link #proposedInTerm}: not proposed again while it may be in flight. */
    private long proposedUpTo;
    private long proposedInTerm;

    public AutoCompactor(RaftCore core, KvStateMachine kv, Timers timers, long retentionRevisions, long retentionMs, long intervalMs) {
        this.core = core;
        this.kv = kv;
        this.timers = timers;
        this.retentionRevisions = retentionRevisions;
        this.intervalMs = intervalMs;
        long checksPerRetention = retentionMs / intervalMs;
        this.stride = Math.max(1, (checksPerRetention + SAMPLES_MAX - 1) / SAMPLES_MAX);
        this.samples = new long[retentionMs == 0 ? 0 : (int) (checksPerRetention / stride) + 1];
    }

    /** Starts the periodic check; with both retentions 0, auto compaction is off. */
    public void start() {
        if (retentionRevisions > 0 || samples.length > 0) timers.schedule(intervalMs, this::check);
    }

    private void check() {
        timers.schedule(intervalMs, this::check);
        if (samples.length > 0 && checks++ % stride == 0) samples[(int) (sampled++ % samples.length)] = kv.revision();
        if (core.role() != Role.LEADER) return;
        if (core.term() != proposedInTerm) proposedUpTo = 0; // a proposal of an earlier term may have been lost
        long done = Math.max(kv.store().compactRevision(), proposedUpTo);
        long target = Math.max(byRevisions(done), byTime());
        if (target <= done) return;
        if (core.propose(new KvCommand.Compact(target).encode()).accepted()) {
            proposedUpTo = target;
            proposedInTerm = core.term();
        }
    }

    /** The revision rule's target, 0 while it is less than a tenth of the retention past {@code done} (or the rule is off). */
    private long byRevisions(long done) {
        if (retentionRevisions == 0) return 0;
        long target = kv.revision() - retentionRevisions;
        return target - done >= Math.max(1, retentionRevisions / 10) ? target : 0;
    }

    /** The periodic rule's target: the oldest sample, once the ring is full (it then is a retention old); else 0. */
    private long byTime() {
        if (samples.length == 0 || sampled < samples.length) return 0;
        return samples[(int) (sampled % samples.length)];
    }
}
