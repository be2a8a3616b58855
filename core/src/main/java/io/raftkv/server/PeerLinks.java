package io.raftkv.server;

import io.raftkv.net.EventLoop;
import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.Message;
import io.raftkv.raft.SnapshotId;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.metrics.NodeMetrics;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The replica's transport on a real network: one {@link PeerLink} dialled to each member of the configuration the
 * node knows, on the node's loop. A member added gets a link, one removed loses it.
 */
final class PeerLinks implements ReplicaDriver.Transport {

    private final EventLoop loop;
    private final Map<Integer, PeerLink> links = new HashMap<>();
    /** Where every message is encoded before its link copies it out: one array for all of them, not one each. */
    private final BodyWriter scratch = new BodyWriter(64 * 1024);
    private final long clusterId;
    private final int selfId;
    private final Log log;
    private final Snapshots snapshots;
    private final int snapshotChunkBytesMax;
    private final Runnable removed;
    private final PeerLink.Timing timing;
    /** Null without TLS. */
    private final NodeTls tls;
    private boolean started;
    private final NodeMetrics metrics;

    /** Where the snapshots the core asks to send come from, and where the outcome of a transfer goes. */
    interface Snapshots {
        /** The file of snapshot {@code id}, or null when it is no longer on disk. */
        Path fileOf(SnapshotId id);

        /** Sending a snapshot to {@code peer} ended; called from a loop task, never inside a Ready. */
        void report(int peer, boolean delivered);
    }

    /** {@code removed}: a peer refused this node because the cluster removed it. */
    PeerLinks(EventLoop loop, ClusterView cluster, Log log, Snapshots snapshots, int snapshotChunkBytesMax, PeerLink.Timing timing, Runnable removed,
              NodeTls tls, NodeMetrics metrics) {
        this.loop = loop;
        this.tls = tls;
        this.metrics = metrics;
        this.timing = timing;
        this.clusterId = cluster.clusterId();
        this.selfId = cluster.selfId();
        this.log = log;
        this.snapshots = snapshots;
        this.snapshotChunkBytesMax = snapshotChunkBytesMax;
        this.removed = removed;
        reconcile(cluster.peers());
    }

    int size() {
        return links.size();
    }

    void start() {
        started = true;
        links.values().forEach(PeerLink::start);
    }

    /** Makes the links those to {@code peers}: new ones dialled, those to members gone (or moved) closed. */
    void reconcile(List<ClusterConfig.Member> peers) {
        Map<Integer, ClusterConfig.Member> wanted = new HashMap<>();
        for (ClusterConfig.Member m : peers) wanted.put(m.id(), m);
        for (Iterator<Map.Entry<Integer, PeerLink>> it = links.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Integer, PeerLink> e = it.next();
            ClusterConfig.Member m = wanted.get(e.getKey());
            if (m == null || !m.equals(e.getValue().peer())) {
                e.getValue().close();
                it.remove();
                metrics.forgetPeer(e.getKey());
            }
        }
        for (ClusterConfig.Member m : peers) {
            if (links.containsKey(m.id())) continue;
            PeerLink link = new PeerLink(loop, m, clusterId, selfId, log, snapshots, snapshotChunkBytesMax, timing, removed, tls, metrics.peer(m.id()));
            links.put(m.id(), link);
            if (started) link.start();
        }
    }

    /** Pings every peer, and gives up links that went silent (see {@link PeerLink}). */
    void heartbeat() {
        long now = EventLoop.nowMs();
        for (PeerLink link : links.values()) link.heartbeat(now);
    }

    @Override
    public void send(Message m) {
        PeerLink link = links.get(m.to());
        if (link != null) link.send(m, scratch);
    }

    @Override
    public void flush() {
        loop.flush();
    }
}
