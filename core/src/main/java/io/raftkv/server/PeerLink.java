package io.raftkv.server;

import io.raftkv.net.Connection;
import io.raftkv.net.EventLoop;
import io.raftkv.net.PeerCodec;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.Message;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The connection this node dials to one peer, used to send it Raft messages (what the peer sends us
 * arrives on the connection it dialed). Reconnects with exponential back-off while the peer is down, and
 * logs each change of state once. Messages sent while disconnected are dropped: Raft retries by itself.
 */
final class PeerLink implements Connection.Handler {

    private static final long BACKOFF_MS_MIN = 50;
    private static final long BACKOFF_MS_MAX = 2_000;

    private final EventLoop loop;
    private final ClusterConfig.Member peer;
    /** Resolved once, not on every reconnect: a name lookup blocks, and this runs on the loop thread. */
    private java.net.InetSocketAddress address;
    private final long clusterId;
    private final int selfId;
    private final Log log;
    private Connection connection;
    private boolean connected;
    private boolean reportedUp;
    private boolean reportedDown;
    private long backoffMs = BACKOFF_MS_MIN;

    PeerLink(EventLoop loop, ClusterConfig.Member peer, long clusterId, int selfId, Log log) {
        this.loop = loop;
        this.peer = peer;
        this.clusterId = clusterId;
        this.selfId = selfId;
        this.log = log;
    }

    void start() {
        address = peer.address();
        dial();
    }

    void send(Message m) {
        if (!connected) return;
        ByteBuffer frame = PeerCodec.raft(m);
        connection.send(frame);
    }

    private void dial() {
        if (address == null || address.isUnresolved()) address = peer.address();
        try {
            connection = loop.connect(address, this);
        } catch (IOException e) {
            retryLater(e.getMessage());
        }
    }

    @Override
    public void onConnected(Connection c) {
        connected = true;
        backoffMs = BACKOFF_MS_MIN;
        c.send(PeerCodec.helloPeer(clusterId, selfId));
        if (!reportedUp) log.info("peer " + peer.id() + " (" + peer + ") is up");
        reportedUp = true;
        reportedDown = false;
    }

    @Override
    public void onFrame(Connection c, byte type, ByteBuffer body) {
        // The peer only answers on this connection to refuse us (an ERROR frame before closing).
        log.warn("peer " + peer.id() + " says: " + ClientCodec.decodeResponse(type, body));
    }

    @Override
    public void onClosed(Connection c, String reason) {
        connected = false;
        if (!loop.isRunning()) return; // the node is stopping: no redial, no "peer is down" line
        retryLater(reason);
    }

    private void retryLater(String reason) {
        if (!reportedDown) log.info("peer " + peer.id() + " (" + peer + ") is down: " + reason);
        reportedDown = true;
        reportedUp = false;
        long delay = backoffMs;
        backoffMs = Math.min(BACKOFF_MS_MAX, backoffMs * 2);
        loop.schedule(delay, this::dial);
    }
}
