package io.raftkv.server;

import io.raftkv.net.Connection;
import io.raftkv.net.EventLoop;
import io.raftkv.net.PeerCodec;
import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.FrameException;
import io.raftkv.protocol.FrameType;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;
import io.raftkv.raft.SnapshotId;
import io.raftkv.server.metrics.NodeMetrics;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * The connections a node accepts: the limit on how many, the handshake that says what each is (a client or a
 * peer, within a deadline), and the routing of its frames (requests to the request table, Raft messages to the
 * core). Every refusal is an ERROR frame followed by a close; nothing a connection sends stops the node. With TLS the
 * handshake comes first, within its own deadline, and a HELLO_PEER needs a certificate of the cluster's CA ({@link NodeTls}).
 */
final class InboundConnections {

    /** What an accepted connection turned out to be. */
    private sealed interface Role permits AwaitingHello, Client, Peer { }

    /** Accepted, and its HELLO is awaited until the timer fires. */
    private record AwaitingHello(long timerId) implements Role { }

    private record Client(ClientRequests.Channel channel, Watches.Channel watchChannel) implements Role { }

    /** A peer's link to us: its Raft messages, and the snapshot it may be sending us. */
    private record Peer(int peerId, SnapshotReceiver snapshot) implements Role { }

    /** Where snapshots that peers send go. */
    interface SnapshotInbox {
        SnapshotReceiver receiverFor(int peerId);

        /** The whole file of the snapshot that {@code m} (a SNAPSHOT message) announces arrived, unchecked and unsynced. */
        void received(Message m, Path file);
    }

    /** Reports an error that means the node's state can no longer be trusted: the node stops. */
    interface Fatal {
        void stop(String message, Throwable cause);
    }

    private final int selfId;
    private final ClusterView cluster;
    private final EventLoop loop;
    private final Log log;
    private final int connectionsMax;
    private int clients;
    /** Accepted links from peers, by connection: closed when the peer leaves the configuration. */
    private final Map<Connection, Integer> peerConnections = new HashMap<>();
    private final MembershipRequests memberships;
    /**
     * Whether a node was removed in a configuration this node has applied (so committed): only then is it told
     * REMOVED, and stops. A removal only appended may still be cut from the log; until it commits, a peer outside the
     * latest configuration is refused as a non-member and dials again.
     */
    private final IntPredicate removedForGood;
    private final long helloTimeoutMs;
    /** Null without TLS. */
    private final NodeTls tls;
    private final long handshakeTimeoutMs;
    /** A peer pings its link every heartbeat: one that says nothing for this long was cut off, and dials again. */
    private final long peerSilenceMs;
    private final ClientRequests requests;
    private final Consumer<Message> core;
    private final SnapshotInbox snapshots;
    private final Backups backups;
    private final Watches watches;
    private final Fatal fatal;
    private final NodeMetrics metrics;
    /** Where every answer to a client is encoded, then copied to its connection: no array per answer. */
    private final BodyWriter answers = new BodyWriter(64 * 1024);

    /** Backups that clients ask for (SNAPSHOT requests), streamed at the pace the connection takes them. */
    interface Backups {
        void startBackup(Connection c, long requestId);

        /** The connection took what was queued: the next piece may go. */
        void pumpBackup(Connection c);

        /** The connection closed: whatever backup it had is dropped. */
        void endBackup(Connection c);
    }

    InboundConnections(ClusterView cluster, EventLoop loop, Log log, int connectionsMax, long helloTimeoutMs, long peerSilenceMs,
                       ClientRequests requests, MembershipRequests memberships, IntPredicate removedForGood, Consumer<Message> core,
                       SnapshotInbox snapshots, Backups backups, Watches watches, Fatal fatal, NodeTls tls, long handshakeTimeoutMs,
                       NodeMetrics metrics) {
        this.tls = tls;
        this.handshakeTimeoutMs = Math.min(handshakeTimeoutMs, helloTimeoutMs);
        this.removedForGood = removedForGood;
        this.selfId = cluster.selfId();
        this.cluster = cluster;
        this.memberships = memberships;
        this.loop = loop;
        this.log = log;
        this.connectionsMax = connectionsMax;
        this.helloTimeoutMs = helloTimeoutMs;
        this.peerSilenceMs = peerSilenceMs;
        this.requests = requests;
        this.core = core;
        this.snapshots = snapshots;
        this.backups = backups;
        this.watches = watches;
        this.fatal = fatal;
        this.metrics = metrics;
    }

    /** The loop's acceptor: a handler for a new connection, after refusing it if a budget is spent. */
    Connection.Handler accept(Connection c) {
        Inbound inbound = new Inbound();
        // Counted with the node's own peer links: connectionsMax bounds sockets, whoever opened them.
        if (loop.connections() > connectionsMax) {
            refuse(c, "connection limit of " + connectionsMax + " reached");
        } else if (loop.timersFree() < 1) {
            // Unreachable while the timer budget is derived from the limits (NodeOptions.timersMax): a bug, said loudly.
            log.error("the timer budget is spent with " + loop.connections() + " connections: a limit does not count its timers", null);
            refuse(c, "the node's timer budget is spent");
        } else {
            // A connection that never says what it is must not hold a connection slot forever.
            long acceptedMs = EventLoop.nowMs();
            inbound.role = new AwaitingHello(loop.schedule(c.isTls() ? handshakeTimeoutMs : helloTimeoutMs, () -> helloDue(c, inbound, acceptedMs)));
        }
        return inbound;
    }

    /** The connection's deadline: its TLS handshake's first, then its HELLO's, one timer at a time. */
    private void helloDue(Connection c, Inbound inbound, long acceptedMs) {
        if (!c.isOpen() || !(inbound.role instanceof AwaitingHello)) return;
        if (c.handshaking()) {
            c.close("TLS handshake not over within " + handshakeTimeoutMs + " ms"); // logged by onClosed
            return;
        }
        long leftMs = helloTimeoutMs - (EventLoop.nowMs() - acceptedMs);
        if (leftMs > 0) inbound.role = new AwaitingHello(loop.schedule(leftMs, () -> helloDue(c, inbound, acceptedMs)));
        else c.close("no HELLO within " + helloTimeoutMs + " ms");
    }

    private void refuse(Connection c, String reason) {
        metrics.connectionRefused();
        c.sendAndClose(ClientCodec.response(new ClientResponse.Error(0, ErrorCode.REFUSED, reason)));
    }

    int clients() {
        return clients;
    }

    /** Clients may hold every connection but those the peer links need (one each way per peer). */
    private int clientsMax() {
        return connectionsMax - 2 * Math.max(0, cluster.membership().members().size() - 1);
    }

    /**
     * The configuration changed (appended, cut, or applied): links from peers that left it are closed; one whose removal
     * is applied is told so, and stops.
     */
    void membersChanged() {
        for (Map.Entry<Connection, Integer> e : new ArrayList<>(peerConnections.entrySet())) {
            int peer = e.getValue();
            if (cluster.membership().contains(peer)) continue;
            if (removedForGood.test(peer)) {
                e.getKey().sendAndClose(ClientCodec.response(new ClientResponse.Error(0, ErrorCode.REMOVED, "node " + peer + " was removed from the cluster")));
            } else {
                e.getKey().close("node " + peer + " is not a member");
            }
        }
    }

    /**
     * Called every heartbeat: closes the links of peers that went silent. Their sockets would otherwise stay open (a
     * silent drop never tells TCP), each holding a connection slot, after the peer has dialled a new link.
     */
    void heartbeat() {
        long now = EventLoop.nowMs();
        for (Map.Entry<Connection, Integer> e : new ArrayList<>(peerConnections.entrySet())) {
            if (e.getKey().silentFor(peerSilenceMs, now)) e.getKey().close("node " + e.getValue() + " said nothing for " + peerSilenceMs + " ms");
        }
    }

    /** A peer dialled a new link: the one it had is dead to it, and goes (with any snapshot half received on it). */
    private void replaceLinkFrom(int peerId) {
        for (Map.Entry<Connection, Integer> e : new ArrayList<>(peerConnections.entrySet())) {
            if (e.getValue() == peerId) e.getKey().close("node " + peerId + " dialled a new link");
        }
    }

    private boolean answer(Connection c, ClientResponse response) {
        return c.isOpen() && c.sendCopy(ClientCodec.response(answers, response));
    }

    /** Where a client connection's answers go, and the user it authenticated as (docs/auth.md: the connection is the token). */
    private final class ClientChannel implements ClientRequests.Channel {
        private final Connection c;
        private AccessControl.Identity identity;

        ClientChannel(Connection c) {
            this.c = c;
        }

        @Override
        public void reply(ClientResponse response) {
            answer(c, response);
        }

        @Override
        public AccessControl.Identity identity() {
            return identity;
        }

        @Override
        public void identify(AccessControl.Identity who) {
            identity = who;
        }
    }

    /** The handler of one accepted connection; its role changes once, at HELLO. */
    private final class Inbound implements Connection.Handler {
        Role role;

        @Override
        public void onFrame(Connection c, byte type, ByteBuffer body) {
            try {
                route(c, type, body);
            } catch (FrameException e) {
                throw e;
            } catch (RuntimeException e) {
                // Input is validated before it reaches the core: anything else thrown here is a broken invariant,
                // and the node stops loudly rather than go on with state it cannot trust.
                fatal.stop("unexpected error handling a " + FrameType.name(type) + " frame from " + c.remote(), e);
            }
        }

        @Override
        public void onDrained(Connection c) {
            if (role instanceof Client client) {
                backups.pumpBackup(c);
                watches.drained(client.watchChannel());
            }
        }

        @Override
        public void onBadFrame(Connection c, FrameException e) {
            // Only a plaintext client on a TLS port gets here before its handshake: said once in the log, and in its reply.
            if (c.handshaking()) log.warn("refused " + c.remote() + ": " + e.getMessage());
            if (e.code() == ErrorCode.REFUSED) metrics.connectionRefused();
            c.sendAndClose(ClientCodec.response(new ClientResponse.Error(0, e.code(), e.getMessage())));
        }

        @Override
        public void onClosed(Connection c, String reason) {
            if (c.handshaking() && reason != null) {
                log.warn("refused " + c.remote() + (reason.startsWith("TLS") ? ": " : " during its TLS handshake: ") + reason);
            }
            // Pending requests of a closed client are answered into the void (Channel.reply drops them).
            if (role instanceof AwaitingHello hello) loop.cancel(hello.timerId());
            if (role instanceof Client client) {
                clients--;
                watches.closed(client.watchChannel());
                backups.endBackup(c);
            }
            if (role instanceof Peer peer) {
                peerConnections.remove(c);
                abandon(peer);
            }
        }

        private void abandon(Peer peer) {
            try {
                peer.snapshot().abandon();
            } catch (IOException e) {
                log.warn("could not drop the snapshot received in part from node " + peer.peerId() + ": " + e.getMessage());
            }
        }

        private void route(Connection c, byte type, ByteBuffer body) {
            if (role instanceof Client client) {
                if (type == FrameType.SNAPSHOT) {
                    long requestId = ClientCodec.decodeSnapshotRequest(body);
                    ClientResponse refused = requests.backupRefusal(client.channel(), requestId);
                    if (refused != null) client.channel().reply(refused);
                    else backups.startBackup(c, requestId);
                    return;
                }
                ClientRequest r = ClientCodec.decodeRequest(type, body);
                ClientResponse refused = requests.refusal(client.channel(), r); // null at once while auth is disabled
                if (refused != null) client.channel().reply(refused);
                else if (MembershipRequests.handles(r)) memberships.handle(client.channel(), r);
                else if (Watches.handles(r)) watches.handle(client.watchChannel(), r, client.channel());
                else requests.handle(new TimedChannel(client.channel(), r, metrics.requests()), r);
            } else if (role instanceof Peer peer) {
                metrics.peer(peer.peerId()).receivedFrame(body.remaining());
                if (type == FrameType.PEER_PING) {
                    c.send(PeerCodec.peerPong(PeerCodec.decodePeerProbe(body)));
                    return;
                }
                if (type == FrameType.SNAPSHOT_CHUNK) {
                    snapshotChunk(peer, PeerCodec.decodeSnapshotChunk(body));
                    return;
                }
                if (type != FrameType.RAFT) throw new FrameException(ErrorCode.UNKNOWN_TYPE, "peers send RAFT, SNAPSHOT_CHUNK and PEER_PING frames, not " + FrameType.name(type));
                Message m = PeerCodec.decodeRaft(body);
                if (m.from() != peer.peerId() || m.to() != selfId) {
                    throw new FrameException(ErrorCode.BAD_REQUEST, "message from " + m.from() + " to " + m.to() + " on the link of peer " + peer.peerId());
                }
                if (m.type() == MessageType.SNAPSHOT) snapshotDone(peer, m);
                else core.accept(m);
            } else if (role instanceof AwaitingHello hello) {
                Role next = hello(c, type, body);
                loop.cancel(hello.timerId());
                role = next;
            }
            // A refused connection has no role; the loop delivers it nothing more.
        }

        private void snapshotChunk(Peer peer, PeerCodec.SnapshotChunk chunk) {
            try {
                peer.snapshot().accept(chunk);
            } catch (IOException e) {
                log.warn("dropping the snapshot node " + peer.peerId() + " sends: " + e.getMessage());
                abandon(peer);
            }
        }

        /** The leader's SNAPSHOT message follows the last chunk: without the whole file it is dropped, and the leader sends again. */
        private void snapshotDone(Peer peer, Message m) {
            try {
                Path file = peer.snapshot().takeComplete(new SnapshotId(m.index(), m.logTerm()));
                if (file != null) snapshots.received(m, file);
                else log.warn("node " + peer.peerId() + " announced snapshot " + m.index() + "@t" + m.logTerm() + " without sending all of it; dropped");
            } catch (IOException e) {
                log.warn("dropping the snapshot node " + peer.peerId() + " sent: " + e.getMessage());
            }
        }

        private Role hello(Connection c, byte type, ByteBuffer body) {
            if (type == FrameType.HELLO_CLIENT) {
                int version = ClientCodec.decodeHelloClient(body);
                if (version != ClientCodec.PROTOCOL_VERSION) throw new FrameException(ErrorCode.REFUSED, "protocol version " + version + " is not " + ClientCodec.PROTOCOL_VERSION);
                if (clients >= clientsMax()) {
                    // Idle clients never time out: without this, they could take the slots of the peers' links.
                    throw new FrameException(ErrorCode.REFUSED, "client connection limit of " + clientsMax() + " reached (the rest is kept for peer links)");
                }
                clients++;
                return new Client(new ClientChannel(c), new Watches.Channel() {
                    @Override
                    public boolean send(ClientResponse frame) {
                        return answer(c, frame);
                    }

                    @Override
                    public long queuedBytes() {
                        return c.queuedBytes();
                    }
                });
            }
            if (type == FrameType.HELLO_PEER) {
                PeerCodec.PeerHello hello = PeerCodec.decodeHelloPeer(body);
                String refusal = tls == null ? null : tls.peerRefusal(c.peerCertificates());
                if (refusal != null) {
                    log.warn("refused node " + hello.nodeId() + " from " + c.remote() + " as a peer: " + refusal);
                    throw new FrameException(ErrorCode.REFUSED, refusal);
                }
                if (hello.clusterId() != cluster.clusterId()) {
                    log.warn("refused a node of another cluster (cluster id " + Long.toHexString(hello.clusterId()) + ") from " + c.remote());
                    throw new FrameException(ErrorCode.REFUSED, "cluster id " + Long.toHexString(hello.clusterId()) + " is not this cluster's " + Long.toHexString(cluster.clusterId()));
                }
                if (removedForGood.test(hello.nodeId())) {
                    log.warn("refused node " + hello.nodeId() + " from " + c.remote() + ": it was removed from the cluster");
                    throw new FrameException(ErrorCode.REMOVED, "node " + hello.nodeId() + " was removed from the cluster");
                }
                if (hello.nodeId() == selfId || cluster.member(hello.nodeId()) == null) throw new FrameException(ErrorCode.REFUSED, "node " + hello.nodeId() + " is not a peer of node " + selfId);
                replaceLinkFrom(hello.nodeId());
                peerConnections.put(c, hello.nodeId());
                return new Peer(hello.nodeId(), snapshots.receiverFor(hello.nodeId()));
            }
            throw new FrameException(ErrorCode.BAD_REQUEST, "the first frame must be HELLO_CLIENT or HELLO_PEER, not " + FrameType.name(type));
        }
    }
}
