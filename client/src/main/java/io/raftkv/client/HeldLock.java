package io.raftkv.client;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A lock this session holds ({@link Mutex#lock()}): its key, the key's create revision (the fencing token) and the
 * revision at which the lock was found held. Held until {@link #unlock()} (or close()), or until the session's lease
 * ends; {@link LeaseSession#done()} and {@link LeaseSession#alive()} tell a holder that it may have lost it.
 */
public final class HeldLock implements AutoCloseable {

    private final QueuedKey queued;
    private final long revision;
    private final AtomicBoolean released = new AtomicBoolean();

    HeldLock(QueuedKey queued, long revision) {
        this.queued = queued;
        this.revision = revision;
    }

    /** {@code NAME/LEASE}: the key that holds the lock (etcdctl's ETCD_LOCK_KEY). */
    public byte[] key() {
        return queued.key();
    }

    public String keyString() {
        return new String(queued.key(), StandardCharsets.UTF_8);
    }

    /**
     * The key's create revision: larger for every later holder of the lock, so a resource that refuses a token below the
     * largest it has seen refuses the writes of a holder that lost the lock to a later one.
     */
    public long fencingToken() {
        return queued.createRevision();
    }

    /** The revision of the read that found the lock held (etcdctl's ETCD_LOCK_REV): at or after the fencing token. */
    public long revision() {
        return revision;
    }

    public LeaseSession session() {
        return queued.session();
    }

    /**
     * Releases the lock: deletes its key if it is still this one. True when it was (held to this moment), false when it
     * was gone already (the session's lease ended, and the lock may have had other holders since) or this lock was
     * released before. A failure to reach the cluster throws RaftKvException; the delete then goes on in the
     * background until done or until the session ends.
     */
    public boolean unlock() {
        if (!released.compareAndSet(false, true)) return false;
        return queued.leave();
    }

    /** {@link #unlock()}. */
    @Override
    public void close() {
        unlock();
    }

    @Override
    public String toString() {
        return "HeldLock[" + keyString() + " token " + fencingToken() + " at " + revision + "]";
    }
}
