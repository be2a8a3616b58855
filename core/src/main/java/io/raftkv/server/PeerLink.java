package io.raftkv.server;

import io.raftkv.net.Connection;
import io.raftkv.net.EventLoop;
import io.raftkv.net.PeerCodec;
import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.FrameType;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;
import io.raftkv.raft.SnapshotId;
import io.raftkv.server.metrics.PeerMetrics;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The connection this node dials to one peer, used to send it Raft messages (what the peer sends us
 * arrives on the connection it dialed). Reconnects with exponential back-off while the peer is down, and
 * logs each change of state once. Messages sent while disconnected are dropped: Raft retries by itself.
 *
 * <p>A network that drops packets silently leaves a TCP connection open on both sides, and the kernel's
 * retransmission back-off (minutes, after a long cut) would decide when the peer hears us again. So the link
 * pings the peer every heartbeat; a link that hears no answer for {@code silenceMs} is closed and dialled again,
 * and a dial unanswered for {@code connectTimeoutMs} is given up and tried again (docs/architecture.md). With TLS the
 * link is up once its handshake is over (mutual: {@link NodeTls}), and the dial has {@code silenceMs} for both: a peer
 * answers a ClientHello at once, so a handshake that hears nothing for that long is as dead as a silent link.
 */
final class PeerLink implements Connection.Handler {

    private static final long BACKOFF_MS_MIN = 50;

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
    private final PeerLinks.Snapshots snapshots;
    private final int snapshotChunkBytesMax;
    /** The snapshot on its way to the peer, and the SNAPSHOT message that follows its last chunk. */
    private FileStreamer snapshot;
    private Message snapshotMessage;
    /** Told when the peer refuses this node as removed from the cluster. */
    private final Runnable removed;
    /** The member left the configuration: no more dialling. */
    private boolean closed;
    private final long silenceMs;
    private final long connectTimeoutMs;
    /** Short (a heartbeat), so that a node cut off for long is dialled again soon after the cut heals. */
    private final long backoffMsMax;
    private long dialStartedMs;
    /** Null without TLS. */
    private final NodeTls tls;
    private final PeerMetrics metrics;

    PeerLink(EventLoop loop, ClusterConfig.Member peer, long clusterId, int selfId, Log log, PeerLinks.Snapshots snapshots,
             int snapshotChunkBytesMax, Timing timing, Runnable removed, NodeTls tls,
             PeerMetrics metrics) {
        this.metrics = metrics;
        this.loop = loop;
        this.tls = tls;
        this.silenceMs = timing.silenceMs();
        this.connectTimeoutMs = timing.connectTimeoutMs();
        this.backoffMsMax = Math.max(BACKOFF_MS_MIN, timing.redialMsMax());
        this.removed = removed;
        this.peer = peer;
        this.clusterId = clusterId;
        this.selfId = selfId;
        this.log = log;
        this.snapshots = snapshots;
        this.snapshotChunkBytesMax = snapshotChunkBytesMax;
    }

    /** When a link gives up on its peer (silence, an unanswered dial) and how soon it dials again. */
    record Timing(long silenceMs, long connectTimeoutMs, long redialMsMax) { }

    void start() {
        address = peer.address();
        dial();
    }

    ClusterConfig.Member peer() {
        return peer;
    }

    /** The peer left the configuration: the link closes and is not dialled again. */
    void close() {
        closed = true;
        finishSnapshot(false, "node " + peer.id() + " left the configuration");
        if (connection != null && connection.isOpen()) connection.close("node " + peer.id() + " left the configuration");
        connected = false;
    }

    /**
     * Called every heartbeat: pings the peer, or closes the link when it heard nothing for {@code silenceMs} or its
     * dial went unanswered for {@code connectTimeoutMs} (onClosed then dials again).
     */
    void heartbeat(long nowMs) {
        if (closed || connection == null || !connection.isOpen()) return;
        if (!connected) {
            long boundMs = tls == null ? connectTimeoutMs : Math.max(connectTimeoutMs, silenceMs);
            if (nowMs - dialStartedMs > boundMs) connection.close("no answer to connecting" + (tls == null ? "" : " and the TLS handshake") + " within " + boundMs + " ms");
        } else if (connection.silentFor(silenceMs, nowMs)) {
            connection.close("heard nothing for " + silenceMs + " ms");
        } else {
            connection.send(counted(PeerCodec.peerPing(System.nanoTime())));
        }
    }

    /** Sends {@code m}, encoded in the loop's {@code scratch} and copied into the connection's direct chunks. */
    void send(Message m, BodyWriter scratch) {
        if (m.type() == MessageType.SNAPSHOT) {
            startSnapshot(m);
            return;
        }
        if (!connected) return;
        connection.sendCopy(counted(PeerCodec.raft(scratch, m)));
    }

    /**
     * Starts streaming the snapshot {@code m} names. Called while the driver handles a Ready, so the chunks go
     * out from loop tasks, and the outcome reaches the core through one too.
     */
    private void startSnapshot(Message m) {
        if (snapshot != null) snapshot.close();
        snapshot = null;
        SnapshotId id = new SnapshotId(m.index(), m.logTerm());
        Path file = snapshots.fileOf(id);
        if (!connected || file == null) {
            report(false, connected ? "snapshot " + id + " is no longer on disk" : null);
            return;
        }
        try {
            snapshot = new FileStreamer(file, snapshotChunkBytesMax,
                    (offset, total, data) -> counted(PeerCodec.snapshotChunk(m.index(), m.logTerm(), offset, total, data)));
            snapshotMessage = m;
        } catch (IOException e) {
            report(false, "cannot read " + file + ": " + e.getMessage());
            return;
        }
        log.info("sending snapshot " + id + " to node " + peer.id());
        if (!loop.execute(this::pumpSnapshot)) finishSnapshot(false, "the loop's task queue is full");
    }

    private void pumpSnapshot() {
        if (snapshot == null) return;
        if (!connected) {
            finishSnapshot(false, "link down");
            return;
        }
        try {
            // The follower's core hears of the snapshot only after the whole file (TCP keeps the order).
            if (snapshot.pump(connection)) finishSnapshot(connection.send(counted(PeerCodec.raft(snapshotMessage))), null);
        } catch (IOException e) {
            finishSnapshot(false, e.getMessage());
        }
    }

    private void finishSnapshot(boolean delivered, String problem) {
        if (snapshot == null) return;
        snapshot.close();
        snapshot = null;
        report(delivered, problem);
    }

    private void report(boolean delivered, String problem) {
        if (problem != null) log.warn("snapshot to node " + peer.id() + " failed: " + problem);
        int peerId = peer.id();
        // Through a task: this may run inside the driver's Ready, when the core takes no input.
        loop.execute(() -> snapshots.report(peerId, delivered));
    }

    @Override
    public void onDrained(Connection c) {
        if (snapshot != null && c == connection) loop.execute(this::pumpSnapshot);
    }

    private void dial() {
        if (closed) return;
        if (address == null || address.isUnresolved()) address = peer.address();
        try {
            dialStartedMs = EventLoop.nowMs();
            connection = loop.connect(address, this, tls == null ? null : tls.dial(peer));
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
        // The answer to a ping: the connection noted that it heard something, which is all a pong is for.
        if (type == FrameType.PEER_PONG) {
            metrics.roundTrip(System.nanoTime() - PeerCodec.decodePeerProbe(body)); // the token is the ping's nanoTime
            return;
        }
        // The peer only answers on this connection otherwise to refuse us (an ERROR frame before closing).
        ClientResponse refusal = ClientCodec.decodeResponse(type, body);
        log.warn("peer " + peer.id() + " says: " + refusal);
        if (refusal instanceof ClientResponse.Error e && e.code() == ErrorCode.REMOVED) removed.run();
    }

    @Override
    public void onClosed(Connection c, String reason) {
        connected = false;
        finishSnapshot(false, "link closed: " + reason);
        if (!loop.isRunning() || closed) return; // the node is stopping: no redial, no "peer is down" line
        retryLater(reason);
    }

    private ByteBuffer counted(ByteBuffer frame) {
        metrics.sent(frame.remaining());
        return frame;
    }

    private void retryLater(String reason) {
        if (!reportedDown) log.info("peer " + peer.id() + " (" + peer + ") is down: " + reason);
        reportedDown = true;
        reportedUp = false;
        long delay = backoffMs;
        backoffMs = Math.min(backoffMsMax, backoffMs * 2);
        loop.schedule(delay, this::dial);
    }
}
