package io.raftkv.server;

import io.raftkv.net.EventLoop;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.Message;
import io.raftkv.replica.ReplicaDriver;

import java.util.HashMap;
import java.util.Map;

/** The replica's transport on a real network: one {@link PeerLink} dialled to each peer, on the node's loop. */
final class PeerLinks implements ReplicaDriver.Transport {

    private final EventLoop loop;
    private final Map<Integer, PeerLink> links = new HashMap<>();

    PeerLinks(EventLoop loop, ClusterConfig cluster, int selfId, Log log) {
        this.loop = loop;
        for (ClusterConfig.Member m : cluster.members()) {
            if (m.id() != selfId) links.put(m.id(), new PeerLink(loop, m, cluster.clusterId(), selfId, log));
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
