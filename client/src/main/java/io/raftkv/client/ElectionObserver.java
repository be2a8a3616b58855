package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * Follows an election's leaders ({@link Election#observe}) in two steps that take turns, never both at once: a read
 * of the oldest key under the prefix as of a revision (the leader then), and a watch from the revision after it. With
 * a leader, the watch is of the leader's key alone: a PUT is a new value (a proclaim), the DELETE ends its term, and the
 * next read is as of the delete's revision, so the next leader is exactly the one who led after it (none skipped, even
 * if it came and went at once). With no leader, the watch is of the prefix's PUTs: the first one starts a read as of
 * its revision. A read whose revision was compacted meanwhile reads now instead (the leaders in between are lost to
 * compaction, as a watch's events would be).
 *
 * <p>Listener calls are made one at a time, under the observer's lock, from the watch thread or a client thread. The
 * observer never holds its lock while it opens or closes a watch (that may wait for the client's watch thread, which
 * may be waiting for the lock to hand on an event).
 */
final class ElectionObserver implements Watcher {

    /** A pause before a read no node could serve is asked again. */
    private static final long RETRY_MS = 200;

    private final RaftKvClient client;
    private final byte[] prefix;
    private final LeaderListener listener;
    private final Object lock = new Object();
    /** The step now: a callback of a step that was replaced (or of a closed observer) does nothing. */
    private long step;
    private boolean closed;
    private Watcher watch;
    /** The last leader handed to the listener. */
    private KeyValue reported;
    private volatile long revision;

    private ElectionObserver(RaftKvClient client, byte[] prefix, LeaderListener listener) {
        this.client = client;
        this.prefix = prefix.clone();
        this.listener = listener;
    }

    static ElectionObserver start(RaftKvClient client, byte[] prefix, LeaderListener listener) {
        ElectionObserver o = new ElectionObserver(client, prefix, listener);
        o.read(0);
        return o;
    }

    /** Every leader up to this revision has been handed to the listener. */
    @Override
    public long revision() {
        return revision;
    }

    // ------------------------------------------------------------------ the two steps

    /** Reads the leader as of {@code at} (0: now), then watches from the revision after. */
    private void read(long at) {
        long mine;
        Watcher old;
        synchronized (lock) {
            if (closed) return;
            mine = ++step;
            old = watch;
            watch = null;
        }
        if (old != null) old.close();
        RangeRequest first = RangeRequest.prefix(prefix).sortedBy(RangeRequest.SortTarget.CREATE, RangeRequest.SortOrder.ASCEND)
                .withLimit(1).atRevision(at);
        client.rangeAsync(first).whenComplete((r, e) -> {
            if (r != null) {
                readDone(mine, at == 0 ? r.header().revision() : at, r);
                return;
            }
            synchronized (lock) {
                if (mine != step || closed) return;
            }
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RaftKvException k && k.errorCode() == ErrorCode.COMPACTED) read(0);
            else if (client.isClosed()) end("the client was closed");
            else CompletableFuture.delayedExecutor(RETRY_MS, TimeUnit.MILLISECONDS).execute(() -> retry(mine, at));
        });
    }

    private void retry(long from, long at) {
        synchronized (lock) {
            if (from != step || closed) return;
        }
        read(at);
    }

    /** The leader as of {@code at} is known: tells it, and watches from {@code at + 1}. */
    private void readDone(long mine, long at, ClientResponse.RangeResult r) {
        KeyValue leader;
        synchronized (lock) {
            if (mine != step || closed) return;
            revision = Math.max(revision, at);
            leader = r.kvs().isEmpty() ? null : r.kvs().get(0);
            if (leader != null) report(leader);
        }
        // With a leader, its key: PUTs are new values, the DELETE ends its term. Without, the first PUT under the prefix.
        WatchRequest request = leader != null ? WatchRequest.key(0, leader.key()).fromRevision(at + 1)
                : WatchRequest.prefix(0, prefix).fromRevision(at + 1).withFilters(false, true);
        Watcher w;
        try {
            w = client.watch(request, new StepListener(mine, leader != null));
        } catch (RaftKvException e) {
            end(e.getMessage()); // the client is closed
            return;
        }
        boolean current;
        synchronized (lock) {
            current = mine == step && !closed;
            if (current) watch = w;
        }
        if (!current) w.close();
    }

    /** The watch of one step. */
    private final class StepListener implements WatchListener {
        private final long mine;
        private final boolean ofLeader;

        StepListener(long mine, boolean ofLeader) {
            this.mine = mine;
            this.ofLeader = ofLeader;
        }

        @Override
        public void onEvents(WatchResponse response) {
            long readAt = 0;
            synchronized (lock) {
                if (mine != step || closed) return;
                if (!ofLeader && !response.isProgressNotify()) {
                    readAt = response.events().get(0).revision(); // the first PUT under an empty prefix: who leads then?
                } else {
                    for (WatchEvent e : response.events()) {
                        if (e.type() == WatchEvent.Type.DELETE) {
                            readAt = e.revision(); // the term ended: who leads after it?
                            break;
                        }
                        report(e.kv());
                    }
                }
                if (readAt == 0) revision = Math.max(revision, response.revision());
            }
            if (readAt != 0) read(readAt);
        }

        @Override
        public void onCanceled(long compactRevision, String reason) {
            synchronized (lock) {
                if (mine != step || closed) return;
            }
            if (compactRevision > 0) read(0);
            else end(reason);
        }
    }

    /** Tells the listener {@code leader} unless it is the one it was told last (called under the lock). */
    private void report(KeyValue leader) {
        KeyValue last = reported;
        if (last != null && Arrays.equals(last.key(), leader.key()) && last.createRevision() == leader.createRevision()
                && last.modRevision() == leader.modRevision()) {
            return;
        }
        reported = leader;
        listener.onLeader(leader);
    }

    private void end(String reason) {
        Watcher old;
        synchronized (lock) {
            if (closed) return;
            closed = true;
            step++;
            old = watch;
            watch = null;
            listener.onEnded(reason);
        }
        if (old != null) old.close();
    }

    @Override
    public void close() {
        Watcher old;
        synchronized (lock) {
            closed = true;
            step++;
            old = watch;
            watch = null;
        }
        if (old != null) old.close();
    }
}
