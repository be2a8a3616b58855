package io.raftkv.sim;

import java.util.HashMap;
import java.util.Map;

/**
 * The lease client's view of its leases, and the two lease properties checked against what the cluster commits
 * (docs/architecture.md, "Leases"):
 * <ul>
 *   <li><b>no live lease expires</b>: a revoke that commits for a lease the client did not revoke itself was proposed
 *   no earlier than the client's deadline, the latest {@code sent + TTL} of a grant or keepalive it got an answer to.
 *   A revoke's proposal time is when its entry was first made durable anywhere: by its leader, in the turn it proposed
 *   it. Checked when the revoke is first applied, and again at every keepalive answer that arrives later;</li>
 *   <li><b>no lease outlives its bound</b>: once faults heal and clients stop, every lease, those whose grant the client
 *   never heard of included, is gone from the leader's (committed) state, and so from every node's as they converge, within {@code TTL + election timeout} (and a few ticks) of the later
 *   of the current leader's promotion and the last grant (the simulator's {@code checkLeasesExpire}).</li>
 * </ul>
 */
final class SimLeases {

    /** The TTL the client asks for: the simulated cluster's minimum (1.5 x its 100 ms election timeout, in whole seconds). */
    static final long TTL_SECONDS = 1;
    static final long TTL_MS = TTL_SECONDS * 1000;
    /** Leases the client keeps at once. */
    static final int LIVE_MAX = 3;
    /** Keys the client attaches to each lease. */
    static final String KEY_PREFIX = "lease/";

    /** One lease the client was granted. */
    static final class Lease {
        final long id;
        /** The latest sent + TTL of a grant or keepalive the client got an answer to: the lease is the client's until then. */
        long deadlineMs;
        /** The client renews until this time, then lets it expire or revokes it. */
        final long keepUntilMs;
        boolean revokedByClient;
        /** The client was told the lease is gone: it stops renewing. */
        boolean lost;
        /** When the revoke that committed was proposed; -1 while none committed. */
        long revokeProposedAtMs = -1;

        Lease(long id, long deadlineMs, long keepUntilMs) {
            this.id = id;
            this.deadlineMs = deadlineMs;
            this.keepUntilMs = keepUntilMs;
        }

        boolean renewing(long nowMs) {
            return !lost && !revokedByClient && revokeProposedAtMs < 0 && nowMs < keepUntilMs;
        }
    }

    private record IndexTerm(long index, long term) { }

    final Map<Long, Lease> leases = new HashMap<>();
    /** When each LEASE_REVOKE entry was first made durable: when its leader proposed it. */
    private final Map<IndexTerm, Long> revokeProposedAt = new HashMap<>();
    /** Revoke and grant entries already seen applied (every node applies each). */
    private final Map<IndexTerm, Boolean> appliedSeen = new HashMap<>();
    private long nextRequestId = 100_000_000_000L;
    int leaderHint;
    long lastGrantAppliedAtMs;
    long grants;
    long renewals;
    long expired;
    long revokedByClient;

    long nextRequestId() {
        return ++nextRequestId;
    }

    int live(long nowMs) {
        int n = 0;
        for (Lease l : leases.values()) if (l.renewing(nowMs)) n++;
        return n;
    }

    /** A LEASE_REVOKE entry made durable by a node: the first time is its proposal. */
    void revokePersisted(long index, long term, long nowMs) {
        revokeProposedAt.putIfAbsent(new IndexTerm(index, term), nowMs);
    }

    /** A grant applied: the first time is the latest the cluster learnt of it. */
    void grantApplied(long index, long term, long nowMs) {
        if (appliedSeen.putIfAbsent(new IndexTerm(index, term), true) == null) lastGrantAppliedAtMs = Math.max(lastGrantAppliedAtMs, nowMs);
    }

    /** A revoke of {@code leaseId} applied (it removed the lease): checked the first time. */
    void revokeApplied(long index, long term, long leaseId) {
        IndexTerm at = new IndexTerm(index, term);
        if (appliedSeen.putIfAbsent(at, true) != null) return;
        Long proposed = revokeProposedAt.get(at);
        if (proposed == null) throw new SimulationFailure("the revoke of lease " + Long.toHexString(leaseId) + " at " + index + " was applied but never persisted");
        Lease l = leases.get(leaseId);
        if (l == null) return; // a lease whose grant the client never heard of: only the end check applies
        l.revokeProposedAtMs = proposed;
        if (l.revokedByClient) {
            revokedByClient++;
            return;
        }
        expired++;
        if (proposed < l.deadlineMs) {
            throw new SimulationFailure("a live lease expired: lease " + Long.toHexString(leaseId) + "'s revoke was proposed at " + proposed
                    + " ms and committed, but its client had it renewed until " + l.deadlineMs + " ms");
        }
    }

    /** The client got an answer to a keepalive (or the grant) it sent at {@code sentMs}. */
    void renewed(Lease l, long sentMs) {
        renewals++;
        l.deadlineMs = Math.max(l.deadlineMs, sentMs + TTL_MS);
        if (l.revokeProposedAtMs >= 0 && !l.revokedByClient && l.revokeProposedAtMs < sentMs + TTL_MS) {
            throw new SimulationFailure("a live lease expired: lease " + Long.toHexString(l.id) + " was renewed by a keepalive sent at " + sentMs
                    + " ms, but its revoke, proposed at " + l.revokeProposedAtMs + " ms, committed");
        }
    }

    /** The latest deadline the client holds for any lease. */
    long latestDeadlineMs() {
        long d = 0;
        for (Lease l : leases.values()) d = Math.max(d, l.deadlineMs);
        return d;
    }
}
