package io.raftkv.server;

import io.raftkv.net.EventLoop;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.Message;
import io.raftkv.raft.SnapshotId;
import io.raftkv.replica.ReplicaDriver;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The replica's transport on a real network: one {@link PeerLink} dialled to each peer, on the node's loop. */
final class PeerLinks implements ReplicaDriver.Transport {

    private final EventLoop loop;
    private final Map<Integer, PeerLink> links = new HashMap<>();

    /** Where the snapshots the core asks to send come from, and where the outcome of a transfer goes. */
    interface Snapshots {
        /** The file of snapshot {@code id}, or null when it is no longer on disk. */
        Path fileOf(SnapshotId id);

        /** Sending a snapshot to {@code peer} ended; called from a loop task, never inside a Ready. */
        void report(int peer, boolean delivered);
    }

    PeerLinks(EventLoop loop, ClusterConfig cluster, int selfId, Log log, Snapshots snapshots, int snapshotChunkBytesMax) {
        this.loop = loop;
        for (ClusterConfig.Member m : cluster.members()) {
            if (m.id() != selfId) links.put(m.id(), new PeerLink(loop, m, cluster.clusterId(), selfId, log, snapshots, snapshotChunkBytesMax));
        }
    }

    int size() {
        return links.size();
    }

    void start() {
        links.values().forEach(PeerLink::start);
    }

    @Override
    public void send(Message m) {
        PeerLink link = links.get(m.to());
        if (link != null) link.send(m);
    }

    @Override
    public void flush() {
        loop.flush();
    }
}
