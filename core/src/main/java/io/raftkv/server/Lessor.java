package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.Leases;
import io.raftkv.raft.Entry;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * When leases expire: the leader's clock, never replicated (etcd's {@code lease/lessor.go}, primary side). Which leases
 * exist, with what TTL and which keys, is replicated state ({@link Leases}, changed only by applied entries); when each
 * one ends is decided here, by the leader only, on its own monotonic clock, and carried out through the log: an expired
 * lease is revoked by proposing {@link KvCommand.LeaseRevoke}, so every replica deletes the same keys at the same
 * revision.
 *
 * <ul>
 *   <li><b>Primary</b> from the moment the leader applies the no-op of its term (every entry of earlier terms is then
 *   applied, so it knows every lease), as etcd promotes in {@code applyEntryNormal}. Promotion gives every lease its
 *   whole TTL plus {@code extendMs} (the election timeout) from now: a leader change never expires a lease its client
 *   kept alive, whatever the old leader's clock said.</li>
 *   <li>A lease granted while primary expires its TTL after the grant is applied here; a keepalive ({@link #renew})
 *   sets it to now + TTL.</li>
 *   <li>Each {@link #tick} (the node's Raft tick) proposes the revoke of expired leases, at most
 *   {@code revokesPerSecondMax} a second (etcd's leaseRevokeRate, 1,000) and never a second one for a lease whose revoke
 *   is in flight; an entry of the leader's term is committed or the leader steps down, so one in flight is not lost
 *   while it stays primary.</li>
 *   <li>Demoted (no longer leader, or another term) at the first tick or apply that sees it: every deadline is dropped.
 *   A follower tracks nothing.</li>
 * </ul>
 *
 * Loop thread only; owns no thread and no timer. The clock is read through {@code clockMs}: the node's monotonic clock
 * (never the wall clock, never compared across nodes), a virtual one in tests and the simulator.
 */
public final class Lessor {

    /** etcd's leaseRevokeRate: revokes proposed per second at most, so that a pile of expiries cannot flood the log. */
    public static final int REVOKES_PER_SECOND_MAX = 1000;

    /** A lease's deadline in {@link #byExpiry}: ordered by time, then id. */
    private record Deadline(long atMs, long id) implements Comparable<Deadline> {
        @Override
        public int compareTo(Deadline o) {
            int c = Long.compare(atMs, o.atMs);
            return c != 0 ? c : Long.compare(id, o.id);
        }
    }

    /** What a keepalive found. */
    public sealed interface Renewal {
        /** Renewed: the lease lives {@code ttlSeconds} from now. */
        record Renewed(long ttlSeconds) implements Renewal { }

        /** No such lease (never granted, or revoked). */
        record NotFound() implements Renewal { }

        /** Expired here: its revoke is proposed or about to be, and a keepalive cannot bring it back (etcd's rule). */
        record Expired() implements Renewal { }

        /** This node is not the primary lessor (not the leader, or a leader that has not applied its no-op yet). */
        record NotPrimary() implements Renewal { }
    }

    private static final Renewal NOT_FOUND = new Renewal.NotFound();
    private static final Renewal EXPIRED = new Renewal.Expired();
    private static final Renewal NOT_PRIMARY = new Renewal.NotPrimary();

    private final RaftCore core;
    private final KvStateMachine kv;
    private final LongSupplier clockMs;
    private final long extendMs;
    private final int revokesPerTickMax;
    /** The term this node is primary in; 0 when it is not. */
    private long primaryTerm;
    /** Every lease's deadline on this node's clock, while primary. */
    private final Map<Long, Long> expiryMs = new HashMap<>();
    /** The same deadlines in time order, less those whose revoke is in flight. */
    private final TreeSet<Deadline> byExpiry = new TreeSet<>();
    /** Leases whose revoke this primary proposed and has not seen applied. */
    private final Set<Long> revoking = new HashSet<>();
    private long revokesProposed;
    private final InjectedLeaseBug bug;
    /** Under {@link InjectedLeaseBug#TIME_FROM_GRANT_AFTER_LEADER_CHANGE} only: when this node applied each grant. */
    private final Map<Long, Long> grantAppliedAtMs = new HashMap<>();

    /**
     * {@code extendMs}: what promotion adds to every lease's TTL, the election timeout ({@code electionTicks x tickMs});
     * {@code tickMs}: how often {@link #tick} is called, which turns the revoke rate into a budget per tick.
     */
    public Lessor(RaftCore core, KvStateMachine kv, LongSupplier clockMs, long extendMs, long tickMs, int revokesPerSecondMax) {
        this(core, kv, clockMs, extendMs, tickMs, revokesPerSecondMax, InjectedLeaseBug.NONE);
    }

    /** Tests only: a lessor with a deliberate bug, to show that the simulator's checks find it. */
    public Lessor(RaftCore core, KvStateMachine kv, LongSupplier clockMs, long extendMs, long tickMs, int revokesPerSecondMax, InjectedLeaseBug bug) {
        this.bug = bug;
        if (extendMs < 0 || tickMs < 1 || revokesPerSecondMax < 1) throw new IllegalArgumentException("extendMs " + extendMs + ", tickMs " + tickMs
                + ", revokesPerSecondMax " + revokesPerSecondMax);
        this.core = core;
        this.kv = kv;
        this.clockMs = clockMs;
        this.extendMs = extendMs;
        this.revokesPerTickMax = (int) Math.max(1, revokesPerSecondMax * tickMs / 1000);
    }

    /** Whether this node decides expiries now. */
    public boolean primary() {
        demoteIfDeposed();
        return primaryTerm != 0;
    }

    /** Revokes proposed since this lessor was made: tests and logs. */
    public long revokesProposed() {
        return revokesProposed;
    }

    /** Called for every applied entry, after the state machine applied it. */
    public void applied(Entry e, ApplyResult result) {
        demoteIfDeposed();
        if (result instanceof ApplyResult.LeaseRevoked r) {
            forget(r.leaseId());
        } else if (result instanceof ApplyResult.LeaseGranted g && primaryTerm != 0) {
            track(g.leaseId(), clockMs.getAsLong() + g.ttlSeconds() * 1000);
        }
        if (bug == InjectedLeaseBug.TIME_FROM_GRANT_AFTER_LEADER_CHANGE && result instanceof ApplyResult.LeaseGranted g) {
            grantAppliedAtMs.put(g.leaseId(), clockMs.getAsLong());
        }
        if (primaryTerm == 0 && e.isNoop() && core.role() == Role.LEADER && e.term() == core.term()) promote();
    }

    /** Called every Raft tick: proposes the revoke of leases whose deadline has passed, within the rate. */
    public void tick() {
        if (!primary() || bug == InjectedLeaseBug.NO_REVOKES) return;
        long now = clockMs.getAsLong();
        for (int n = 0; n < revokesPerTickMax && !byExpiry.isEmpty(); n++) {
            Deadline first = byExpiry.first();
            if (first.atMs() > now) return;
            if (!core.propose(new KvCommand.LeaseRevoke(first.id()).encode()).accepted()) return; // overloaded: next tick
            byExpiry.pollFirst();
            revoking.add(first.id());
            revokesProposed++;
        }
    }

    /** A keepalive: the lease lives its granted TTL from now, if it has not expired here. */
    public Renewal renew(long id) {
        if (!primary()) return NOT_PRIMARY;
        Leases.Lease lease = kv.leases().get(id);
        if (lease == null) return NOT_FOUND;
        Long at = expiryMs.get(id);
        if (at == null) throw new IllegalStateException("lease " + Long.toHexString(id) + " exists but the primary lessor has no deadline for it");
        long now = clockMs.getAsLong();
        if (at <= now || revoking.contains(id)) return EXPIRED;
        track(id, now + lease.ttlSeconds() * 1000);
        return new Renewal.Renewed(lease.ttlSeconds());
    }

    /** Milliseconds left before lease {@code id} expires here (0 if it has), or -1 when this node does not know: not primary, no such lease. */
    public long remainingMs(long id) {
        if (!primary()) return -1;
        Long at = expiryMs.get(id);
        return at == null ? -1 : Math.max(0, at - clockMs.getAsLong());
    }

    private void promote() {
        primaryTerm = core.term();
        long now = clockMs.getAsLong();
        for (Leases.Lease l : kv.leases().all()) {
            Long granted = bug == InjectedLeaseBug.TIME_FROM_GRANT_AFTER_LEADER_CHANGE ? grantAppliedAtMs.get(l.id()) : null;
            track(l.id(), granted != null ? granted + l.ttlSeconds() * 1000 : now + l.ttlSeconds() * 1000 + extendMs);
        }
    }

    private void demoteIfDeposed() {
        if (primaryTerm == 0 || (core.role() == Role.LEADER && core.term() == primaryTerm)) return;
        primaryTerm = 0;
        expiryMs.clear();
        byExpiry.clear();
        revoking.clear();
    }

    private void track(long id, long atMs) {
        Long before = expiryMs.put(id, atMs);
        if (before != null) byExpiry.remove(new Deadline(before, id));
        byExpiry.add(new Deadline(atMs, id));
    }

    private void forget(long id) {
        Long at = expiryMs.remove(id);
        if (at != null) byExpiry.remove(new Deadline(at, id));
        revoking.remove(id);
    }
}
