package io.raftkv.client;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * A lock shared by every client that names it: etcd's {@code concurrency.Mutex}. Holders queue by revision: lock() puts
 * the session's key {@code NAME/LEASE} (attached to the session's lease) and holds the lock once its key is the oldest
 * under {@code NAME/}; until then it waits for the delete of the key just before its own, and only that one (no
 * thundering herd; {@link QueuedKey} has the details). The lock is released by {@link HeldLock#unlock()}, or by the end of
 * the session's lease (the holder closed its session, died, or was cut off for longer than the TTL).
 *
 * <p>What the holder gets is a {@link HeldLock}: the key and its create revision, the <em>fencing token</em>. Holders get
 * ever larger tokens, so a resource that remembers the largest token it has seen and refuses smaller ones is safe from a
 * holder that lost its lock without knowing it (a pause longer than the TTL): docs/architecture.md, "Locks and elections".
 *
 * <p>A Mutex is a name and a session; each lock() uses the session's key under the name, so one session holds a lock at
 * most once (a second lock() while it holds or waits is refused: {@link LeaseSession}). Threads that compete for a
 * lock need sessions of their own; they may share one client.
 */
public final class Mutex {

    private static final byte[] NO_VALUE = new byte[0];

    private final LeaseSession session;
    private final byte[] name;
    /** The key of the latest lock() or tryLock(): tests read its wakeups and what it watches. */
    private volatile QueuedKey latest;

    public Mutex(LeaseSession session, byte[] name) {
        if (name.length == 0) throw new IllegalArgumentException("a lock needs a name");
        this.session = session;
        this.name = name.clone();
    }

    public Mutex(LeaseSession session, String name) {
        this(session, name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Waits until this session holds the lock, however long that takes: until it does, the thread is interrupted
     * (InterruptedException), or the session ends (RaftKvException, LEASE_NOT_FOUND). Either way out, its key is
     * removed from the queue.
     */
    public HeldLock lock() throws InterruptedException {
        return acquire(QueuedKey.NO_DEADLINE).orElseThrow();
    }

    /** As {@link #lock()}, for at most {@code waitMax}: empty when it passed first (the key removed from the queue). */
    public Optional<HeldLock> lock(Duration waitMax) throws InterruptedException {
        return acquire(QueuedKey.deadlineAfter(waitMax));
    }

    /**
     * Takes the lock if no one holds it or waits for it (etcd's TryLock): empty, with its key removed again, when another
     * session's key is ahead. Does not wait for anyone, though it waits for the cluster (within the client's deadline).
     */
    public Optional<HeldLock> tryLock() throws InterruptedException {
        QueuedKey q = QueuedKey.join(session, name, NO_VALUE, QueuedKey.deadlineAfter(session.client().deadline()));
        if (q == null) return Optional.empty();
        latest = q;
        long revision = 0;
        try {
            revision = q.headRevision();
        } finally {
            if (revision == 0) q.abandon();
        }
        return Optional.ofNullable(revision == 0 ? null : new HeldLock(q, revision));
    }

    private Optional<HeldLock> acquire(long deadlineNanos) throws InterruptedException {
        QueuedKey q = QueuedKey.join(session, name, NO_VALUE, deadlineNanos);
        if (q == null) return Optional.empty();
        latest = q;
        long revision = 0;
        try {
            revision = q.awaitHead(deadlineNanos);
        } finally {
            if (revision == 0) q.abandon();
        }
        return Optional.ofNullable(revision == 0 ? null : new HeldLock(q, revision));
    }

    public byte[] name() {
        return name.clone();
    }

    public LeaseSession session() {
        return session;
    }

    /** Test hook: the key of the latest lock() or tryLock(), null before the first. */
    QueuedKey latest() {
        return latest;
    }
}
