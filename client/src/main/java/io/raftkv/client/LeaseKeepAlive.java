package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledFuture;

/**
 * A lease kept alive in the background, etcd's {@code clientv3.Lease.KeepAlive}: {@link RaftKvClient#keepAlive} sends a
 * keepalive at once, then one a third of the TTL after each answer (etcd's rhythm), through the client's own thread (no
 * thread of its own). A keepalive goes to the leader wherever it is and follows a leader change like any request; one
 * that fails for want of a leader (UNAVAILABLE) is sent again {@value #RETRY_MS} ms later, since the lease outlives a
 * leader change by design (a new leader gives it its TTL and an election timeout). It ends when closed ({@link #done()}
 * completes normally) or when the cluster answers that the lease does not exist: expired, or revoked ({@link #done()}
 * completes with that {@link RaftKvException}, whose {@code errorCode()} is LEASE_NOT_FOUND).
 */
public final class LeaseKeepAlive implements AutoCloseable {

    /** A pause before a keepalive is sent again after one that no node could serve. */
    static final long RETRY_MS = 100;

    /** Where the next keepalive waits: the client's scheduler; null once the client is closed. */
    interface Scheduler {
        ScheduledFuture<?> schedule(Runnable task, long delayMs);
    }

    private final RaftKvClient client;
    private final long leaseId;
    private final Scheduler scheduler;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile ClientResponse.LeaseResult last;
    /** System.nanoTime() when the last keepalive that was answered was sent: the lease is the caller's until then + TTL. */
    private volatile long lastSentNanos;
    private volatile long renewals;
    private volatile ScheduledFuture<?> next;

    LeaseKeepAlive(RaftKvClient client, long leaseId, Scheduler scheduler) {
        this.client = client;
        this.leaseId = leaseId;
        this.scheduler = scheduler;
    }

    void start() {
        renew();
    }

    public long leaseId() {
        return leaseId;
    }

    /** The last answer to a keepalive (its TTL is what the lease was renewed for), null before the first. */
    public ClientResponse.LeaseResult last() {
        return last;
    }

    /** Keepalives answered so far. */
    public long renewals() {
        return renewals;
    }

    /**
     * Whether the lease is surely still the caller's: kept alive, and within the TTL of the last keepalive answered,
     * counted from when it was sent (the cluster renewed it after that).
     */
    public boolean alive() {
        ClientResponse.LeaseResult l = last;
        return !done.isDone() && l != null && System.nanoTime() - lastSentNanos < l.ttlSeconds() * 1_000_000_000L;
    }

    /** Completes normally once closed, exceptionally once the lease is gone (or the client closed under it). */
    public CompletableFuture<Void> done() {
        return done;
    }

    private void renew() {
        if (done.isDone()) return;
        long sent = System.nanoTime();
        client.keepAliveOnceAsync(leaseId).whenComplete((answer, error) -> {
            if (done.isDone()) return;
            if (answer != null) {
                last = answer;
                lastSentNanos = sent;
                renewals++;
                later(Math.max(1, answer.ttlSeconds() * 1000 / 3), null);
                return;
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof RaftKvException e && (e.errorCode() == ErrorCode.LEASE_NOT_FOUND || e.kind() == RaftKvException.Kind.REJECTED)) {
                done.completeExceptionally(e);
                return;
            }
            later(RETRY_MS, cause);
        });
    }

    private void later(long delayMs, Throwable lastProblem) {
        ScheduledFuture<?> f = scheduler.schedule(this::renew, delayMs);
        if (f == null) {
            done.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "the client was closed"
                    + (lastProblem != null ? " (last: " + lastProblem.getMessage() + ")" : "")));
            return;
        }
        next = f;
        if (done.isDone()) f.cancel(false);
    }

    /** Stops renewing (the lease then expires a TTL after its last keepalive, unless revoked first). Idempotent. */
    @Override
    public void close() {
        done.complete(null);
        ScheduledFuture<?> f = next;
        if (f != null) f.cancel(false);
    }
}
