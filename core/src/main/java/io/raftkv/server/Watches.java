package io.raftkv.server;

import io.raftkv.kv.ChangeListener;
import io.raftkv.kv.MvccStore;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KvCodec;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The watches clients opened on this node (etcd's watchable store), served from the node's applied state: every node
 * sends a watch the same events in the same order, because every node applies the same log.
 *
 * <p>A watch owes its client every change of its range from {@code nextRev} on. It is <b>live</b> while it is up to
 * date: each applied revision's events ({@link #changed}) are matched against the live watches and sent at once. It
 * is <b>behind</b> when it started at a past revision, when its connection could not take more (its queue held over
 * {@code backlogBytesMax}), or when a snapshot replaced the store: then it is caught up from the store's history
 * ({@link MvccStore#changes}), a window of revisions at a time, whenever its connection drains and at every tick,
 * until it is live again. So a slow watcher never makes the node buffer more than about {@code backlogBytesMax} for
 * it: the history is its backlog. A watch whose next revision was compacted away is canceled with COMPACTED and the
 * compaction point, never left with a gap.
 *
 * <p>Frames: a revision's events go together, in key order; a revision too large for one frame goes in several, each
 * but the last marked {@code fragment}. Each frame's header revision R says that every event of the watch up to R
 * has been sent: how a client resumes elsewhere without a gap or a duplicate. Loop thread only.
 */
public final class Watches implements ChangeListener {

    /** Where one client connection's watch frames go. */
    public interface Channel {
        /** Queues the frame; false when the connection is closed. */
        boolean send(ClientResponse frame);

        /** Bytes queued on the connection and not yet taken by its socket. */
        long queuedBytes();
    }

    /**
     * {@code backlogBytesMax}: a watch sends no more while its connection holds this many bytes unsent;
     * {@code frameEventBytesMax}: the events one frame carries (a larger single event goes alone);
     * {@code catchUpKeysMax}: the keys of history reads that catch watches up may visit in one tick, or for one connection
     * that drained (a read of a window of revisions visits every key of the watch's range);
     * {@code progressIntervalMs}: a watch that asked for progress notifications and was sent nothing for this long is
     * told the revision it is up to.
     */
    public record Limits(int watchesMax, int watchesPerConnectionMax, long backlogBytesMax, long frameEventBytesMax, long catchUpKeysMax,
                  long progressIntervalMs) { }

    private final class Watch {
        final Channel channel;
        final WatchRequest request;
        /** Every event of a revision below this one is sent or in {@link #pending}. */
        long nextRev;
        /** Events of revisions below {@link #nextRev} not sent yet, in order, from {@link #pendingAt}. */
        List<WatchEvent> pending = List.of();
        int pendingAt;
        long lastSentMs;
        /** Revisions the next catch-up step reads: widened while steps find few events, narrowed when they find many. */
        long window = WINDOW_REVISIONS_MIN;
        boolean behind;
        /** Canceled, or its connection closed: sending it anything more is a bug. */
        boolean removed;

        Watch(Channel channel, WatchRequest request, long nextRev) {
            this.channel = channel;
            this.request = request;
            this.nextRev = nextRev;
        }

        boolean hasPending() {
            return pendingAt < pending.size();
        }
    }

    /** The first window of a catch-up; steps aim at this many events each. */
    private static final long WINDOW_REVISIONS_MIN = 256;
    private static final int EVENTS_PER_STEP = 1024;

    private final Supplier<MvccStore> store;
    private final int memberId;
    private final LongSupplier term;
    private final LongSupplier nowMs;
    private final Limits limits;
    private final Map<Channel, Map<Long, Watch>> byChannel = new HashMap<>();
    private final LinkedHashSet<Watch> live = new LinkedHashSet<>();
    private final ArrayDeque<Watch> behind = new ArrayDeque<>();
    private int count;

    /** {@code store}: the node's current store (a snapshot replaces it); {@code term}: the Raft term, for headers. */
    public Watches(Supplier<MvccStore> store, int memberId, LongSupplier term, LongSupplier nowMs, Limits limits) {
        this.store = store;
        this.memberId = memberId;
        this.term = term;
        this.nowMs = nowMs;
        this.limits = limits;
    }

    public int size() {
        return count;
    }

    /** True for the requests this class serves. */
    public static boolean handles(ClientRequest r) {
        return r instanceof ClientRequest.WatchCreate || r instanceof ClientRequest.WatchCancel;
    }

    /** Serves a WATCH_CREATE or WATCH_CANCEL from {@code channel}; the answer goes to {@code reply}. */
    public void handle(Channel channel, ClientRequest r, ClientRequests.Channel reply) {
        if (r instanceof ClientRequest.WatchCancel c) {
            Map<Long, Watch> mine = byChannel.get(channel);
            Watch w = mine == null ? null : mine.get(c.watchId());
            if (w == null) {
                reply.reply(new ClientResponse.Error(c.requestId(), ErrorCode.BAD_REQUEST, "no watch " + c.watchId() + " on this connection"));
                return;
            }
            remove(w);
            reply.reply(new ClientResponse.Ok(c.requestId(), header(store.get().revision())));
            return;
        }
        ClientRequest.WatchCreate create = (ClientRequest.WatchCreate) r;
        WatchRequest request = create.watch();
        String problem = problem(channel, request);
        if (problem != null) {
            int code = problem.startsWith("limit") ? ErrorCode.OVERLOADED : ErrorCode.BAD_REQUEST;
            reply.reply(new ClientResponse.Error(create.requestId(), code, problem.startsWith("limit") ? problem.substring(6) : problem));
            return;
        }
        long current = store.get().revision();
        Watch w = new Watch(channel, request, request.startRevision() > 0 ? request.startRevision() : current + 1);
        w.lastSentMs = nowMs.getAsLong();
        byChannel.computeIfAbsent(channel, k -> new HashMap<>()).put(request.watchId(), w);
        count++;
        // Registered before the answer: an answer that overflows the connection closes it, and closed() must find the watch.
        reply.reply(new ClientResponse.Ok(create.requestId(), header(current)));
        if (w.removed) return;
        if (w.nextRev <= current) {
            fallBehind(w);
            catchUp(List.of(w), limits.catchUpKeysMax());
        } else {
            live.add(w);
        }
    }

    private String problem(Channel channel, WatchRequest w) {
        if (w.key().length == 0) return "a watch needs a key (\"\\0\" with range end \"\\0\" watches every key)";
        byte[] end = w.rangeEnd();
        boolean fromKey = end.length == 1 && end[0] == 0;
        if (end.length > 0 && !fromKey && Arrays.compareUnsigned(end, w.key()) <= 0) {
            return "the range end " + io.raftkv.protocol.Frames.printable(end) + " is not after the key " + io.raftkv.protocol.Frames.printable(w.key())
                    + ": the range is empty";
        }
        if (w.startRevision() < 0) return "start revision " + w.startRevision() + " is negative (0: from the next revision)";
        if (w.noPut() && w.noDelete()) return "a watch that filters out both puts and deletes would never report anything";
        Map<Long, Watch> mine = byChannel.get(channel);
        if (mine != null && mine.containsKey(w.watchId())) return "watch id " + w.watchId() + " is in use on this connection";
        if (mine != null && mine.size() >= limits.watchesPerConnectionMax()) {
            return "limit:this connection has " + mine.size() + " watches, the limit (watchesPerConnectionMax)";
        }
        if (count >= limits.watchesMax()) return "limit:this node serves " + count + " watches, its limit (watchesMax)";
        return null;
    }

    /** The connection closed: its watches go. */
    public void closed(Channel channel) {
        Map<Long, Watch> mine = byChannel.remove(channel);
        if (mine == null) return;
        for (Watch w : mine.values()) {
            w.removed = true;
            live.remove(w);
            if (w.behind) behind.remove(w);
            count--;
        }
    }

    /** The connection took what was queued: its watches that fell behind go on. */
    public void drained(Channel channel) {
        Map<Long, Watch> mine = byChannel.get(channel);
        if (mine == null) return;
        long budget = limits.catchUpKeysMax();
        for (List<Watch> group : byRange(mine.values()).values()) {
            if (budget <= 0) return;
            budget = catchUp(group, budget);
        }
    }

    /** Every tick: a step for each watch behind, and progress for the watches that asked. */
    public void tick() {
        long budget = limits.catchUpKeysMax();
        List<Watch> served = new ArrayList<>();
        for (List<Watch> group : byRange(new ArrayList<>(behind)).values()) {
            if (budget <= 0) break;
            budget = catchUp(group, budget);
            served.addAll(group);
        }
        // Those served and still behind (a full connection, more history) go to the back of the queue: in turn, next tick.
        for (Watch w : served) {
            if (w.behind && behind.remove(w)) behind.addLast(w);
        }
        long now = nowMs.getAsLong();
        long current = store.get().revision();
        // Over a copy: a send that overflows a connection closes it, and its watches leave the set.
        for (Watch w : live.toArray(new Watch[0])) {
            if (w.removed || !w.request.progressNotify() || now - w.lastSentMs < limits.progressIntervalMs()) continue;
            if (w.channel.queuedBytes() > limits.backlogBytesMax()) continue;
            send(w, List.of(), false, Math.min(current, w.nextRev - 1));
        }
    }

    // ------------------------------------------------------------------ changes

    @Override
    public boolean listening() {
        return !live.isEmpty();
    }

    @Override
    public void changed(long revision, List<WatchEvent> events) {
        // Over a copy: a send that overflows a connection closes it, and its watches leave the set.
        for (Watch w : live.toArray(new Watch[0])) {
            if (w.removed || w.nextRev > revision) continue; // gone, or starts at a later revision
            if (w.nextRev < revision) {
                // A revision it was not told of (none is, while a watch is live): its history has it.
                fallBehind(w);
                continue;
            }
            w.nextRev = revision + 1;
            List<WatchEvent> mine = select(w, events, revision);
            if (mine.isEmpty()) continue;
            w.pending = mine;
            w.pendingAt = 0;
            if (!sendPending(w) && !w.removed) fallBehind(w);
        }
    }

    @Override
    public void replaced() {
        // The revisions in between came in the snapshot, not as changes: every watch is caught up from its history.
        long current = store.get().revision();
        for (Iterator<Watch> it = live.iterator(); it.hasNext(); ) {
            Watch w = it.next();
            if (w.nextRev > current) continue;
            it.remove();
            w.behind = true;
            behind.addLast(w);
        }
    }

    // ------------------------------------------------------------------ sending

    /** Moves {@code w} from the live set to the queue of watches behind. */
    private void fallBehind(Watch w) {
        live.remove(w);
        if (!w.behind) {
            w.behind = true;
            behind.addLast(w);
        }
    }

    /** The watches behind among {@code watches}, grouped by range, in their order: a group shares each history read. */
    private static Map<List<ByteBuffer>, List<Watch>> byRange(java.util.Collection<Watch> watches) {
        Map<List<ByteBuffer>, List<Watch>> groups = new LinkedHashMap<>();
        for (Watch w : watches) {
            if (!w.behind || w.removed) continue;
            List<ByteBuffer> range = List.of(ByteBuffer.wrap(w.request.key()), ByteBuffer.wrap(w.request.rangeEnd()));
            groups.computeIfAbsent(range, k -> new ArrayList<>()).add(w);
        }
        return groups;
    }

    /**
     * Sends what the watches of {@code group} (all behind, all on one range) owe, as far as their connections take it:
     * pending events, then windows of history, until each is up to date (live again), its connection is full, or its
     * next revision turns out compacted (canceled), or the history reads have visited {@code budget} keys; returns
     * what is left of the budget. One read of a window serves every watch of the group that is ready for it (etcd
     * catches its unsynced watchers up as a group too): a thousand watches of one prefix that fell behind together cost
     * one read per window, not a thousand. And no turn of the loop stalls on watches far behind on a large range: they
     * go on at the next tick or drain.
     */
    private long catchUp(List<Watch> group, long budget) {
        MvccStore s = store.get();
        List<Watch> open = group;
        while (true) {
            long current = s.revision();
            List<Watch> ready = new ArrayList<>(open.size());
            long from = Long.MAX_VALUE;
            long window = Long.MAX_VALUE;
            for (Watch w : open) {
                if (w.removed || !w.behind || !sendPending(w) || w.removed) continue;
                if (w.nextRev > current) {
                    behind.remove(w);
                    w.behind = false;
                    live.add(w);
                } else if (w.nextRev <= s.compactRevision()) {
                    cancel(w, s.compactRevision());
                } else {
                    ready.add(w);
                    from = Math.min(from, w.nextRev);
                    window = Math.min(window, w.window);
                }
            }
            if (ready.isEmpty() || budget <= 0) return budget;
            WatchRequest range = ready.get(0).request;
            long to = Math.min(current, from + window - 1);
            MvccStore.Changes changes = s.changes(range.key(), range.rangeEnd(), from, to);
            budget -= changes.keysVisited() + 1;
            int found = changes.events().size();
            for (Watch w : ready) {
                if (found < EVENTS_PER_STEP / 4) w.window = Math.min(w.window * 2, Long.MAX_VALUE / 4);
                else if (found > EVENTS_PER_STEP * 4) w.window = Math.max(1, w.window / 2);
                if (w.nextRev > to) continue; // ahead of this window: the next one
                List<WatchEvent> events = select(w, changes.events(), w.nextRev);
                w.nextRev = to + 1;
                w.pending = events;
                w.pendingAt = 0;
                if (events.isEmpty() && w.nextRev > current) {
                    // Nothing in the range up to now: tell the client how far it is, so it resumes from there.
                    send(w, List.of(), false, current);
                }
            }
            open = ready;
        }
    }

    /** Sends pending events in frames while the connection takes them; true when none is left. */
    private boolean sendPending(Watch w) {
        while (w.hasPending()) {
            if (w.channel.queuedBytes() > limits.backlogBytesMax()) return false;
            int from = w.pendingAt;
            int to = from;
            long bytes = 0;
            while (to < w.pending.size()) {
                long b = KvCodec.watchEventBytes(w.pending.get(to));
                if (to > from && bytes + b > limits.frameEventBytesMax()) break;
                bytes += b;
                to++;
            }
            List<WatchEvent> frame = w.pending.subList(from, to);
            long lastRev = frame.get(frame.size() - 1).revision();
            boolean done = to == w.pending.size();
            boolean fragment = !done && w.pending.get(to).revision() == lastRev;
            long upTo = done ? w.nextRev - 1 : fragment ? lastRev - 1 : lastRev;
            w.pendingAt = to;
            if (done) w.pending = List.of();
            if (!send(w, frame, fragment, upTo)) return false;
        }
        return true;
    }

    /** False when the connection is closed (its watches are then gone, or go when it tells us). */
    private boolean send(Watch w, List<WatchEvent> events, boolean fragment, long upTo) {
        w.lastSentMs = nowMs.getAsLong();
        return !w.removed && w.channel.send(new ClientResponse.WatchEvents(w.request.watchId(), header(upTo), fragment, events)) && !w.removed;
    }

    private void cancel(Watch w, long compactRevision) {
        remove(w);
        w.channel.send(new ClientResponse.WatchCanceled(w.request.watchId(), compactRevision, ErrorCode.COMPACTED,
                "revision " + w.nextRev + " has been compacted: the compact revision is " + compactRevision
                        + "; watch again from " + (compactRevision + 1) + " or later"));
    }

    private void remove(Watch w) {
        w.removed = true;
        Map<Long, Watch> mine = byChannel.get(w.channel);
        if (mine != null && mine.remove(w.request.watchId()) != null) {
            count--;
            if (mine.isEmpty()) byChannel.remove(w.channel);
        }
        live.remove(w);
        if (w.behind) behind.remove(w);
        w.behind = false;
    }

    /**
     * The events of {@code events} from revision {@code fromRev} on, in the watch's range, that its filters keep, without
     * prev_kv unless it asked.
     */
    private static List<WatchEvent> select(Watch w, List<WatchEvent> events, long fromRev) {
        WatchRequest r = w.request;
        List<WatchEvent> mine = null;
        for (WatchEvent e : events) {
            if (e.revision() < fromRev || !inRange(r, e.kv().key())) continue;
            if (e.type() == WatchEvent.Type.PUT ? r.noPut() : r.noDelete()) continue;
            if (mine == null) mine = new ArrayList<>(Math.min(events.size(), 8));
            mine.add(r.prevKv() ? e : e.withoutPrevKv());
        }
        return mine == null ? List.of() : mine;
    }

    static boolean inRange(WatchRequest r, byte[] key) {
        byte[] end = r.rangeEnd();
        int fromStart = Arrays.compareUnsigned(key, r.key());
        if (end.length == 0) return fromStart == 0;
        if (fromStart < 0) return false;
        if (end.length == 1 && end[0] == 0) return true;
        return Arrays.compareUnsigned(key, end) < 0;
    }

    private ResponseHeader header(long revision) {
        return new ResponseHeader(revision, memberId, term.getAsLong());
    }
}
