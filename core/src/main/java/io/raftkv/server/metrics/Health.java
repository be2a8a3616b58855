package io.raftkv.server.metrics;

import java.util.concurrent.TimeUnit;

/**
 * The node's answers to "is it alive, ready, healthy?", as etcd gives them (docs/metrics.md), from what the loop and the
 * WAL thread publish in {@link NodeMetrics}; nothing here asks the loop, so a stuck loop gets an answer too.
 *
 * <ul>
 * <li><b>live</b>: the loop published its view within {@code loopSilenceMsMax} (it does every tick).</li>
 * <li><b>ready</b>: live, past the start-up barrier (a read index from a leader applied, so its reads are where the
 * cluster is), and a leader is known.</li>
 * <li><b>healthy</b>: live; a leader known and heard from within {@code leaderSilenceMsMax}; the applied index at most
 * {@code appliedLagEntriesMax} behind the commit index; the WAL thread not stuck on a write and sync for more than
 * {@code diskBusyMsMax} (an idle WAL is fine: a quiet cluster writes nothing).</li>
 * </ul>
 */
public final class Health {

    /**
     * {@code leaderSilenceMsMax}: the election timeout (a follower that heard nothing for that long campaigns).
     * {@code appliedLagEntriesMax}: etcd's maxGapBetweenApplyAndCommitIndex, 5,000.
     */
    public record Limits(long leaderSilenceMsMax, long appliedLagEntriesMax, long diskBusyMsMax, long loopSilenceMsMax) {
        public static Limits forElectionTimeout(long electionTimeoutMs) {
            return new Limits(electionTimeoutMs, 5_000, 5_000, Math.max(5_000, 2 * electionTimeoutMs));
        }
    }

    /** {@code reason}: empty when ok. */
    public record Verdict(boolean ok, String reason) {
        static final Verdict OK = new Verdict(true, "");
    }

    private final NodeMetrics metrics;
    private final Limits limits;

    public Health(NodeMetrics metrics, Limits limits) {
        this.metrics = metrics;
        this.limits = limits;
    }

    public Verdict live() {
        LoopView v = metrics.view();
        if (v == null) return new Verdict(false, "the node is starting");
        long silentMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - v.atNanos());
        if (silentMs > limits.loopSilenceMsMax()) return new Verdict(false, "the node's loop has not turned for " + silentMs + " ms");
        return Verdict.OK;
    }

    public Verdict ready() {
        Verdict live = live();
        if (!live.ok()) return live;
        LoopView v = metrics.view();
        if (v.leader() == 0) return new Verdict(false, "no leader");
        if (!v.caughtUp()) return new Verdict(false, "catching up with the leader after a start");
        return Verdict.OK;
    }

    public Verdict healthy() {
        Verdict live = live();
        if (!live.ok()) return live;
        LoopView v = metrics.view();
        if (v.leader() == 0) return new Verdict(false, "no leader");
        if (v.leaderSilentMs() > limits.leaderSilenceMsMax()) {
            return new Verdict(false, "leader " + v.leader() + " not heard from for " + v.leaderSilentMs() + " ms");
        }
        long lag = v.commit() - v.applied();
        if (lag > limits.appliedLagEntriesMax()) {
            return new Verdict(false, "applied index " + v.applied() + " is " + lag + " entries behind the commit index " + v.commit());
        }
        long busyMs = TimeUnit.NANOSECONDS.toMillis(metrics.walBusyNanos(System.nanoTime()));
        if (busyMs > limits.diskBusyMsMax()) return new Verdict(false, "the WAL has been writing and syncing for " + busyMs + " ms");
        return Verdict.OK;
    }
}
