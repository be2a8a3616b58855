package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Leader election among the clients that name it: etcd's {@code concurrency.Election}. Candidates queue exactly as a
 * {@link Mutex}'s holders do (the key {@code NAME/LEASE} attached to the session's lease, its value the candidate's
 * proposal; the oldest key leads; each candidate watches only the one before it), so the leader is the candidate
 * whose key has the lowest create revision, and that revision is its term's fencing token. Anyone may ask who leads
 * ({@link #leader}) or follow the leaders as they come ({@link #observe}), session or not.
 *
 * <p>A leader leads until it resigns, or until its session's lease ends (closed, died, cut off for longer than its
 * TTL): its key is then deleted and the next candidate leads. {@link #proclaim} changes the leader's value, only while
 * its key is still the one it campaigned with.
 */
public final class Election {

    private final LeaseSession session;
    private final byte[] name;
    /** The key this session campaigned with and leads by, null when it does not lead. */
    private volatile QueuedKey leading;
    private volatile long revision;

    public Election(LeaseSession session, byte[] name) {
        if (name.length == 0) throw new IllegalArgumentException("an election needs a name");
        this.session = session;
        this.name = name.clone();
    }

    public Election(LeaseSession session, String name) {
        this(session, name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Stands with {@code value} and waits until elected, however long that takes: until then, the thread is interrupted
     * (InterruptedException) or the session ends (RaftKvException, LEASE_NOT_FOUND); either way out, the candidacy is
     * withdrawn.
     */
    public void campaign(byte[] value) throws InterruptedException {
        if (!campaign(value, QueuedKey.NO_DEADLINE)) throw new IllegalStateException("a campaign without a deadline ended without one");
    }

    /** As {@link #campaign(byte[])}, for at most {@code waitMax}: false when it passed first (the candidacy withdrawn). */
    public boolean campaign(byte[] value, Duration waitMax) throws InterruptedException {
        return campaign(value, QueuedKey.deadlineAfter(waitMax));
    }

    private boolean campaign(byte[] value, long deadlineNanos) throws InterruptedException {
        if (leading != null) throw new IllegalStateException("this election already leads: proclaim or resign");
        QueuedKey q = QueuedKey.join(session, name, value, deadlineNanos);
        if (q == null) return false;
        long at = 0;
        try {
            at = q.awaitHead(deadlineNanos);
        } finally {
            if (at == 0) q.abandon();
        }
        if (at == 0) return false;
        revision = at;
        leading = q;
        return true;
    }

    /**
     * Sets the leader's value to {@code value}, if this session still leads with the key it campaigned with (a compare
     * on its create revision). Not leading any more (the session's lease ended) throws RaftKvException, REJECTED, and
     * this election no longer leads.
     */
    public void proclaim(byte[] value) {
        QueuedKey q = leading();
        TxnRequest putIfStillLeading = new TxnRequest(List.of(Compare.createRevision(q.key(), Compare.Result.EQUAL, q.createRevision())),
                List.of(new TxnOp.Put(q.key(), value, false, session.leaseId())), List.of());
        ClientResponse.TxnResult r = session.client().txn(putIfStillLeading);
        if (!r.succeeded()) {
            leading = null;
            q.abandon();
            throw new RaftKvException(RaftKvException.Kind.REJECTED, "not the leader of '" + new String(name, StandardCharsets.UTF_8)
                    + "' any more: its key " + new String(q.key(), StandardCharsets.UTF_8) + " is gone (the session's lease ended)");
        }
    }

    /**
     * Steps down: deletes the leader's key if it is still this one; the next candidate leads. True when it was (this
     * session led until now), false when it was gone already.
     */
    public boolean resign() {
        QueuedKey q = leading();
        leading = null;
        return q.leave();
    }

    private QueuedKey leading() {
        QueuedKey q = leading;
        if (q == null) throw new IllegalStateException("this election does not lead: campaign first");
        return q;
    }

    /** Whether this session won its campaign and has not resigned (its lease may still have ended since). */
    public boolean isLeader() {
        return leading != null;
    }

    /** The leader's key, {@code NAME/LEASE}, while this session leads. */
    public byte[] key() {
        return leading().key();
    }

    /** The leader key's create revision, its term's fencing token, while this session leads. */
    public long fencingToken() {
        return leading().createRevision();
    }

    /** The revision of the read that found this session elected. */
    public long revision() {
        leading();
        return revision;
    }

    public LeaseSession session() {
        return session;
    }

    /** The leader of {@code name} now (its key, value and revisions), empty when no one stands. Linearizable. */
    public static Optional<KeyValue> leader(RaftKvClient client, byte[] name) {
        RangeRequest first = RangeRequest.prefix(QueuedKey.prefixOf(name)).sortedBy(RangeRequest.SortTarget.CREATE, RangeRequest.SortOrder.ASCEND).withLimit(1);
        return client.range(first).kvs().stream().findFirst();
    }

    public static Optional<KeyValue> leader(RaftKvClient client, String name) {
        return leader(client, name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Tells {@code listener} the leader of {@code name} now (if any), then every new leader and every new value of the
     * leader, in the store's order, none skipped: a watch of the leader's key, and at its delete a read as of that
     * revision for the next one. Follows node failures as watches do. Ends when the returned Watcher is closed.
     */
    public static Watcher observe(RaftKvClient client, byte[] name, LeaderListener listener) {
        return ElectionObserver.start(client, QueuedKey.prefixOf(name), listener);
    }

    public static Watcher observe(RaftKvClient client, String name, LeaderListener listener) {
        return observe(client, name.getBytes(StandardCharsets.UTF_8), listener);
    }
}
