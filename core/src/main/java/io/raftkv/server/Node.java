package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.net.EventLoop;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.HardState;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.RaftStatus;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.snapshot.SnapshotDirectory;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.CountDownLatch;

/**
 * One raftkv node: wires the replica ({@link ReplicaDriver} over a {@link RaftCore}, the WAL and the
 * {@link KvStateMachine}) to the {@link EventLoop}: peer links as its transport, accepted connections routed to
 * the core and the {@link ClientRequests} table, the loop's timer wheel for ticks and deadlines. Everything runs
 * on the loop thread; the end of each loop turn processes the core's Ready, with one WAL sync for the whole
 * turn (group commit).
 */
public final class Node {

    private static final long HELLO_TIMEOUT_MS = 10_000;
    private static final long BARRIER_RETRY_MS = 200;

    private final ClusterConfig cluster;
    private final int id;
    private final NodeOptions options;
    private final Log log;
    private final EventLoop loop;
    private final WriteAheadLog wal;
    private final RaftCore core;
    private final ClientRequests requests;
    private final PeerLinks peers;
    private final ReplicaDriver<ApplyResult> driver;
    private final Snapshots snapshots;
    private final InboundConnections inbound;
    private final AutoCompactor autoCompactor;
    private final KvStateMachine kv;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private String lastLeaderSeen;

    private Node(ClusterConfig cluster, int id, Path dataDir, NodeOptions options, InjectedRequestBug bug) throws IOException {
        this.cluster = cluster;
        this.id = id;
        this.options = options;
        this.log = new Log(id);
        if (cluster.member(id) == null) throw new IllegalArgumentException("node " + id + " is not in the cluster config " + cluster.ids());
        int peerCount = cluster.members().size() - 1;
        options.validate(peerCount);
        this.wal = WriteAheadLog.open(dataDir, options.walOptions());
        MemberMarker marker = new MemberMarker(dataDir, cluster.clusterId(), id);
        this.kv = new KvStateMachine(options.resultBytesMax());
        Snapshots.Recovered recovered;
        try {
            recovered = Snapshots.recover(SnapshotDirectory.open(dataDir), wal, kv, options, log);
            marker.check(wal.entries().isEmpty() && wal.hardState().equals(HardState.EMPTY) && recovered.snapshot().index() == 0);
            this.loop = new EventLoop(new EventLoop.Limits(options.frameBytesMax(), options.outboundBytesPerConnectionMax(),
                    options.clientOutboundBytesMax(), 100_000, options.timersMax(peerCount), 10_000));
        } catch (IOException | RuntimeException e) {
            wal.close();
            throw e;
        }
        MemoryStorage storage = recovered.storage();
        log.info("recovered " + (storage.lastIndex() - storage.firstIndex() + 1) + " log entries after snapshot " + recovered.snapshot() + ", "
                + wal.hardState() + " from " + dataDir);
        this.snapshots = new Snapshots(SnapshotDirectory.open(dataDir), loop, kv, recovered, wal, cluster.ids(), id, log, options);
        RaftConfig config = new RaftConfig(id, cluster.ids())
                .electionTicks(options.electionTicks())
                .heartbeatTicks(options.heartbeatTicks())
                .bytesPerMessageMax(options.raftBytesPerMessageMax())
                .inflightMessagesMax(options.raftInflightMessagesMax())
                .inflightBytesMax(options.raftInflightBytesMax())
                .randomSeed(System.nanoTime())
                .appliedIndex(kv.appliedIndex());
        this.core = new RaftCore(config, storage);
        snapshots.setCore(core);
        Timers timers = new Timers() {
            @Override
            public long schedule(long delayMs, Runnable task) {
                return loop.schedule(delayMs, task);
            }

            @Override
            public void cancel(long timerId) {
                loop.cancel(timerId);
            }
        };
        this.requests = new ClientRequests(id, cluster, core, kv, timers, new ClientRequests.Limits(options.pendingRequestsMax(),
                options.requestTimeoutMs(), options.keyBytesMax(), options.valueBytesMax(), BARRIER_RETRY_MS, options.txnOpsMax(),
                options.commandBytesMax(), options.resultBytesMax()), new SecureRandom().nextLong(), bug);
        this.autoCompactor = new AutoCompactor(core, kv, timers, options.autoCompactionRetentionRevisions(), options.autoCompactionIntervalMs());
        this.peers = new PeerLinks(loop, cluster, id, log, snapshots, options.snapshotChunkBytesMax());
        this.driver = new ReplicaDriver<>(core, peers, new WalDurableLog(wal, storage, marker), kv, requests, snapshots);
        this.inbound = new InboundConnections(id, cluster, loop, log, options.connectionsMax(), HELLO_TIMEOUT_MS, requests, core::step,
                snapshots, snapshots, this::fatal);
    }

    /** Opens the data directory, binds the node's port and runs the node on a thread of its own. */
    public static Node start(ClusterConfig cluster, int id, Path dataDir, NodeOptions options) throws IOException {
        return start(cluster, id, dataDir, options, InjectedRequestBug.NONE);
    }

    /** Tests only: a node with a deliberate bug in its request table. */
    static Node start(ClusterConfig cluster, int id, Path dataDir, NodeOptions options, InjectedRequestBug bug) throws IOException {
        Node node = new Node(cluster, id, dataDir, options, bug);
        ClusterConfig.Member self = cluster.member(id);
        try {
            node.loop.listen(new InetSocketAddress(self.host(), self.port()), node.inbound::accept);
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
            peers.start();
            loop.setTurnHook(this::endOfTurn);
            // etcd's --initial-election-tick-advance: a node just started has heard no leader, so it counts all but
            // one tick of the election timeout as passed and a restarted cluster elects in [1, electionTicks] ticks
            // instead of [electionTicks, 2 electionTicks). Safe whatever the others do: with PreVote a node that
            // campaigns while a leader is alive is refused without disturbing anyone.
            for (int i = 0; i < options.electionTicks() - 1; i++) core.tick();
            loop.schedule(options.tickMs(), this::tick);
            loop.schedule(0, requests::startBarrier);
            autoCompactor.start();
            loop.run();
            snapshots.close();
            wal.close();
            log.info("stopped");
        } catch (Throwable t) {
            fatal("node stopped by an unexpected error", t);
        } finally {
            stopped.countDown();
        }
    }

    private void tick() {
        core.tick();
        loop.schedule(options.tickMs(), this::tick);
    }

    private void endOfTurn() {
        try {
            driver.process();
        } catch (IOException e) {
            fatal("write-ahead log failed: the node stops rather than acknowledge what may not be durable", e);
        }
        snapshots.afterTurn();
        kv.trimCompacted();
        reportLeaderChange();
    }

    private void reportLeaderChange() {
        RaftStatus s = core.status();
        String now = s.leader() + "/" + s.term();
        if (now.equals(lastLeaderSeen)) return;
        lastLeaderSeen = now;
        if (s.leader() != RaftCore.NONE) log.info("term " + s.term() + ": leader is node " + s.leader() + (s.leader() == id ? " (this node)" : ""));
    }

    private void fatal(String message, Throwable t) {
        log.error(message, t);
        Runtime.getRuntime().halt(70);
    }
}
