package io.raftkv.sim;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.server.ClientRequests;
import io.raftkv.server.Watches;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Watches in the simulation (issue 12's proof). Every node life runs the real {@link Watches} hub, wired as
 * {@code server.Node} wires it (the state machine's change listener, ticked with the core); this class is what
 * surrounds it on a real node and beyond:
 * <ul>
 *   <li>{@link Connection}: a client connection to one node life, as {@code InboundConnections} gives the hub one
 *       ({@code handle}, {@code closed} when the connection dies, {@code drained} when its queue empties), which also
 *       carries ordinary reads. Frames travel in order both ways with delays of 1-10 ms, encoded and decoded by the
 *       real codec; the node's side queues what its socket has not taken, and closes the connection when that passes
 *       its bound (as {@code Connection.send}), four times the hub's backlog (as {@code NodeOptions}). A reader that
 *       stalls for a while keeps the queue above the backlog, so the catch-up from history runs; the answers to reads
 *       on the connection can overflow it. A crash of the node breaks its connections; a cut (a partition of the node,
 *       or one of the watch faults) loses what is on the wire, and each side learns of it on its own, later.</li>
 *   <li>{@link Client}: watches the way {@code client.ClientWatches} does: all of a client's watches on one connection
 *       to a random node, each frame's header revision + 1 remembered as the revision it needs next, fragments
 *       joined, and after losing the connection every watch opened again on another random node from that revision,
 *       with a doubling back-off. A WATCH_CANCELED with COMPACTED ends the watch; the client then opens a new one,
 *       from the revision after the compaction point or from now.</li>
 *   <li>A writer of multi-key transactions (puts and deletes of several {@code w} keys in one revision, values up to
 *       a few hundred bytes), so that revisions carry several events and large ones go in fragments; and now and then
 *       a compaction close behind the head, besides the auto compactor's.</li>
 * </ul>
 * {@link WatchChecker} checks every watch twice: as each node's hub sends it on each connection, and as the client
 * delivers it across connections and nodes; at the end, once the cluster converged, every watch must have caught up
 * and every hub must hold exactly the watches of its open connections. Randomness comes from a generator of its own,
 * from the seed.
 */
final class SimWatchers {

    /** What the simulation's watches did, for the record of a run. */
    record Counts(long watches, long resumes, long deliveries, long events, long fragments, long historyFrames, long progressFrames,
                  long compacted, long compactedAfterEvents, long canceledByClient, long stalls, long overflows, long cuts, long nodeDeaths,
                  long snapshotsWithWatches, long progressWentBack, long writes, long compactions, long rangeReads) {

        static final Counts NONE = new Counts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        Counts plus(Counts o) {
            return new Counts(watches + o.watches, resumes + o.resumes, deliveries + o.deliveries, events + o.events, fragments + o.fragments,
                    historyFrames + o.historyFrames, progressFrames + o.progressFrames, compacted + o.compacted,
                    compactedAfterEvents + o.compactedAfterEvents, canceledByClient + o.canceledByClient, stalls + o.stalls, overflows + o.overflows,
                    cuts + o.cuts, nodeDeaths + o.nodeDeaths, snapshotsWithWatches + o.snapshotsWithWatches, progressWentBack + o.progressWentBack,
                    writes + o.writes, compactions + o.compactions, rangeReads + o.rangeReads);
        }
    }

    static final int CLIENTS = 3;
    static final int WATCHES_PER_CLIENT_MAX = 4;
    /** The client library's back-off between connection attempts (100 ms to 2 s there), scaled to the simulation's faults. */
    static final long RECONNECT_MS_MIN = 5;
    static final long RECONNECT_MS_MAX = 200;
    /** How long a client takes to notice a cut connection (the library: 30 s of silence; here, before compaction passes it). */
    static final long CUT_NOTICED_MS_MAX = 300;
    static final long STALL_MS_MAX = 600;
    static final String WRITER_PREFIX = "w";
    static final int WRITER_KEYS = 4;
    static final int WRITER_VALUE_BYTES_MAX = 180;
    /** A writer's key and value with its previous ones, in a frame of its own (NodeOptions.watchEventFrameBytesMax). */
    static final long LARGEST_EVENT_FRAME_BYTES = 2L * (2 + WRITER_VALUE_BYTES_MAX) + 256;

    private final Simulation sim;
    private final SimEvents events;
    private final List<SimNode> nodes;
    private final Random random;
    private final WatchChecker checker;
    private final InjectedWatcherBug bug;
    final Watches.Limits limits;
    /** The node's bound on a client connection's queue ({@code clientOutboundBytesMax}): past it, the connection closes. */
    private final long outboundBytesMax;
    private final List<Client> clients = new ArrayList<>();
    private final List<Connection> open = new ArrayList<>();
    /** The heal: no more faults or writes, and the watches are left to catch up. */
    private boolean stopped;
    private long connectionIds;
    private long writerSeq;
    private int writerHint;

    private long watches, resumes, fragments, historyFrames, progressFrames, compacted, compactedAfterEvents, canceledByClient, stalls,
            overflows, cuts, nodeDeaths, writes, compactions, rangeReads;
    long snapshotsWithWatches;
    private long deliveries, delivered, wentBack;

    SimWatchers(Simulation sim, SimEvents events, List<SimNode> nodes, long seed, WatchChecker checker, InjectedWatcherBug bug) {
        this.sim = sim;
        this.events = events;
        this.nodes = nodes;
        this.random = new Random(seed * 0x9E3779B97F4A7C15L + 12);
        this.checker = checker;
        this.bug = bug;
        long backlog = new long[]{256, 512, 4096}[random.nextInt(3)];
        this.limits = new Watches.Limits(64, 8, backlog, Math.min(backlog, new long[]{128, 512}[random.nextInt(2)]),
                new long[]{1, 4, 256}[random.nextInt(3)], new long[]{50, 300}[random.nextInt(2)]);
        // The node's own relation (NodeOptions.watchLimits and validate): the backlog is a quarter of the bound, and the rest holds
        // the largest event frame. Only the answers to ordinary requests on the connection can overflow it.
        this.outboundBytesMax = 4 * backlog;
        if (backlog + LARGEST_EVENT_FRAME_BYTES > outboundBytesMax) throw new IllegalStateException("a node would refuse these limits");
        for (int c = 1; c <= CLIENTS; c++) clients.add(new Client(c));
    }

    String describe() {
        return "watch limits " + limits + ", outbound " + outboundBytesMax + " bytes";
    }

    /** Starts the watching clients, the writer and the watch faults. */
    void start() {
        for (Client c : clients) {
            int n = 1 + random.nextInt(2);
            for (int i = 0; i < n; i++) events.after(random.nextInt(500), "watch client" + c.id + " opens a watch", () -> c.watch(newRequest()));
        }
        events.after(random.nextInt(100), "watch writer", this::write);
        events.after(100 + random.nextInt(500), "watch faults", this::faults);
    }

    /** The node's hub and the client connections it serves, for one life of the node. */
    Served served(SimNode n, Watches hub) {
        return new Served(n, hub);
    }

    /** The heal: faults and writes stop; watches go on. */
    void stopFaults() {
        stopped = true;
        for (Connection c : open) c.stalledUntilMs = 0;
    }

    /** The nemesis cut {@code ids} off: their client connections break too, half of them. */
    void partitioned(List<Integer> ids) {
        for (Connection c : new ArrayList<>(open)) if (ids.contains(c.node.id) && random.nextBoolean()) c.cut("partition");
    }

    Counts counts() {
        return new Counts(watches, resumes, deliveries, delivered, fragments, historyFrames, progressFrames, compacted, compactedAfterEvents,
                canceledByClient, stalls, overflows, cuts, nodeDeaths, snapshotsWithWatches, wentBack, writes, compactions, rangeReads);
    }

    /** Every watch still open has delivered every committed revision (the events up to it, or progress). */
    boolean caughtUp() {
        for (Client c : clients) for (Watch w : c.watches.values()) if (!w.stream.started() || w.stream.checkedUpTo < checker.revision()) return false;
        return true;
    }

    /** Fails the run with the watches that did not catch up after the heal. */
    void checkCaughtUp(long waitedMs) {
        List<String> behind = new ArrayList<>();
        for (Client c : clients) {
            for (Watch w : c.watches.values()) {
                if (w.stream.started() && w.stream.checkedUpTo >= checker.revision()) continue;
                behind.add(w.stream.name + " " + w.request + " delivered up to " + w.stream.checkedUpTo + ", next " + w.nextRev + ", on "
                        + (c.connection == null ? "no connection" : "n" + c.connection.node.id + " (at revision " + c.connection.node.kv().revision()
                        + ", queued " + c.connection.queuedBytes + " bytes)"));
            }
        }
        if (!behind.isEmpty()) {
            throw new SimulationFailure(waitedMs + " ms after the cluster converged at revision " + checker.revision() + ", watches are still behind: " + behind);
        }
        // No watch outlives its connection or its cancel: each hub holds exactly the watches its open connections opened.
        for (SimNode n : nodes) {
            if (!n.up) continue;
            Served served = n.life.watches();
            int opened = 0;
            for (Connection c : served.connections) opened += c.sent.size();
            if (served.hub.size() != opened) {
                throw new SimulationFailure("n" + n.id + "'s hub holds " + served.hub.size() + " watches, but its open connections have " + opened
                        + ": watches left behind by a closed connection or a cancel");
            }
        }
        for (Client c : clients) for (Watch w : c.watches.values()) account(w);
    }

    private void account(Watch w) {
        deliveries += w.stream.deliveries;
        delivered += w.stream.events;
        wentBack += w.stream.wentBack;
    }

    // ------------------------------------------------------------------ the node's side

    /** One node life's hub, and the connections it serves: a crash breaks them. */
    final class Served {
        final SimNode node;
        final Watches hub;
        final List<Connection> connections = new ArrayList<>();

        Served(SimNode node, Watches hub) {
            this.node = node;
            this.hub = hub;
        }

        /** The node crashed: its connections break, and the hub with them. */
        void died() {
            for (Connection c : new ArrayList<>(connections)) {
                nodeDeaths++;
                c.nodeDied();
            }
        }
    }

    /** What a node's hub sent one watch on one connection: checked as a stream of its own. */
    private static final class Sent {
        final WatchChecker.Stream stream;
        final List<WatchEvent> fragments = new ArrayList<>();

        Sent(WatchChecker.Stream stream) {
            this.stream = stream;
        }
    }

    private record Label(String text, Object detail) {
        @Override
        public String toString() {
            return text + " " + detail;
        }
    }

    /**
     * A client's connection to one node life: the hub's {@link Watches.Channel} on the node's side, frames in order
     * both ways. {@link #queuedBytes} are those the node queued and its socket has not taken: all of them at the end
     * of the turn, unless the client's reader stalls.
     */
    final class Connection implements Watches.Channel {
        final long id = ++connectionIds;
        final Client client;
        final SimNode node;
        final Served served;
        /** The node's hub may send on it: false once the node closed it, noticed it was cut, or died. */
        private boolean openAtNode = true;
        /** The hub was told it closed: a send after that is a bug of the hub. */
        private boolean hubToldClosed;
        /** Cut: what is on the wire now, and what is sent later, is lost. */
        private boolean cut;
        private final ArrayDeque<ClientResponse> queue = new ArrayDeque<>();
        long queuedBytes;
        private boolean flushScheduled;
        long stalledUntilMs;
        private long toNodeLastMs;
        private long toClientLastMs;
        private final Map<Long, Sent> sent = new HashMap<>();

        Connection(Client client, SimNode node) {
            this.client = client;
            this.node = node;
            this.served = node.life.watches();
            served.connections.add(this);
            open.add(this);
        }

        @Override
        public boolean send(ClientResponse frame) {
            if (hubToldClosed) SafetyChecker.fail("n" + node.id + "'s hub sent " + frame + " on connection " + id + " after it was told the connection closed");
            if (!openAtNode) return false;
            if (!enqueue(frame)) return false;
            observe(frame);
            return true;
        }

        @Override
        public long queuedBytes() {
            return queuedBytes;
        }

        /** Queues a frame on the node's side, as {@code Connection.send}: false, and closed, past the bound. */
        private boolean enqueue(ClientResponse frame) {
            ByteBuffer b = ClientCodec.response(frame);
            int bytes = b.remaining();
            if (queuedBytes + bytes > outboundBytesMax) {
                overflows++;
                events.note("WATCH connection " + id + " to n" + node.id + " closed: outbound queue over " + outboundBytesMax + " bytes");
                closeAtNode();
                return false;
            }
            b.getInt();
            byte type = b.get();
            queue.add(ClientCodec.decodeResponse(type, b.slice()));
            queuedBytes += bytes;
            scheduleFlush();
            return true;
        }

        private void scheduleFlush() {
            if (flushScheduled) return;
            flushScheduled = true;
            events.after(Math.max(0, stalledUntilMs - events.nowMs()), new Label("flush connection", id), this::flush);
        }

        /** The socket takes what was queued (unless the reader stalls), and the hub hears the connection drained. */
        private void flush() {
            flushScheduled = false;
            if (!openAtNode) return;
            if (events.nowMs() < stalledUntilMs) {
                scheduleFlush();
                return;
            }
            while (!queue.isEmpty()) toClient(queue.poll());
            queuedBytes = 0;
            served.hub.drained(this);
        }

        private long delayMs() {
            return 1 + random.nextInt(10);
        }

        private void toClient(ClientResponse frame) {
            long at = Math.max(toClientLastMs, events.nowMs() + delayMs());
            toClientLastMs = at;
            events.after(at - events.nowMs(), new Label("WATCH n" + node.id + " -> client" + client.id, frame), () -> {
                if (!cut) client.received(this, frame);
            });
        }

        /** A request from the client, in order, encoded and decoded as on the wire. */
        void toNode(ClientRequest r) {
            ByteBuffer b = ClientCodec.request(r);
            b.getInt();
            byte type = b.get();
            ClientRequest decoded = ClientCodec.decodeRequest(type, b.slice());
            long at = Math.max(toNodeLastMs, events.nowMs() + delayMs());
            toNodeLastMs = at;
            events.after(at - events.nowMs(), new Label("WATCH client" + client.id + " -> n" + node.id, decoded), () -> {
                if (!cut && openAtNode) handle(decoded);
            });
        }

        /** What {@code InboundConnections.route} does with a request: watches to the hub, the rest to the request table. */
        private void handle(ClientRequest r) {
            if (!Watches.handles(r)) {
                // An ordinary request next to the watches: its answer does not wait for the backlog, and may overflow the queue.
                node.life.requests().handle(response -> {
                    if (openAtNode) enqueue(response);
                }, r);
                sim.process(node);
                return;
            }
            served.hub.handle(this, r, response -> {
                observeAnswer(r, response);
                if (openAtNode) enqueue(response);
            });
        }

        /** The hub answered a create or a cancel: the stream of what it sends this watch starts, or ends. */
        private void observeAnswer(ClientRequest r, ClientResponse response) {
            if (!(response instanceof ClientResponse.Ok ok)) {
                // A cancel crossing the node's own COMPACTED cancel finds no watch: the client ignores that answer.
                boolean canceledBefore = r instanceof ClientRequest.WatchCancel c && !sent.containsKey(c.watchId());
                if (!canceledBefore) SafetyChecker.fail("n" + node.id + " refused the well-formed " + r + ": " + response);
                return;
            }
            if (r instanceof ClientRequest.WatchCreate create) {
                WatchRequest w = create.watch();
                WatchChecker.Stream s = checker.stream("n" + node.id + " (life " + node.lives + ") sending watch " + w.watchId() + " of client"
                        + client.id + " on connection " + id, w);
                if (!s.started()) s.start(ok.header().revision() + 1);
                sent.put(w.watchId(), new Sent(s));
            } else {
                Sent s = sent.remove(((ClientRequest.WatchCancel) r).watchId());
                if (s != null) s.stream.closed();
            }
        }

        /** Checks what the hub sends, as it sends it: this node's events for this watch, joined by fragments. */
        private void observe(ClientResponse frame) {
            if (frame instanceof ClientResponse.WatchEvents we) {
                Sent s = sent.get(we.watchId());
                if (s == null) SafetyChecker.fail("n" + node.id + " sent events to watch " + we.watchId() + " on connection " + id + ", which has no such watch open");
                s.fragments.addAll(we.events());
                if (we.fragment()) {
                    fragments++;
                    return;
                }
                long upTo = we.header().revision();
                if (we.events().isEmpty()) progressFrames++;
                else if (upTo < node.kv().revision()) historyFrames++;
                List<WatchEvent> whole = List.copyOf(s.fragments);
                s.fragments.clear();
                s.stream.delivered(upTo, whole);
            } else if (frame instanceof ClientResponse.WatchCanceled c) {
                Sent s = sent.remove(c.watchId());
                if (s == null) SafetyChecker.fail("n" + node.id + " canceled watch " + c.watchId() + " on connection " + id + ", which has no such watch open");
                if (c.code() != ErrorCode.COMPACTED) SafetyChecker.fail("n" + node.id + " canceled watch " + c.watchId() + " with code " + c.code() + ": " + c.reason());
                s.stream.canceled(c.compactRevision());
            }
        }

        /** The node's side closes (its queue overflowed), as {@code Connection.close} tells {@code InboundConnections}: the hub drops its watches. */
        private void closeAtNode() {
            if (!openAtNode) return;
            dropAtNode();
            hubToldClosed = true;
            served.hub.closed(this);
            closedToClient();
        }

        /** The node died: nothing is told to its hub, which died with it. */
        void nodeDied() {
            if (!openAtNode) return;
            dropAtNode();
            closedToClient();
        }

        private void dropAtNode() {
            openAtNode = false;
            queue.clear();
            queuedBytes = 0;
            served.connections.remove(this);
            open.remove(this);
            for (Sent s : sent.values()) s.stream.closed();
            sent.clear();
        }

        /** The client reads the end of the connection after what was on the wire. */
        private void closedToClient() {
            long at = Math.max(toClientLastMs, events.nowMs() + delayMs());
            events.after(at - events.nowMs(), new Label("WATCH connection closed to client" + client.id, id), () -> client.lost(this));
        }

        /** A cut between the client and the node: each side learns of it on its own, later; what is on the wire is lost. */
        void cut(String why) {
            if (cut) return;
            cut = true;
            cuts++;
            events.note("WATCH cut connection " + id + " of client" + client.id + " to n" + node.id + " (" + why + ")");
            events.after(10 + random.nextInt((int) CUT_NOTICED_MS_MAX), new Label("WATCH client notices the cut of connection", id), () -> client.lost(this));
            noticedAtNode(random.nextInt((int) CUT_NOTICED_MS_MAX));
        }

        /** The client gave the connection up: nothing more reaches it, and the node hears it closed a little later. */
        void closedByClient() {
            cut = true;
            noticedAtNode(delayMs());
        }

        private void noticedAtNode(long delayMs) {
            events.after(delayMs, new Label("WATCH n" + node.id + " notices the end of connection", id), () -> {
                if (!openAtNode) return;
                dropAtNode();
                hubToldClosed = true;
                served.hub.closed(this);
            });
        }
    }

    // ------------------------------------------------------------------ the client's side

    /** One watch of a client, as {@code ClientWatches.Watch}. */
    private static final class Watch {
        final long id;
        final WatchRequest request;
        final WatchChecker.Stream stream;
        /** The next revision owed: where a resume starts (0 until the node said where the watch begins). */
        long nextRev;
        final List<WatchEvent> fragments = new ArrayList<>();
        boolean ended;
        /** Created on a connection before: a create now is a resume. */
        boolean createdBefore;

        Watch(long id, WatchRequest request, WatchChecker.Stream stream) {
            this.id = id;
            this.request = request;
            this.stream = stream;
            this.nextRev = request.startRevision();
        }
    }

    /** A client's watches on one connection, resumed on another node when it is lost: {@code ClientWatches}' logic, on simulated time. */
    final class Client {
        final int id;
        final Map<Long, Watch> watches = new LinkedHashMap<>();
        /** The create requests in flight on the current connection, by request id. */
        private final Map<Long, Watch> creating = new HashMap<>();
        Connection connection;
        private long reconnectMs = RECONNECT_MS_MIN;
        private boolean checkScheduled;
        private long watchIds;
        private long requestIds;

        Client(int id) {
            this.id = id;
        }

        void watch(WatchRequest request) {
            Watch w = new Watch(++watchIds, request, checker.stream("watch client" + id + "." + (watchIds), request));
            watches.put(w.id, w);
            SimWatchers.this.watches++;
            if (connection != null) create(w);
            else check();
        }

        /** Connects when there are watches and no connection: to a random node of the cluster's life (one down refuses). */
        private void check() {
            if (connection != null || watches.isEmpty() || checkScheduled) return;
            SimNode target = randomRunningNode();
            if (target == null || !target.up) {
                retryElsewhere();
                return;
            }
            connection = new Connection(this, target);
            creating.clear();
            for (Watch w : new ArrayList<>(watches.values())) create(w);
        }

        private void retryElsewhere() {
            checkScheduled = true;
            events.after(reconnectMs, "watch client" + id + " reconnects", () -> {
                checkScheduled = false;
                check();
            });
            reconnectMs = Math.min(RECONNECT_MS_MAX, reconnectMs * 2);
        }

        private void create(Watch w) {
            long from = w.nextRev;
            if (w.createdBefore && from > 0) {
                resumes++;
                if (bug == InjectedWatcherBug.RESUMES_ONE_REVISION_LATE) from++;
                if (bug == InjectedWatcherBug.RESUMES_FROM_LAST_DELIVERED && from > 1) w.nextRev = --from;
            }
            w.createdBefore = true;
            long requestId = ++requestIds;
            creating.put(requestId, w);
            connection.toNode(new ClientRequest.WatchCreate(requestId, w.request.withId(w.id).fromRevision(from).withProgressNotify(true)));
        }

        void received(Connection c, ClientResponse frame) {
            if (c != connection) return; // a connection given up: its watches were created again elsewhere
            if (!(frame instanceof ClientResponse.WatchEvents || frame instanceof ClientResponse.WatchCanceled)) {
                Watch w = creating.remove(frame.requestId());
                if (w == null || w.ended) return; // the answer to a cancel or a read, or to a create of a watch ended since
                if (!(frame instanceof ClientResponse.Ok ok)) {
                    SafetyChecker.fail("n" + c.node.id + " refused client" + id + "'s watch " + w.request + ": " + frame);
                    return;
                }
                reconnectMs = RECONNECT_MS_MIN;
                if (w.nextRev == 0) {
                    w.nextRev = ok.header().revision() + 1;
                    w.stream.start(w.nextRev);
                }
                return;
            }
            if (frame instanceof ClientResponse.WatchCanceled canceled) {
                Watch w = watches.get(canceled.watchId());
                if (w != null) end(w, canceled);
                return;
            }
            ClientResponse.WatchEvents events = (ClientResponse.WatchEvents) frame;
            Watch w = watches.get(events.watchId());
            if (w == null) return;
            for (WatchEvent e : events.events()) if (e.revision() >= w.nextRev) w.fragments.add(e);
            if (events.fragment()) {
                if (bug != InjectedWatcherBug.DELIVERS_FRAGMENTS_UNJOINED) return;
            }
            long upTo = events.header().revision();
            if (upTo + 1 > w.nextRev) w.nextRev = upTo + 1;
            List<WatchEvent> whole = List.copyOf(w.fragments);
            w.fragments.clear();
            w.stream.delivered(upTo, whole);
        }

        void lost(Connection c) {
            if (c == null || c != connection) return;
            connection = null;
            creating.clear();
            // Half a fragmented revision is dropped: the resume sends the whole revision again.
            for (Watch w : watches.values()) w.fragments.clear();
            c.closedByClient();
            retryElsewhere();
        }

        /** The user closes a watch: as {@code ClientWatches.cancel}. */
        void cancel(Watch w) {
            if (w.ended) return;
            w.ended = true;
            watches.remove(w.id);
            w.stream.closed();
            account(w);
            canceledByClient++;
            if (connection != null) connection.toNode(new ClientRequest.WatchCancel(++requestIds, w.id));
        }

        /** COMPACTED: the watch ends; the client's user watches again from after the compaction point, or from now. */
        private void end(Watch w, ClientResponse.WatchCanceled canceled) {
            if (w.ended) return;
            w.ended = true;
            watches.remove(w.id);
            w.stream.canceled(canceled.compactRevision());
            account(w);
            compacted++;
            if (w.stream.events > 0) compactedAfterEvents++;
            if (stopped) return;
            WatchRequest again = w.request.fromRevision(random.nextBoolean() ? canceled.compactRevision() + 1 : 0);
            SimWatchers.this.events.after(random.nextInt(200), "watch client" + id + " watches again after a compaction", () -> watch(again));
        }
    }

    private SimNode randomRunningNode() {
        List<SimNode> running = new ArrayList<>();
        for (SimNode n : nodes) if (n.running()) running.add(n);
        return running.isEmpty() ? null : running.get(random.nextInt(running.size()));
    }

    /** A watch of one of the key sets the clients and the writer touch, with random options and start. */
    private WatchRequest newRequest() {
        byte[] none = new byte[0];
        byte[] fromKey = {0};
        WatchRequest r = switch (random.nextInt(6)) {
            case 0 -> WatchRequest.prefix(0, bytes(WRITER_PREFIX));
            case 1 -> WatchRequest.prefix(0, bytes(SimClient.KEY_PREFIX));
            case 2 -> new WatchRequest(0, fromKey, fromKey, 0, false, false, false, false); // every key
            case 3 -> new WatchRequest(0, bytes(SimClient.KEY_PREFIX + "1"), fromKey, 0, false, false, false, false); // from a key on
            case 4 -> WatchRequest.key(0, bytes(random.nextBoolean() ? WRITER_PREFIX + random.nextInt(WRITER_KEYS) : SimClient.KEY_PREFIX + random.nextInt(3)));
            default -> new WatchRequest(0, bytes(SimClient.KEY_PREFIX + "1"), bytes(WRITER_PREFIX + "2"), 0, false, false, false, false);
        };
        int filter = random.nextInt(10);
        r = r.withPrevKv(random.nextBoolean()).withFilters(filter == 0, filter == 1);
        int start = random.nextInt(10);
        long head = checker.revision();
        // From now (half), from a recent past revision (often compacted on some node already), or from a little ahead.
        if (start < 3 && head > 1) r = r.fromRevision(Math.max(1, head - random.nextInt(30)));
        else if (start == 3) r = r.fromRevision(head + 1 + random.nextInt(10));
        return r;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ the writer and the faults

    /** Multi-key transactions on the writer's keys, through the real request table of a random node (or the leader it named). */
    private void write() {
        if (stopped || sim.clientsStopped()) return;
        SimNode n = writerHint > 0 && writerHint <= nodes.size() && nodes.get(writerHint - 1).running() ? nodes.get(writerHint - 1) : randomRunningNode();
        long requestId = 900_000_000_000L + ++writerSeq;
        ClientRequest r;
        if (random.nextInt(20) == 0 && checker.revision() > 10) {
            // A compaction close behind the head: watches behind it are canceled, not left with a gap.
            r = new ClientRequest.Compact(requestId, checker.revision() - 2 - random.nextInt(8));
            compactions++;
        } else {
            r = new ClientRequest.Txn(requestId, new TxnRequest(List.of(), writerOps(), List.of()));
            writes++;
        }
        if (n != null && n.up) {
            n.life.requests().handle(writerAnswer(), r);
            sim.process(n);
        }
        events.after(20 + random.nextInt(130), "watch writer", this::write);
    }

    private ClientRequests.Channel writerAnswer() {
        return response -> {
            if (response instanceof ClientResponse.NotLeader nl) writerHint = nl.leaderId();
            else if (response instanceof ClientResponse.Error) writerHint = 0;
        };
    }

    private List<TxnOp> writerOps() {
        List<TxnOp> ops = new ArrayList<>();
        if (random.nextInt(7) == 0) {
            ops.add(new TxnOp.DeleteRange(bytes(WRITER_PREFIX), bytes("x"), false)); // every writer key, in one revision
            return ops;
        }
        List<Integer> keys = new ArrayList<>();
        for (int k = 0; k < WRITER_KEYS; k++) keys.add(k);
        Collections.shuffle(keys, random);
        int n = 1 + random.nextInt(WRITER_KEYS);
        for (int k : keys.subList(0, n)) {
            byte[] key = bytes(WRITER_PREFIX + k);
            if (random.nextInt(5) == 0) {
                ops.add(new TxnOp.DeleteRange(key, new byte[0], false));
            } else {
                byte[] value = new byte[1 + random.nextInt(WRITER_VALUE_BYTES_MAX)];
                random.nextBytes(value);
                ops.add(new TxnOp.Put(key, value, false));
            }
        }
        return ops;
    }

    /** The watches' own faults: cut connections, stalled readers, watches canceled and opened. */
    private void faults() {
        if (stopped) return;
        int dice = random.nextInt(100);
        Client client = clients.get(random.nextInt(clients.size()));
        Connection c = open.isEmpty() ? null : open.get(random.nextInt(open.size()));
        if (dice < 30) {
            if (c != null) c.cut("watch fault");
        } else if (dice < 65) {
            if (c != null) {
                long ms = 20 + random.nextInt((int) STALL_MS_MAX);
                stalls++;
                events.note("WATCH client" + c.client.id + " stops reading connection " + c.id + " to n" + c.node.id + " for " + ms + "ms");
                c.stalledUntilMs = events.nowMs() + ms;
                // A client whose reader is stuck may go on using the connection: reads, and new watches, on a filling queue.
                if (random.nextBoolean()) events.after(random.nextInt((int) ms), "watch client" + c.client.id + " reads", () -> read(c));
                if (random.nextBoolean() && c.client.watches.size() < WATCHES_PER_CLIENT_MAX) {
                    events.after(random.nextInt((int) ms), "watch client" + c.client.id + " opens a watch", () -> c.client.watch(newRequest()));
                }
            }
        } else if (dice < 75) {
            if (!client.watches.isEmpty()) {
                List<Watch> ws = new ArrayList<>(client.watches.values());
                client.cancel(ws.get(random.nextInt(ws.size())));
                client.watch(newRequest());
            }
        } else if (dice < 85) {
            if (client.watches.size() < WATCHES_PER_CLIENT_MAX) client.watch(newRequest());
        } else if (client.connection != null) {
            read(client.connection);
        }
        events.after(100 + random.nextInt(600), "watch faults", this::faults);
    }

    /** A serializable read on a watch connection (a key, the writer's keys, or every key): its answer is queued at once, whatever the backlog. */
    private void read(Connection c) {
        rangeReads++;
        RangeRequest r = switch (random.nextInt(3)) {
            case 0 -> RangeRequest.key(bytes(WRITER_PREFIX + random.nextInt(WRITER_KEYS)));
            case 1 -> RangeRequest.prefix(bytes(WRITER_PREFIX));
            default -> RangeRequest.prefix(new byte[0]);
        };
        c.toNode(new ClientRequest.Range(++c.client.requestIds, new RangeRequest(r.key(), r.rangeEnd(), 0, 0, RangeRequest.SortOrder.NONE,
                RangeRequest.SortTarget.KEY, true, false, false)));
    }

}
