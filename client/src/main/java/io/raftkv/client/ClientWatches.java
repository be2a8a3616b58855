package io.raftkv.client;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A client's watches: all on one connection to one node (any member serves watches), resumed on another when that
 * connection dies or goes silent, from the revision after the last one each watch delivered, so a listener sees every
 * event once, in order, across node changes. Events of a revision split over fragments are joined before delivery.
 *
 * <p>One thread owns every watch and calls the listeners, in order; everything else hands it tasks through a bounded
 * queue. The connection's reader blocks when the queue is full, so a slow listener slows the node's sending (which
 * then catches the watch up from its history) rather than filling the client's memory. Watches are opened with
 * progress notifications: a connection that brings nothing, not even those, for three of the node's intervals is dead
 * to the client (a silent partition), and the watches move.
 */
final class ClientWatches implements AutoCloseable {

    private static final int TASKS_MAX = 1024;
    private static final long CHECK_INTERVAL_MS = 1_000;
    /** The node sends progress to an idle watch every 10 s (docs/protocol.md): three of those unheard, the link is dead. */
    private static final long SILENCE_MS = 30_000;
    private static final long RECONNECT_MS_MIN = 100;
    private static final long RECONNECT_MS_MAX = 2_000;
    private static final int FRAME_BYTES_MAX = 8 << 20;
    private static final int CONNECT_TIMEOUT_MS = 1_000;

    private final class Watch implements Watcher {
        final long id;
        final WatchRequest request;
        final WatchListener listener;
        /** The next revision owed: where a resume starts (0 until the node said where the watch begins). */
        long nextRev;
        /** Delivered up to here (what {@link #revision()} says; read from any thread). */
        volatile long delivered;
        final List<WatchEvent> fragments = new ArrayList<>();
        boolean ended;

        Watch(long id, WatchRequest request, WatchListener listener) {
            this.id = id;
            this.request = request;
            this.listener = listener;
            this.nextRev = request.startRevision();
        }

        @Override
        public long revision() {
            return delivered;
        }

        @Override
        public void close() {
            run(() -> cancel(this));
        }
    }

    private final Supplier<List<InetSocketAddress>> endpoints;
    /** Who each connection authenticates as (the client's user), null for none. */
    private final Supplier<NodeConnection.Credentials> credentials;
    private final BlockingQueue<Runnable> tasks = new ArrayBlockingQueue<>(TASKS_MAX);
    private final Thread thread;
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong requestIds = new AtomicLong();
    private final Map<Long, Watch> watches = new HashMap<>();
    private NodeConnection connection;
    private long lastHeardNanos;
    private long reconnectAtNanos;
    private long reconnectMs = RECONNECT_MS_MIN;
    private int endpoint = ThreadLocalRandom.current().nextInt(1 << 16);
    private volatile boolean closed;

    /** Null for plaintext. */
    private final javax.net.ssl.SSLContext tls;

    ClientWatches(Supplier<List<InetSocketAddress>> endpoints, javax.net.ssl.SSLContext tls, Supplier<NodeConnection.Credentials> credentials) {
        this.endpoints = endpoints;
        this.tls = tls;
        this.credentials = credentials;
        this.thread = new Thread(this::loop, "raftkv-watch");
        thread.setDaemon(true);
        thread.start();
    }

    /** Opens a watch; events go to {@code listener}. {@code request}'s watch id is the client's to choose, and ignored. */
    Watcher watch(WatchRequest request, WatchListener listener) {
        if (closed) throw new RaftKvException(RaftKvException.Kind.REJECTED, "the client is closed");
        Watch w = new Watch(ids.incrementAndGet(), request, listener);
        run(() -> {
            watches.put(w.id, w);
            if (connection != null) create(w);
            else check();
        });
        return w;
    }

    // ------------------------------------------------------------------ the watch thread

    private void loop() {
        long nextCheck = System.nanoTime();
        while (!closed) {
            try {
                Runnable task = tasks.poll(Math.max(1, nextCheck - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (task != null) task.run();
                if (System.nanoTime() >= nextCheck) {
                    check();
                    nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MS);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A listener that throws must not stop every other watch.
                System.err.println("raftkv watch: a listener threw " + e);
            }
        }
    }

    /** Runs {@code task} on the watch thread (at once when called there: a listener may close its watch). */
    private void run(Runnable task) {
        if (!hand(task)) throw new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "interrupted while handing the watch thread a task");
    }

    /** Connects when there are watches and no connection; drops a connection that went silent. */
    private void check() {
        if (connection != null && System.nanoTime() - lastHeardNanos > TimeUnit.MILLISECONDS.toNanos(SILENCE_MS)) {
            lost(connection, "heard nothing from " + connection.address() + " for " + SILENCE_MS / 1000 + " s");
        }
        if (connection != null || watches.isEmpty() || System.nanoTime() < reconnectAtNanos) return;
        List<InetSocketAddress> nodes = endpoints.get();
        InetSocketAddress target = nodes.get(Math.floorMod(endpoint, nodes.size()));
        try {
            connection = NodeConnection.open(target, CONNECT_TIMEOUT_MS, FRAME_BYTES_MAX, TASKS_MAX, tls, new NodeConnection.Listener() {
                @Override
                public void watchFrame(NodeConnection c, ClientResponse frame) {
                    hand(() -> received(c, frame));
                }

                @Override
                public void closed(NodeConnection c, String reason) {
                    hand(() -> lost(c, reason));
                }
            }, credentials.get());
        } catch (IOException e) {
            retryElsewhere();
            return;
        }
        lastHeardNanos = System.nanoTime();
        for (Watch w : new ArrayList<>(watches.values())) create(w);
    }

    /**
     * Hands the watch thread a task from another thread, blocking while the queue is full: from the connection's reader,
     * that is how a slow listener slows the node rather than filling memory. On the watch thread, runs it at once.
     * False when interrupted while waiting (the task is dropped; the interrupt is kept).
     */
    private boolean hand(Runnable task) {
        if (Thread.currentThread() == thread) {
            task.run();
            return true;
        }
        try {
            tasks.put(task);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void retryElsewhere() {
        endpoint++;
        reconnectAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(reconnectMs);
        reconnectMs = Math.min(RECONNECT_MS_MAX, reconnectMs * 2);
    }

    private void create(Watch w) {
        NodeConnection c = connection;
        WatchRequest request = w.request.withId(w.id).fromRevision(w.nextRev).withProgressNotify(true);
        c.send(new ClientRequest.WatchCreate(requestIds.incrementAndGet(), request)).whenComplete((answer, failure) -> hand(() -> {
            if (c != connection || w.ended) return;
            if (failure != null) return; // the connection died: lost() resumes the watch
            lastHeardNanos = System.nanoTime();
            if (answer instanceof ClientResponse.Ok ok) {
                reconnectMs = RECONNECT_MS_MIN;
                if (w.nextRev == 0) w.nextRev = ok.header().revision() + 1;
            } else {
                end(w, 0, "the node refused the watch: " + answer);
            }
        }));
    }

    private void received(NodeConnection c, ClientResponse frame) {
        if (c != connection) return; // a connection given up: its watches were created again elsewhere
        lastHeardNanos = System.nanoTime();
        if (frame instanceof ClientResponse.WatchCanceled canceled) {
            Watch w = watches.get(canceled.watchId());
            if (w != null) end(w, canceled.compactRevision(), canceled.reason());
            return;
        }
        ClientResponse.WatchEvents events = (ClientResponse.WatchEvents) frame;
        Watch w = watches.get(events.watchId());
        if (w == null) return;
        for (WatchEvent e : events.events()) if (e.revision() >= w.nextRev) w.fragments.add(e);
        if (events.fragment()) return;
        long upTo = events.header().revision();
        if (upTo + 1 > w.nextRev) w.nextRev = upTo + 1;
        List<WatchEvent> whole = List.copyOf(w.fragments);
        w.fragments.clear();
        // A node behind the one before (after a resume) reports progress below what was delivered: nothing to say.
        if (whole.isEmpty() && (!w.request.progressNotify() || upTo <= w.delivered)) return;
        w.delivered = Math.max(w.delivered, upTo);
        w.listener.onEvents(new WatchResponse(upTo, whole));
    }

    private void lost(NodeConnection c, String reason) {
        if (c == null || c != connection) return;
        connection = null;
        c.close();
        // Half a fragmented revision is dropped: the resume sends the whole revision again.
        for (Watch w : watches.values()) w.fragments.clear();
        retryElsewhere();
    }

    private void cancel(Watch w) {
        if (w.ended) return;
        w.ended = true;
        watches.remove(w.id);
        if (connection != null) connection.send(new ClientRequest.WatchCancel(requestIds.incrementAndGet(), w.id));
    }

    private void end(Watch w, long compactRevision, String reason) {
        if (w.ended) return;
        w.ended = true;
        watches.remove(w.id);
        w.listener.onCanceled(compactRevision, reason);
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            run(() -> {
                for (Watch w : new ArrayList<>(watches.values())) end(w, 0, "the client was closed");
                if (connection != null) connection.close();
                connection = null;
                closed = true;
            });
        } catch (RaftKvException interrupted) {
            closed = true;
        }
        thread.interrupt();
    }
}
