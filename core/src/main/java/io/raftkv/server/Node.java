package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.net.ClientRequest;
import io.raftkv.net.ClientResponse;
import io.raftkv.net.Codec;
import io.raftkv.net.Connection;
import io.raftkv.net.ErrorCode;
import io.raftkv.net.EventLoop;
import io.raftkv.net.FrameException;
import io.raftkv.net.FrameType;
import io.raftkv.raft.Entry;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Ready;
import io.raftkv.raft.SubmitResult;
import io.raftkv.wal.WalOptions;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * One raftkv node: wires the {@link EventLoop}, the {@link RaftCore}, the {@link WriteAheadLog} and the
 * {@link KvStateMachine} together. Everything runs on the loop thread; the end of each loop turn drains the
 * core's Ready in the contract's order, with one WAL sync for the whole turn (group commit).
 */
public final class Node {

    private static final Object PEER_UNIDENTIFIED = new Object();
    private static final Object CLIENT = new Object();

    private record PendingWrite(Connection connection, long requestId, long term, long timerId) { }

    private record PendingRead(Connection connection, long requestId, byte[] key, long timerId) { }

    private final ClusterConfig cluster;
    private final int id;
    private final NodeOptions options;
    private final Log log;
    private final EventLoop loop;
    private final WriteAheadLog wal;
    private final MemberMarker marker;
    private final MemoryStorage storage = new MemoryStorage();
    private final RaftCore core;
    private final KvStateMachine kv = new KvStateMachine();
    private final Map<Integer, PeerLink> peers = new HashMap<>();
    private final Map<Long, PendingWrite> pendingWrites = new HashMap<>();
    private final Map<Long, PendingRead> pendingReads = new HashMap<>();
    private final ArrayList<ReadState> readsWaitingForApply = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private long nextReadContext = 1;
    /**
     * Serializable reads wait for one linearizable read barrier after start: the map is rebuilt from the
     * log up to the commit index this node persisted, which may be behind what it served before a crash.
     * Once applied reaches a read index from the current leader, it is at least where it ever was, so a
     * node's serializable reads never go back, across restarts too.
     */
    private boolean caughtUpSinceStart;
    private long nextBarrierContext = 1;
    private static final long BARRIER_RETRY_MS = 200;
    private static final long HELLO_TIMEOUT_MS = 10_000;
    private static final int RAFT_INFLIGHT_MESSAGES_MAX = 64;
    /**
     * Tests only: answer linearizable reads from the local map, as a deliberate bug, to show that the chaos
     * harness's checks find stale reads. Never set in a deployment.
     */
    private static final boolean UNSAFE_LOCAL_READS = Boolean.getBoolean("raftkv.unsafe.localReads");
    private Object lastLeaderSeen = null;

    private Node(ClusterConfig cluster, int id, Path dataDir, NodeOptions options) throws IOException {
        this.cluster = cluster;
        this.id = id;
        this.options = options;
        this.log = new Log(id);
        if (cluster.member(id) == null) throw new IllegalArgumentException("node " + id + " is not in the cluster config " + cluster.ids());
        this.wal = WriteAheadLog.open(dataDir, new WalOptions(options.walSegmentBytesMax(), options.frameBytesMax() + 1024));
        this.marker = new MemberMarker(dataDir, cluster.clusterId(), id);
        try {
            marker.check(wal.entries().isEmpty() && wal.hardState().equals(io.raftkv.raft.HardState.EMPTY));
        } catch (IOException e) {
            wal.close();
            throw e;
        }
        storage.setHardState(wal.hardState());
        storage.append(wal.entries());
        log.info("recovered " + storage.lastIndex() + " log entries, " + wal.hardState() + " from " + dataDir);
        RaftConfig config = new RaftConfig(id, cluster.ids())
                .electionTicks(options.electionTicks())
                .heartbeatTicks(options.heartbeatTicks())
                // A full window of APPENDs must fit in half the peer link's outbound queue, or catching up a
                // follower would overflow the queue and cut the link over and over.
                .bytesPerMessageMax(Math.max(1, Math.min(options.frameBytesMax() / 2,
                        options.outboundBytesPerConnectionMax() / (2L * RAFT_INFLIGHT_MESSAGES_MAX))))
                .inflightMessagesMax(RAFT_INFLIGHT_MESSAGES_MAX)
                .randomSeed(System.nanoTime());
        this.core = new RaftCore(config, storage);
        // An accepted connection's queue holds at least one largest frame, whatever clientOutboundBytesMax says.
        this.loop = new EventLoop(new EventLoop.Limits(options.frameBytesMax(), options.outboundBytesPerConnectionMax(),
                Math.max(options.clientOutboundBytesMax(), options.frameBytesMax() + 4L),
                options.connectionsMax(), 100_000, options.pendingRequestsMax() + 4096, 10_000));
    }

    /** Opens the data directory, binds the node's port and runs the node on a thread of its own. */
    public static Node start(ClusterConfig cluster, int id, Path dataDir, NodeOptions options) throws IOException {
        Node node = new Node(cluster, id, dataDir, options);
        ClusterConfig.Member self = cluster.member(id);
        try {
            node.loop.listen(new InetSocketAddress(self.host(), self.port()), node::accept);
        } catch (IOException e) {
            node.wal.close();
            throw new IOException("cannot listen on " + self + ": " + e.getMessage(), e);
        }
        Thread thread = new Thread(node::run, "raftkv-node-" + id);
        thread.start();
        return node;
    }

    /** Stops the node from any thread: the loop finishes its turn, the WAL is synced and closed. */
    public void stop() {
        if (!loop.execute(loop::stop)) loop.stop();
    }

    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    private void run() {
        try {
            log.info("listening on " + cluster.member(id) + ", peers " + cluster.members());
            for (ClusterConfig.Member m : cluster.members()) {
                if (m.id() == id) continue;
                PeerLink link = new PeerLink(loop, m, cluster.clusterId(), id, log);
                peers.put(m.id(), link);
                link.start();
            }
            loop.setTurnHook(this::drainReady);
            loop.schedule(options.tickMs(), this::tick);
            loop.schedule(0, this::startupBarrier);
            loop.run();
            wal.close();
            log.info("stopped");
        } catch (Throwable t) {
            fatal("node stopped by an unexpected error", t);
        } finally {
            stopped.countDown();
        }
    }

    private void startupBarrier() {
        if (caughtUpSinceStart) return;
        // Barrier reads use negative contexts, client reads positive ones. One is asked every
        // BARRIER_RETRY_MS until one comes back: any may be lost to a leader change.
        core.readIndex(-(nextBarrierContext++));
        loop.schedule(BARRIER_RETRY_MS, this::startupBarrier);
    }

    private void tick() {
        core.tick();
        loop.schedule(options.tickMs(), this::tick);
    }

    // ------------------------------------------------------------------ the Ready contract

    private void drainReady() {
        try {
            while (core.hasReady()) {
                Ready rd = core.ready();
                rd.messages().forEach(this::send);
                if (rd.mustSync()) loop.flush(); // the appends leave before our own fsync: both disks work at once
                if (!rd.entries().isEmpty()) {
                    wal.append(rd.entries());
                    storage.append(rd.entries());
                }
                if (rd.hardState() != null) {
                    wal.saveHardState(rd.hardState());
                    storage.setHardState(rd.hardState());
                }
                if (rd.mustSync()) {
                    wal.sync();
                    marker.writeIfAbsent();
                }
                rd.messagesAfterPersist().forEach(this::send);
                for (Entry e : rd.committedEntries()) apply(e);
                readsWaitingForApply.addAll(rd.readStates());
                serveReads();
                core.advance(rd);
            }
        } catch (IOException e) {
            fatal("write-ahead log failed: the node stops rather than acknowledge what may not be durable", e);
        }
        reportLeaderChange();
    }

    private void send(Message m) {
        PeerLink link = peers.get(m.to());
        if (link != null) link.send(m);
    }

    private void apply(Entry e) {
        kv.apply(e);
        PendingWrite w = pendingWrites.remove(e.index());
        if (w == null) return;
        loop.cancel(w.timerId());
        if (w.term() == e.term()) {
            reply(w.connection(), new ClientResponse.Ok(w.requestId()));
        } else {
            reply(w.connection(), new ClientResponse.Error(w.requestId(), ErrorCode.UNAVAILABLE,
                    "a leader change replaced the write before it committed: it was not applied, retry"));
        }
    }

    private void serveReads() {
        for (Iterator<ReadState> it = readsWaitingForApply.iterator(); it.hasNext(); ) {
            ReadState rs = it.next();
            if (rs.index() > kv.appliedIndex()) continue;
            it.remove();
            if (rs.context() < 0) {
                caughtUpSinceStart = true;
                continue;
            }
            PendingRead r = pendingReads.remove(rs.context());
            if (r == null) continue;
            loop.cancel(r.timerId());
            reply(r.connection(), valueOf(r.requestId(), r.key()));
        }
    }

    private void reportLeaderChange() {
        RaftStatus s = core.status();
        Object now = s.leader() + "/" + s.term();
        if (now.equals(lastLeaderSeen)) return;
        lastLeaderSeen = now;
        if (s.leader() != RaftCore.NONE) log.info("term " + s.term() + ": leader is node " + s.leader() + (s.leader() == id ? " (this node)" : ""));
    }

    // ------------------------------------------------------------------ connections

    private Connection.Handler accept(Connection c) {
        c.attachment = null;
        // A connection that never says what it is must not hold one of the connectionsMax slots forever.
        loop.schedule(HELLO_TIMEOUT_MS, () -> {
            if (c.isOpen() && c.attachment == null) c.close("no HELLO within " + HELLO_TIMEOUT_MS + " ms");
        });
        return new Connection.Handler() {
            @Override
            public void onFrame(Connection conn, byte type, ByteBuffer body) {
                onInboundFrame(conn, type, body);
            }

            @Override
            public void onClosed(Connection conn, String reason) {
                // Pending requests of a closed client are answered into the void and dropped then.
            }
        };
    }

    private void onInboundFrame(Connection c, byte type, ByteBuffer body) {
        try {
            dispatch(c, type, body);
        } catch (FrameException e) {
            throw e;
        } catch (RuntimeException e) {
            // Input is validated before it reaches the core: anything else thrown here is a broken invariant,
            // and the node stops loudly rather than go on with state it cannot trust.
            fatal("unexpected error handling a " + FrameType.name(type) + " frame from " + c.remote(), e);
        }
    }

    private void dispatch(Connection c, byte type, ByteBuffer body) {
        if (c.attachment == null) {
            hello(c, type, body);
        } else if (c.attachment == CLIENT) {
            handleRequest(c, Codec.decodeRequest(type, body));
        } else if (c.attachment instanceof Integer peerId) {
            if (type != FrameType.RAFT) throw new FrameException(ErrorCode.UNKNOWN_TYPE, "peers send RAFT frames, not " + FrameType.name(type));
            Message m = Codec.decodeRaft(body);
            if (m.from() != peerId || m.to() != id) throw new FrameException(ErrorCode.BAD_REQUEST, "message from " + m.from() + " to " + m.to() + " on the link of peer " + peerId);
            core.step(m);
        }
    }

    private void hello(Connection c, byte type, ByteBuffer body) {
        if (type == FrameType.HELLO_CLIENT) {
            int version = Codec.decodeHelloClient(body);
            if (version != Codec.PROTOCOL_VERSION) throw new FrameException(ErrorCode.REFUSED, "protocol version " + version + " is not " + Codec.PROTOCOL_VERSION);
            c.attachment = CLIENT;
        } else if (type == FrameType.HELLO_PEER) {
            Codec.PeerHello hello = Codec.decodeHelloPeer(body);
            if (hello.clusterId() != cluster.clusterId()) {
                log.warn("refused a node of another cluster (cluster id " + Long.toHexString(hello.clusterId()) + ") from " + c.remote());
                throw new FrameException(ErrorCode.REFUSED, "cluster id " + Long.toHexString(hello.clusterId()) + " is not this cluster's " + Long.toHexString(cluster.clusterId()));
            }
            if (hello.nodeId() == id || cluster.member(hello.nodeId()) == null) throw new FrameException(ErrorCode.REFUSED, "node " + hello.nodeId() + " is not a peer of node " + id);
            c.attachment = hello.nodeId();
        } else {
            throw new FrameException(ErrorCode.BAD_REQUEST, "the first frame must be HELLO_CLIENT or HELLO_PEER, not " + FrameType.name(type));
        }
    }

    // ------------------------------------------------------------------ client requests

    private void handleRequest(Connection c, ClientRequest r) {
        if (r instanceof ClientRequest.Status) {
            RaftStatus s = core.status();
            reply(c, new ClientResponse.StatusResult(r.requestId(), id, s.role().name(), s.term(), s.leader(), s.commit(),
                    kv.appliedIndex(), kv.size(), kv.hash()));
            return;
        }
        if (pendingWrites.size() + pendingReads.size() >= options.pendingRequestsMax()) {
            reply(c, new ClientResponse.Error(r.requestId(), ErrorCode.OVERLOADED, options.pendingRequestsMax() + " requests already pending"));
            return;
        }
        if (r instanceof ClientRequest.Put p) {
            if (!checkKey(c, r.requestId(), p.key())) return;
            if (p.value().length > options.valueBytesMax()) {
                reply(c, new ClientResponse.Error(r.requestId(), ErrorCode.TOO_LARGE, "value of " + p.value().length + " bytes is over the limit of " + options.valueBytesMax()));
                return;
            }
            propose(c, r.requestId(), KvCommand.put(p.key(), p.value()));
        } else if (r instanceof ClientRequest.Delete d) {
            if (!checkKey(c, r.requestId(), d.key())) return;
            propose(c, r.requestId(), KvCommand.delete(d.key()));
        } else if (r instanceof ClientRequest.Get g) {
            if (!checkKey(c, r.requestId(), g.key())) return;
            if (g.serializable() || UNSAFE_LOCAL_READS) {
                reply(c, caughtUpSinceStart ? valueOf(r.requestId(), g.key())
                        : new ClientResponse.Error(r.requestId(), ErrorCode.UNAVAILABLE, "the node is catching up with the leader after a start; retry, or read from another node"));
                return;
            }
            long context = nextReadContext++;
            SubmitResult result = core.readIndex(context);
            if (!result.accepted()) {
                reply(c, refusal(r.requestId(), result));
                return;
            }
            long timer = loop.schedule(options.requestTimeoutMs(), () -> {
                PendingRead read = pendingReads.remove(context);
                if (read != null) reply(read.connection(), timeout(read.requestId()));
            });
            pendingReads.put(context, new PendingRead(c, r.requestId(), g.key(), timer));
        }
    }

    private void propose(Connection c, long requestId, KvCommand command) {
        SubmitResult result = core.propose(command.encode());
        if (!result.accepted()) {
            reply(c, refusal(requestId, result));
            return;
        }
        long index = result.index();
        long timer = loop.schedule(options.requestTimeoutMs(), () -> {
            PendingWrite w = pendingWrites.get(index);
            if (w != null && w.requestId() == requestId && w.connection() == c) {
                pendingWrites.remove(index);
                reply(c, timeout(requestId));
            }
        });
        PendingWrite replaced = pendingWrites.put(index, new PendingWrite(c, requestId, result.term(), timer));
        if (replaced != null) {
            // This node lost its leadership, its log was cut back, and it leads again: the earlier write at this
            // index may or may not be committed elsewhere, so its outcome is unknown.
            loop.cancel(replaced.timerId());
            reply(replaced.connection(), timeout(replaced.requestId()));
        }
    }

    private boolean checkKey(Connection c, long requestId, byte[] key) {
        if (key.length == 0) {
            reply(c, new ClientResponse.Error(requestId, ErrorCode.BAD_REQUEST, "the key is empty"));
            return false;
        }
        if (key.length > options.keyBytesMax()) {
            reply(c, new ClientResponse.Error(requestId, ErrorCode.TOO_LARGE, "key of " + key.length + " bytes is over the limit of " + options.keyBytesMax()));
            return false;
        }
        return true;
    }

    private ClientResponse valueOf(long requestId, byte[] key) {
        byte[] value = kv.get(key);
        return value == null ? new ClientResponse.NotFound(requestId) : new ClientResponse.Value(requestId, value);
    }

    private ClientResponse refusal(long requestId, SubmitResult result) {
        if (result.status() == SubmitResult.Status.OVERLOADED) {
            return new ClientResponse.Error(requestId, ErrorCode.OVERLOADED, "too much uncommitted data or too many pending reads; retry later");
        }
        ClusterConfig.Member leader = cluster.member(result.leaderId());
        return leader == null
                ? new ClientResponse.NotLeader(requestId, 0, "", 0)
                : new ClientResponse.NotLeader(requestId, leader.id(), leader.host(), leader.port());
    }

    private static ClientResponse timeout(long requestId) {
        return new ClientResponse.Error(requestId, ErrorCode.TIMEOUT, "no answer within the deadline: the request may or may not have taken effect");
    }

    private void reply(Connection c, ClientResponse response) {
        if (c.isOpen()) c.send(Codec.response(response));
    }

    private void fatal(String message, Throwable t) {
        log.error(message, t);
        Runtime.getRuntime().halt(70);
    }
}
