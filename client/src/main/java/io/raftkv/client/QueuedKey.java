package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A session's key in the queue under a name: what etcd's Mutex and Election are made of. The key is
 * {@code NAME/LEASE} (the session's lease id in 16 hex digits), attached to the session's lease; its create revision
 * is its place in the queue. The key with the lowest create revision under {@code NAME/} is the head: the holder of the
 * lock, the leader. A key that is not the head waits for the delete of its predecessor only, the key with the largest
 * create revision below its own, and then looks again (its predecessor may have left the queue while an older key
 * still holds it): releasing the head wakes one waiter, not all of them.
 *
 * <p>Nothing here can be fooled by a key that comes back: a key created again gets a new create revision, behind every
 * waiter. Every change of the queue is a compare on the key's create revision (put only if absent, delete only if it is
 * still this one), so a write retried after a lost answer never does twice what it meant once.
 */
final class QueuedKey {

    /**
     * Keys read per look at the queue (keys only, oldest first). A waiter further back than this watches the last key of
     * the page instead of its predecessor: with more waiters than this, releasing can wake all of those beyond it.
     */
    static final int PAGE_KEYS_MAX = 1_000;
    /**
     * A waiter looks at the queue again when its watch brought nothing for this long: a watch served by a node cut off
     * from the majority, or paused, reports nothing until the node is back, and the read goes to the leader. One read per
     * waiter per period.
     */
    static final long RECHECK_MS = 2_000;
    /** A pause before a request no node could serve is sent again. */
    static final long RETRY_PAUSE_MS = 50;
    /** Waits for the deadline of a call are never shorter: below it a call has no time to be answered. */
    static final long CALL_MS_MIN = 1;
    /** No deadline: wait until interrupted or the session ends. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    private final LeaseSession session;
    private final byte[] name;
    private final byte[] prefix;
    private final byte[] key;
    private final long createRevision;
    /** Test hook: how many times the delete this key watched for woke it (rechecks not counted). */
    private final AtomicInteger wakeups = new AtomicInteger();
    /** Test hook: the key this one watches now, null when it does not wait. */
    private volatile byte[] watching;

    private QueuedKey(LeaseSession session, byte[] name, byte[] key, long createRevision) {
        this.session = session;
        this.name = name;
        this.prefix = prefixOf(name);
        this.key = key;
        this.createRevision = createRevision;
    }

    /** {@code NAME/}: the keys of a lock's or election's queue. */
    static byte[] prefixOf(byte[] name) {
        byte[] p = Arrays.copyOf(name, name.length + 1);
        p[name.length] = '/';
        return p;
    }

    /** {@code NAME/LEASE}: the session's key in the queue. */
    static byte[] keyOf(byte[] name, long leaseId) {
        byte[] p = prefixOf(name);
        byte[] suffix = CtlPrinter.leaseId(leaseId).getBytes(StandardCharsets.US_ASCII);
        byte[] k = Arrays.copyOf(p, p.length + suffix.length);
        System.arraycopy(suffix, 0, k, p.length, suffix.length);
        return k;
    }

    byte[] key() {
        return key.clone();
    }

    long createRevision() {
        return createRevision;
    }

    LeaseSession session() {
        return session;
    }

    int wakeups() {
        return wakeups.get();
    }

    byte[] watching() {
        return watching;
    }

    // ------------------------------------------------------------------ joining

    /**
     * Puts the session's key under {@code name} with {@code value}, unless it is there already (a put whose answer was
     * lost and that was applied: then that key is the one). Null when the deadline passed first (no key left behind).
     * Throws IllegalStateException when the session has a key under the name already, RaftKvException when the cluster
     * refused (LEASE_NOT_FOUND: the session is lost).
     */
    static QueuedKey join(LeaseSession session, byte[] name, byte[] value, long deadlineNanos) throws InterruptedException {
        if (name.length == 0) throw new IllegalArgumentException("a lock or election needs a name");
        if (!session.reserve(name)) {
            throw new IllegalStateException("session " + CtlPrinter.leaseId(session.leaseId()) + " has a key under '"
                    + new String(name, StandardCharsets.UTF_8) + "' already (held, waiting, or its release not yet confirmed)");
        }
        byte[] key = keyOf(name, session.leaseId());
        TxnRequest putIfAbsent = new TxnRequest(List.of(Compare.createRevision(key, Compare.Result.EQUAL, 0)),
                List.of(new TxnOp.Put(key, value, false, session.leaseId())), List.of(new TxnOp.Range(RangeRequest.key(key))));
        boolean mayExist = false;
        QueuedKey joined = null;
        try {
            while (true) {
                if (session.done().isDone()) throw session.lost("cannot queue under '" + new String(name, StandardCharsets.UTF_8) + "'");
                RaftKvClient client = clientWithin(session, deadlineNanos);
                if (client == null) return null;
                try {
                    ClientResponse.TxnResult r = client.txn(putIfAbsent);
                    long created = r.succeeded() ? r.header().revision()
                            : ((OpResult.Range) r.results().get(0)).kvs().get(0).createRevision();
                    joined = new QueuedKey(session, name, key, created);
                    return joined;
                } catch (RaftKvException e) {
                    if (e.kind() == RaftKvException.Kind.OUTCOME_UNKNOWN) mayExist = true;
                    if (Thread.interrupted()) throw new InterruptedException("interrupted while queueing");
                    if (e.kind() == RaftKvException.Kind.REJECTED) throw e;
                    // Not applied, or maybe applied: the compare makes the next try find the key if it is there.
                }
                pause(deadlineNanos);
            }
        } finally {
            if (joined == null) {
                if (mayExist) removeQuietly(session, name, deleteIf(key, 0));
                else session.release(name);
            }
        }
    }

    // ------------------------------------------------------------------ waiting

    /** The queue as one read saw it, from this key's point of view. */
    private record Look(long revision, boolean head, byte[] predecessor) {
        boolean gone() {
            return !head && predecessor == null;
        }
    }

    /** The revision of a read that finds this key at the head now, 0 when another key is ahead (one read). */
    long headRevision() {
        Look look = look(session.client());
        if (look.gone()) throw keyGone();
        return look.head() ? look.revision() : 0;
    }

    /**
     * Waits until this key is the head. Returns the revision of the read that found it there (etcdctl's ETCD_LOCK_REV),
     * or 0 when the deadline passed first. Throws RaftKvException when the session is lost or the key is gone (the lease
     * ended, or someone deleted it), InterruptedException when interrupted. The key stays in the queue either way: the
     * caller decides ({@link #leave}).
     */
    long awaitHead(long deadlineNanos) throws InterruptedException {
        while (true) {
            if (Thread.interrupted()) throw new InterruptedException("interrupted while waiting in the queue");
            if (session.done().isDone()) throw session.lost("stopped waiting under '" + new String(name, StandardCharsets.UTF_8) + "'");
            RaftKvClient client = clientWithin(session, deadlineNanos);
            if (client == null) return 0;
            Look look;
            try {
                look = look(client);
            } catch (RaftKvException e) {
                if (Thread.interrupted()) throw new InterruptedException("interrupted while waiting in the queue");
                if (e.kind() == RaftKvException.Kind.REJECTED) throw e;
                pause(deadlineNanos);
                continue;
            }
            if (look.head()) return look.revision();
            if (look.gone()) throw keyGone();
            awaitDelete(look.predecessor(), look.revision(), deadlineNanos);
        }
    }

    /**
     * Waits for the delete of {@code predecessor} after revision {@code seenAt} (the watch starts right after the read
     * that saw it, so a delete in between is not missed), for at most a recheck period, the deadline, or until the
     * session ends.
     */
    private void awaitDelete(byte[] predecessor, long seenAt, long deadlineNanos) throws InterruptedException {
        CompletableFuture<Boolean> woken = new CompletableFuture<>();
        WatchRequest request = WatchRequest.key(0, predecessor).fromRevision(seenAt + 1).withFilters(true, false);
        watching = predecessor;
        try (Watcher ignored = session.client().watch(request, new WatchListener() {
            @Override
            public void onEvents(WatchResponse response) {
                for (WatchEvent e : response.events()) if (e.type() == WatchEvent.Type.DELETE) woken.complete(true);
            }

            @Override
            public void onCanceled(long compactRevision, String reason) {
                woken.complete(false); // look again: a new watch starts from a new read
            }
        })) {
            long waitMs = Math.min(RECHECK_MS, remainingMs(deadlineNanos));
            try {
                NodeConnection.sendHeld();
                CompletableFuture.anyOf(woken, session.done()).get(Math.max(0, waitMs), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // A recheck, the deadline, or the session ended: the caller's loop tells which.
            }
            if (woken.getNow(false)) wakeups.incrementAndGet();
        } finally {
            watching = null;
        }
    }

    /** One read of the queue's first page (keys only, oldest first). */
    private Look look(RaftKvClient client) {
        RangeRequest page = RangeRequest.prefix(prefix).sortedBy(RangeRequest.SortTarget.CREATE, RangeRequest.SortOrder.ASCEND)
                .withLimit(PAGE_KEYS_MAX).keysOnly(true);
        ClientResponse.RangeResult r = client.range(page);
        List<KeyValue> kvs = r.kvs();
        long at = r.header().revision();
        for (int i = 0; i < kvs.size(); i++) {
            KeyValue kv = kvs.get(i);
            if (kv.createRevision() == createRevision && Arrays.equals(kv.key(), key)) {
                return i == 0 ? new Look(at, true, null) : new Look(at, false, kvs.get(i - 1).key());
            }
        }
        // Not on the first page: behind it (wait for its last key), or gone.
        return r.more() && !kvs.isEmpty() ? new Look(at, false, kvs.get(kvs.size() - 1).key()) : new Look(at, false, null);
    }

    private RaftKvException keyGone() {
        return session.lost("the key " + new String(key, StandardCharsets.UTF_8) + " (create revision " + createRevision
                + ") is gone: its session's lease ended, or it was deleted");
    }

    // ------------------------------------------------------------------ leaving

    /**
     * Deletes this key if it is still this one (the same create revision). True when it was there, false when it was
     * gone already (the session's lease ended: others may have had the head since). A failure throws, and the delete
     * goes on in the background until it is done or the session ends.
     */
    boolean leave() {
        TxnRequest delete = deleteIf(key, createRevision);
        boolean there;
        try {
            there = session.client().txn(delete).succeeded();
        } catch (RaftKvException e) {
            removeQuietly(session, name, delete);
            throw e;
        }
        session.release(name);
        return there;
    }

    /** {@link #leave} for a key given up (a deadline, an interrupt, an error): failures are left to the background. */
    void abandon() {
        boolean interrupted = Thread.interrupted();
        try {
            leave();
        } catch (RaftKvException e) {
            // removeQuietly goes on with it.
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Deletes {@code key} if its create revision is {@code createRevision} (0: whatever it is). */
    private static TxnRequest deleteIf(byte[] key, long createRevision) {
        List<Compare> compares = createRevision == 0 ? List.of() : List.of(Compare.createRevision(key, Compare.Result.EQUAL, createRevision));
        return new TxnRequest(compares, List.of(new TxnOp.DeleteRange(key, new byte[0], false)), List.of());
    }

    /**
     * Sends {@code delete} until it is answered, then gives the name back: a key left in the queue by a holder that gave
     * up would be handed the lock later, and hold it until its session ends. Bounded by the session: once it has ended,
     * its lease takes the key.
     */
    private static void removeQuietly(LeaseSession session, byte[] name, TxnRequest delete) {
        if (session.done().isDone()) {
            session.release(name);
            return;
        }
        session.client().txnAsync(delete).whenComplete((r, e) -> {
            if (r != null) {
                session.release(name);
                return;
            }
            CompletableFuture.delayedExecutor(RECHECK_MS / 4, TimeUnit.MILLISECONDS).execute(() -> removeQuietly(session, name, delete));
        });
    }

    // ------------------------------------------------------------------ deadlines

    static long deadlineAfter(Duration wait) {
        long nanos;
        try {
            nanos = wait.toNanos();
        } catch (ArithmeticException tooLong) {
            return NO_DEADLINE;
        }
        long now = System.nanoTime();
        return nanos >= NO_DEADLINE - now ? NO_DEADLINE : now + nanos;
    }

    private static long remainingMs(long deadlineNanos) {
        if (deadlineNanos == NO_DEADLINE) return Long.MAX_VALUE;
        return TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    }

    /** The session's client with a deadline that ends by {@code deadlineNanos}; null when too little time is left. */
    private static RaftKvClient clientWithin(LeaseSession session, long deadlineNanos) {
        RaftKvClient client = session.client();
        long left = remainingMs(deadlineNanos);
        if (left < CALL_MS_MIN) return null;
        return left >= client.deadline().toMillis() ? client : client.withDeadline(Duration.ofMillis(left));
    }

    /** A short pause before trying again, within the deadline; interruptible. */
    private static void pause(long deadlineNanos) throws InterruptedException {
        long ms = Math.min(RETRY_PAUSE_MS, Math.max(0, remainingMs(deadlineNanos)));
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ms));
        if (Thread.interrupted()) throw new InterruptedException("interrupted while waiting to try again");
    }
}
