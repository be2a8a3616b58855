package io.raftkv.client;

import io.raftkv.protocol.ErrorCode;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A lease kept alive in the background for as long as its owner is alive: etcd's {@code concurrency.Session}, what
 * locks ({@link Mutex}) and elections ({@link Election}) hang their keys on. If the owner dies, its keepalives stop,
 * the lease expires at the leader a TTL later and every key it holds is deleted, in one revision: that is how a dead
 * holder releases its locks. {@link #close()} revokes the lease at once (its keys go with it).
 *
 * <p>A session can be lost while its owner lives: a partition longer than the TTL, a pause (GC, SIGSTOP) longer than
 * the TTL. The cluster then expires the lease and hands its locks to others. {@link #done()} says so (it completes
 * exceptionally once a keepalive is answered LEASE_NOT_FOUND), and {@link #alive()} turns false as soon as a TTL has
 * passed since the last keepalive that was answered (counted from when it was sent), without waiting for the cluster:
 * a holder checks it, and still fences its writes (docs/architecture.md, "Locks and elections").
 *
 * <p>A session puts at most one key under a name at a time (etcd would hand two of its Mutexes on one name the same
 * key, and both would think they hold the lock): locking a name again through a session that still has a key there,
 * held, waited with or not yet surely deleted, is refused with IllegalStateException.
 */
public final class LeaseSession implements AutoCloseable {

    /** etcd's default session TTL. */
    public static final long TTL_SECONDS_DEFAULT = 60;

    private final RaftKvClient client;
    private final long leaseId;
    private final long ttlSeconds;
    private final LeaseKeepAlive keepAlive;
    /** The names under which this session has a key now: see the class comment. */
    private final Set<ByteBuffer> names = ConcurrentHashMap.newKeySet();

    private LeaseSession(RaftKvClient client, long leaseId, long ttlSeconds) {
        this.client = client;
        this.leaseId = leaseId;
        this.ttlSeconds = ttlSeconds;
        this.keepAlive = client.keepAlive(leaseId);
    }

    /** A session with etcd's default TTL, 60 s. */
    public static LeaseSession open(RaftKvClient client) {
        return open(client, TTL_SECONDS_DEFAULT);
    }

    /**
     * Grants a lease of {@code ttlSeconds} (raised to the cluster's minimum, as any grant) and keeps it alive from now
     * on. The TTL is how long the locks of a holder that died stay held, and how long a holder cut off from the
     * cluster may go on believing it holds them: short enough for the first, long enough for the pauses it must survive.
     */
    public static LeaseSession open(RaftKvClient client, long ttlSeconds) {
        if (ttlSeconds <= 0) throw new IllegalArgumentException("a session's TTL must be positive, not " + ttlSeconds);
        var granted = client.grant(ttlSeconds);
        return new LeaseSession(client, granted.leaseId(), granted.ttlSeconds());
    }

    public RaftKvClient client() {
        return client;
    }

    public long leaseId() {
        return leaseId;
    }

    /** The TTL the lease was granted with (the cluster may have raised the one asked for). */
    public long ttlSeconds() {
        return ttlSeconds;
    }

    /**
     * Completes normally once the session is closed, exceptionally once it is lost: its lease expired or was revoked
     * (a {@link RaftKvException} whose {@code errorCode()} is LEASE_NOT_FOUND), or its client was closed under it.
     */
    public CompletableFuture<Void> done() {
        return keepAlive.done();
    }

    /** Whether the lease is surely still this session's: kept alive, and within a TTL of the last keepalive answered. */
    public boolean alive() {
        return keepAlive.alive();
    }

    /** The failure that says a session is lost, for the calls that find it so. */
    RaftKvException lost(String doing) {
        return new RaftKvException(RaftKvException.Kind.REJECTED, ErrorCode.LEASE_NOT_FOUND, doing + ": the session's lease "
                + CtlPrinter.leaseId(leaseId) + " has ended (expired, revoked, or the session was closed)");
    }

    /** Takes {@code name} for a key of this session; false when it has one there already. */
    boolean reserve(byte[] name) {
        return names.add(ByteBuffer.wrap(name.clone()));
    }

    /** Gives {@code name} back once this session's key there is surely gone. */
    void release(byte[] name) {
        names.remove(ByteBuffer.wrap(name));
    }

    /**
     * Stops the keepalives and revokes the lease: every key of the session (its locks, its candidacies) is deleted in
     * one revision. A lease already gone is no error. A revoke that fails throws; the lease then ends a TTL after its
     * last keepalive.
     */
    @Override
    public void close() {
        keepAlive.close();
        try {
            client.revoke(leaseId);
        } catch (RaftKvException e) {
            if (e.errorCode() != ErrorCode.LEASE_NOT_FOUND) throw e;
        }
    }
}
