package io.raftkv.server.metrics;

import io.raftkv.raft.Role;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything one node counts, and its Prometheus text (docs/metrics.md lists each metric). The threads that count
 * never wait for a reader: each counter and histogram has one writing thread, named below, and the state of the loop
 * that belongs together arrives whole every tick as a {@link LoopView}. The reader (the HTTP thread) only reads.
 */
public final class NodeMetrics {

    private final int nodeId;
    /** Where the WAL's segment files are: listed at each scrape, off every node thread. */
    private final Path walDir;

    private volatile LoopView view;

    // Written by the loop thread.
    private final Counter leaderChanges = new Counter();
    private final Counter connectionsRefused = new Counter();
    private final Counter snapshotsFailed = new Counter();
    private final Counter snapshotsInstalled = new Counter();
    private final RequestMetrics requests = new RequestMetrics();
    /** Added and removed by the loop; a concurrent map, so the reader may walk it meanwhile. */
    private final Map<Integer, PeerMetrics> peers = new ConcurrentHashMap<>();

    // Written by the WAL's thread.
    private final Histogram walSync = Histogram.latency();
    /** When the WAL thread took the writes it is working on; {@link #IDLE} while it waits for more. */
    private final AtomicLong walBusySinceNanos = new AtomicLong(IDLE);
    static final long IDLE = Long.MIN_VALUE;

    // Written by the snapshot thread.
    private final Histogram snapshotWrite = Histogram.slow();

    public NodeMetrics(int nodeId, Path walDir) {
        this.nodeId = nodeId;
        this.walDir = walDir;
    }

    // ------------------------------------------------------------------ the loop thread

    public void publish(LoopView v) {
        view = v;
    }

    public void leaderChanged() {
        leaderChanges.inc();
    }

    public void connectionRefused() {
        connectionsRefused.inc();
    }

    public void snapshotFailed() {
        snapshotsFailed.inc();
    }

    public void snapshotInstalled() {
        snapshotsInstalled.inc();
    }

    public RequestMetrics requests() {
        return requests;
    }

    /** The metrics of peer {@code id}, made on first use. */
    public PeerMetrics peer(int id) {
        return peers.computeIfAbsent(id, k -> new PeerMetrics());
    }

    /** The peer left the configuration: its series go. */
    public void forgetPeer(int id) {
        peers.remove(id);
    }

    // ------------------------------------------------------------------ the WAL's thread

    /** The WAL thread took writes at {@code nanos}: the disk is busy until {@link #walIdle()}. */
    public void walBusy(long nanos) {
        walBusySinceNanos.setOpaque(nanos == IDLE ? IDLE + 1 : nanos);
    }

    public void walIdle() {
        walBusySinceNanos.setOpaque(IDLE);
    }

    public void walSynced(long nanos) {
        walSync.observe(nanos);
    }

    // ------------------------------------------------------------------ the snapshot thread

    public void snapshotWritten(long nanos) {
        snapshotWrite.observe(nanos);
    }

    // ------------------------------------------------------------------ readers

    /** The loop's latest view; null before its first. */
    public LoopView view() {
        return view;
    }

    /** How long the WAL thread has been on its current writes, or -1 when it waits for some. */
    public long walBusyNanos(long nowNanos) {
        long since = walBusySinceNanos.getOpaque();
        return since == IDLE ? -1 : Math.max(0, nowNanos - since);
    }

    /** The Prometheus text of every metric. */
    public String render() {
        TextFormat out = new TextFormat();
        LoopView v = view;
        if (v != null) writeLoop(out, v);
        out.single("raftkv_leader_changes_seen_total", "counter", "Times this node saw a new leader (or a new term of one).", leaderChanges.get());
        out.single("raftkv_connections_refused_total", "counter",
                "Connections refused: over connectionsMax or the client share of it, or a HELLO this node does not take.", connectionsRefused.get());
        requests.writeTo(out);
        out.family("raftkv_wal_fsync_duration_seconds", "histogram", "The WAL's syncs (group commits), timed on its thread.");
        walSync.writeTo(out, "raftkv_wal_fsync_duration_seconds");
        writeWalFiles(out);
        out.family("raftkv_snapshot_save_duration_seconds", "histogram", "Snapshots written by this node, from start to durable file.");
        snapshotWrite.writeTo(out, "raftkv_snapshot_save_duration_seconds");
        out.single("raftkv_snapshot_save_failures_total", "counter", "Snapshots this node failed to write.", snapshotsFailed.get());
        out.single("raftkv_snapshot_installs_total", "counter", "Snapshots received from a leader and installed.", snapshotsInstalled.get());
        writePeers(out);
        JvmMetrics.writeTo(out);
        return out.text();
    }

    private void writeLoop(TextFormat out, LoopView v) {
        out.single("raftkv_node_id", "gauge", "This node's id.", nodeId);
        out.family("raftkv_role", "gauge", "1 for this node's Raft role, 0 for the others.");
        for (Role r : Role.values()) out.sample("raftkv_role", r == v.role() ? 1 : 0, "role", r.name().toLowerCase(java.util.Locale.ROOT));
        out.single("raftkv_is_leader", "gauge", "1 when this node leads.", v.role() == Role.LEADER ? 1 : 0);
        out.single("raftkv_has_leader", "gauge", "1 when this node knows a leader.", v.leader() != 0 ? 1 : 0);
        out.single("raftkv_leader_id", "gauge", "The leader this node knows, 0 for none.", v.leader());
        out.single("raftkv_term", "gauge", "The Raft term.", v.term());
        out.single("raftkv_commit_index", "gauge", "The highest log index this node knows committed.", v.commit());
        out.single("raftkv_applied_index", "gauge", "The highest log index applied to this node's store.", v.applied());
        out.single("raftkv_pending_requests", "gauge", "Client requests waiting for their commit or read barrier.", v.pendingRequests());
        out.single("raftkv_client_connections", "gauge", "Open client connections.", v.clientConnections());
        out.single("raftkv_connections", "gauge", "Open sockets of the node's loop: clients, peer links both ways, and those not yet past HELLO.",
                v.connections());
        out.single("raftkv_txns_held_total", "counter",
                "Transactions the leader held behind another in flight that writes a key whose revision they compare.", v.txnsHeld());
        out.single("raftkv_txns_held_answered_at_once_total", "counter",
                "Held transactions answered with the write they waited behind, without a read index round of their own.", v.txnsHeldAnsweredAtOnce());
    }

    /** Segment files and their bytes, from a directory listing: the WAL itself is its thread's alone. */
    private void writeWalFiles(TextFormat out) {
        long segments = 0;
        long bytes = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(walDir, "wal-*.log")) {
            for (Path f : files) {
                try {
                    bytes += Files.size(f);
                    segments++;
                } catch (NoSuchFileException released) {
                    // Released behind a snapshot while listed.
                }
            }
        } catch (IOException e) {
            return; // left out of this scrape
        }
        out.single("raftkv_wal_segments", "gauge", "WAL segment files on disk.", segments);
        out.single("raftkv_wal_bytes", "gauge", "Bytes of the WAL's segment files on disk.", bytes);
    }

    private void writePeers(TextFormat out) {
        Map<Integer, PeerMetrics> sorted = new TreeMap<>(peers);
        out.family("raftkv_peer_sent_bytes_total", "counter", "Frame bytes sent to a peer on the link this node dials.");
        sorted.forEach((id, p) -> out.sample("raftkv_peer_sent_bytes_total", p.sentBytes.get(), "peer", String.valueOf(id)));
        out.family("raftkv_peer_received_bytes_total", "counter", "Frame bytes received from a peer on the link it dials.");
        sorted.forEach((id, p) -> out.sample("raftkv_peer_received_bytes_total", p.receivedBytes.get(), "peer", String.valueOf(id)));
        out.family("raftkv_peer_round_trip_seconds", "histogram", "PEER_PING to PEER_PONG on the link this node dials, every heartbeat.");
        sorted.forEach((id, p) -> p.roundTrip.writeTo(out, "raftkv_peer_round_trip_seconds", "peer", String.valueOf(id)));
    }
}
