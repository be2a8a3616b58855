package io.raftkv.server;

import java.util.function.LongSupplier;

/**
 * The leader's read lease (thesis §6.4.1), on this node's monotonic clock. A read index asked at time {@code t} and
 * confirmed by a majority in term {@code T} means every voter of that majority heard from this leader after {@code t}
 * and refuses to vote (CheckQuorum's leader stickiness) for an election timeout of its own ticks after that, less the
 * tick already begun when the heartbeat came. So no other leader can be elected before {@code t} plus an election
 * timeout less a tick, as this leader's clock measures it give or take the drift between the clocks: the lease ends
 * {@code leaseMs} = election timeout - tick - drift bound after {@code t}. Until then a linearizable read is served at
 * the commit index without a heartbeat round. The bound is broken by a clock that runs more than the drift bound slower
 * than another node's, or a process paused between reading the clock and answering (docs/architecture.md, "Lease reads").
 */
public final class ReadLease {

    private final long leaseMs;
    private final LongSupplier clockMs;
    private long term = -1;
    private long untilMs;

    /**
     * {@code clockDriftPercent}: how much slower, in percent of the election timeout, this node's clock may run than
     * any other member's over one election timeout.
     */
    public ReadLease(long electionTimeoutMs, long tickMs, int clockDriftPercent, LongSupplier clockMs) {
        this.leaseMs = electionTimeoutMs - tickMs - electionTimeoutMs * clockDriftPercent / 100;
        if (leaseMs <= 0) throw new IllegalArgumentException("no lease is left of an election timeout of " + electionTimeoutMs + " ms with ticks of "
                + tickMs + " ms and a clock drift bound of " + clockDriftPercent + "%");
        this.clockMs = clockMs;
    }

    long nowMs() {
        return clockMs.getAsLong();
    }

    long leaseMs() {
        return leaseMs;
    }

    /** A read index asked at {@code askedAtMs} in {@code term} was confirmed by a majority of this leader's voters. */
    void confirmed(long askedAtMs, long term) {
        if (term != this.term) {
            this.term = term;
            untilMs = 0;
        }
        untilMs = Math.max(untilMs, askedAtMs + leaseMs);
    }

    /** Whether this node, leading {@code term}, holds the lease now. */
    boolean holds(long term) {
        return term == this.term && clockMs.getAsLong() < untilMs;
    }
}
