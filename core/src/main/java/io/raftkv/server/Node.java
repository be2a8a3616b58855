package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.net.EventLoop;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Membership;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.metrics.Health;
import io.raftkv.server.metrics.HttpEndpoint;
import io.raftkv.server.metrics.LoopView;
import io.raftkv.server.metrics.NodeHttp;
import io.raftkv.server.metrics.NodeMetrics;
import io.raftkv.snapshot.SnapshotDirectory;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
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
    /** Tests and benchmarks only: milliseconds added to every WAL sync, a slow disk (docs/benchmarks.md). */
    static final String SYNC_DELAY_PROPERTY = "raftkv.test.walSyncDelayMs";

    private final ClusterView cluster;
    private final int id;
    private final NodeOptions options;
    private final Log log;
    private final EventLoop loop;
    private final WriteAheadLog wal;
    /** The WAL behind its own thread: the loop hands it writes and hears back. */
    private final WalDurableLog durableLog;
    private final RaftCore core;
    private final ClientRequests requests;
    private final PeerLinks peers;
    private final ReplicaDriver<ApplyResult> driver;
    private final Snapshots snapshots;
    private final InboundConnections inbound;
    private final Watches watches;
    private final AutoCompactor autoCompactor;
    private final Lessor lessor;
    private final KvStateMachine kv;
    private final MembershipRequests memberships;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private String lastLeaderSeen;
    private final ClusterConfig.Member selfAddress;
    private Membership lastMembership;
    private Membership lastAppliedMembership;
    /** Ticks since the start: peer links ping every heartbeatTicks of them. */
    private long ticks;
    /** The tick at which a message from the leader this node follows last came in: /health's "heard from recently". */
    private long leaderHeardTick;
    private final NodeMetrics metrics;
    /** The metrics and health endpoint on its own thread; null when metricsPort is 0. */
    private HttpEndpoint http;
    private boolean stopping;
    /** Null without TLS. */
    private final NodeTls tls;

    /**
     * Who this node is in which cluster, decided before it opens anything: the cluster id, the configuration its log
     * starts from, and the members it knows before its log tells it any ({@code joinView}, null unless it joins).
     */
    private record Identity(long clusterId, Membership bootstrap, Membership joinView, long joinIndex) { }

    private Node(Identity identity, int id, Path dataDir, NodeOptions options, ClusterConfig nodesConf, InjectedRequestBug bug, NodeTls tls) throws IOException {
        this.id = id;
        this.tls = tls;
        this.options = options;
        this.log = new Log(id);
        // Timers for the links to as many members as a configuration may list, and the membership requests' deadlines.
        int peersMax = Membership.MEMBERS_MAX + MembershipRequests.PENDING_MAX + 1;
        options.validate(0);
        this.wal = WriteAheadLog.open(dataDir, options.walOptions());
        this.metrics = new NodeMetrics(id, wal.dir());
        MemberMarker marker = new MemberMarker(dataDir, identity.clusterId(), id, identity.bootstrap(), identity.joinView(), identity.joinIndex());
        this.kv = new KvStateMachine(options.resultBytesMax());
        Snapshots.Recovered recovered;
        try {
            recovered = Snapshots.recover(SnapshotDirectory.open(dataDir), wal, kv, options, log);
            marker.check(wal.entries().isEmpty() && wal.hardState().equals(HardState.EMPTY) && recovered.snapshot().index() == 0);
            this.loop = new EventLoop(new EventLoop.Limits(options.frameBytesMax(), options.outboundBytesPerConnectionMax(),
                    options.clientOutboundBytesMax(), 100_000, options.timersMax(peersMax), 10_000));
        } catch (IOException | RuntimeException e) {
            wal.close();
            throw e;
        }
        MemoryStorage storage = recovered.storage();
        log.info("recovered " + (storage.lastIndex() - storage.firstIndex() + 1) + " log entries after snapshot " + recovered.snapshot() + ", "
                + wal.hardState() + " from " + dataDir);
        this.durableLog = new WalDurableLog(wal, storage, marker, loop, id, Long.getLong(SYNC_DELAY_PROPERTY, 0L),
                e -> fatal("write-ahead log failed: the node stops rather than acknowledge what may not be durable", e), metrics);
        this.snapshots = new Snapshots(SnapshotDirectory.open(dataDir), loop, kv, recovered, durableLog, id, log, options, metrics);
        RaftConfig config = new RaftConfig(id, identity.bootstrap())
                .electionTicks(options.electionTicks())
                .heartbeatTicks(options.heartbeatTicks())
                .bytesPerMessageMax(options.raftBytesPerMessageMax())
                .inflightMessagesMax(options.raftInflightMessagesMax())
                .inflightBytesMax(options.raftInflightBytesMax())
                .randomSeed(System.nanoTime())
                .leaseReads(options.leaseReads())
                .appliedIndex(kv.appliedIndex());
        this.core = new RaftCore(config, storage);
        snapshots.setCore(core);
        boolean fromLog = !core.membership().members().isEmpty() && core.membershipIndex() >= identity.joinIndex();
        Membership known = fromLog ? core.membership() : identity.joinView();
        try {
            checkMembership(known, identity, nodesConf);
        } catch (IOException e) {
            wal.close();
            throw e;
        }
        this.cluster = new ClusterView(identity.clusterId(), id, known, fromLog ? core.membershipIndex() : identity.joinIndex(), nodesConf);
        // A removal of this node only appended leaves it out of the latest configuration: it still serves where it did.
        this.selfAddress = cluster.member(id, core.committedMembership());
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
        // Expiries on the node's monotonic clock, checked every tick; a new leader adds an election timeout to every lease.
        this.lessor = new Lessor(core, kv, EventLoop::nowMs, options.electionTimeoutMs(), options.tickMs(), Lessor.REVOKES_PER_SECOND_MAX);
        this.requests = new ClientRequests(id, cluster::member, core, kv, lessor, timers, new ClientRequests.Limits(options.pendingRequestsMax(),
                options.requestTimeoutMs(), options.keyBytesMax(), options.valueBytesMax(), BARRIER_RETRY_MS, options.txnOpsMax(),
                options.commandBytesMax(), options.resultBytesMax(), options.leasesMax(), options.keysPerLeaseMax(), options.leaseTtlSecondsMin()),
                new SecureRandom().nextLong(),
                options.leaseReads() ? new ReadLease(options.electionTimeoutMs(), options.tickMs(), options.leaseReadClockDriftPercent(), EventLoop::nowMs) : null,
                bug);
        requests.serveAuth(loop::execute);
        this.autoCompactor = new AutoCompactor(core, kv, timers, options.autoCompactionRetentionRevisions(), options.autoCompactionRetentionMs(), options.autoCompactionIntervalMs());
        this.memberships = new MembershipRequests(core, cluster, timers, options.requestTimeoutMs());
        this.watches = new Watches(kv::store, id, core::term, EventLoop::nowMs, options.watchLimits());
        kv.setChangeListener(watches);
        this.peers = new PeerLinks(loop, cluster, log, snapshots, options.snapshotChunkBytesMax(),
                new PeerLink.Timing(options.peerSilenceMs(), options.peerConnectTimeoutMs(), options.peerRedialMsMax()),
                () -> removed("a peer refused this node: the cluster removed it"), tls, metrics);
        ReplicaDriver.Listener<ApplyResult> listener = new ReplicaDriver.Listener<>() {
            @Override
            public void applied(Entry e, ApplyResult result) {
                requests.applied(e, result);
                lessor.applied(e, result);
                if (Membership.isConfigEntry(e)) memberships.applied(e);
            }

            @Override
            public void readable(ReadState read) {
                requests.readable(read);
            }
        };
        this.driver = new ReplicaDriver<>(core, peers, durableLog, kv, listener, snapshots);
        this.inbound = new InboundConnections(cluster, loop, log, options.connectionsMax(), HELLO_TIMEOUT_MS, options.peerSilenceMs(), requests, memberships,
                peer -> core.appliedMembership().wasRemoved(peer), this::stepFromPeer, snapshots, snapshots, watches, this::fatal, tls,
                options.tls().handshakeTimeoutMs(), metrics);
        this.lastMembership = core.membership();
        this.lastAppliedMembership = core.appliedMembership();
        publishView();
    }

    /**
     * Refuses to start a node that the configuration it knows leaves out (it was removed), and says when
     * {@code nodes.conf} disagrees with the log: once a cluster has started, its log decides who the members are.
     */
    private void checkMembership(Membership known, Identity identity, ClusterConfig nodesConf) throws IOException {
        if (known == null) {
            throw new IOException("node " + id + " joined a cluster but holds no configuration yet: start it again with --join HOST:PORT of a member");
        }
        // Only a committed removal counts: one merely appended (by a leader deposed before it committed) may be cut.
        if (core.committedMembership().wasRemoved(id)) {
            throw new IOException("node " + id + " was removed from the cluster: its data directory cannot serve again. "
                    + "Add a new member with another id and an empty data directory (docs/membership.md)");
        }
        if (!known.contains(id) && !known.wasRemoved(id)) throw new IOException("node " + id + " is not a member of the cluster's configuration " + known);
        boolean agrees = nodesConf == null || identity.joinView() != null || (nodesConf.localAddresses()
                ? ClusterView.bootstrapOf(nodesConf).voters().equals(known.voters()) && known.learners().isEmpty()
                : ClusterView.bootstrapOf(nodesConf).equals(known));
        if (!agrees) {
            log.info("nodes.conf lists " + ClusterView.bootstrapOf(nodesConf) + ", the log says " + known
                    + ": the log wins (nodes.conf only starts a new cluster; see docs/membership.md)");
        }
    }

    /** Opens the data directory, binds the node's port and runs the node on a thread of its own. */
    public static Node start(ClusterConfig cluster, int id, Path dataDir, NodeOptions options) throws IOException {
        return start(cluster, id, dataDir, options, InjectedRequestBug.NONE);
    }

    /** Tests only: a node with a deliberate bug in its request table. */
    static Node start(ClusterConfig cluster, int id, Path dataDir, NodeOptions options, InjectedRequestBug bug) throws IOException {
        NodeTls tls = NodeTls.load(options.tls().forNode(id));
        return run(identify(cluster, List.of(), id, dataDir, options, tls), id, dataDir, options, cluster, bug, tls);
    }

    /**
     * Starts a node that joins a running cluster: with an empty data directory, it asks one of {@code members} for
     * the configuration (the node must have been added with {@code raftkvctl member add} first) and catches up from
     * the leader, by snapshot when the leader's log is compacted. A restart after that needs no {@code --join}.
     */
    public static Node join(List<InetSocketAddress> members, int id, Path dataDir, NodeOptions options) throws IOException {
        NodeTls tls = NodeTls.load(options.tls().forNode(id));
        return run(identify(null, members, id, dataDir, options, tls), id, dataDir, options, null, InjectedRequestBug.NONE, tls);
    }

    private static Identity identify(ClusterConfig nodesConf, List<InetSocketAddress> join, int id, Path dataDir, NodeOptions options, NodeTls tls)
            throws IOException {
        javax.net.SocketFactory sockets = tls == null ? javax.net.SocketFactory.getDefault() : tls.socketFactory();
        MemberMarker.Stored stored = MemberMarker.read(dataDir);
        if (stored != null) {
            if (stored.nodeId() != id) throw new IOException(dataDir + " belongs to node " + stored.nodeId() + ", not " + id);
            Membership bootstrap = stored.bootstrap();
            if (bootstrap == null) {
                if (nodesConf == null) throw new IOException(dataDir + " was started from nodes.conf: start it with --config");
                bootstrap = ClusterView.bootstrapOf(nodesConf);
            }
            if (bootstrap.members().isEmpty() && !join.isEmpty()) {
                JoinLookup.Found found = JoinLookup.fetch(join, options.requestTimeoutMs(), sockets);
                if (found.clusterId() != stored.clusterId()) {
                    throw new IOException(dataDir + " belongs to cluster " + Long.toHexString(stored.clusterId()) + ", not " + Long.toHexString(found.clusterId()));
                }
                return new Identity(stored.clusterId(), bootstrap, found.membership(), found.configIndex());
            }
            return new Identity(stored.clusterId(), bootstrap, stored.joinView(), stored.joinIndex());
        }
        if (!join.isEmpty()) {
            JoinLookup.Found found = JoinLookup.fetchListing(join, id, options.requestTimeoutMs(), sockets);
            if (!found.membership().contains(id)) {
                throw new IOException("node " + id + " is not a member of the cluster " + found.membership()
                        + ": add it first (raftkvctl member add " + id + " HOST:PORT --learner)");
            }
            return new Identity(found.clusterId(), Membership.EMPTY, found.membership(), found.configIndex());
        }
        if (nodesConf == null) throw new IllegalArgumentException("no nodes.conf and nothing to join");
        if (nodesConf.member(id) == null) throw new IllegalArgumentException("node " + id + " is not in the cluster config " + nodesConf.ids());
        return new Identity(nodesConf.clusterId(), ClusterView.bootstrapOf(nodesConf), null, 0);
    }

    private static Node run(Identity identity, int id, Path dataDir, NodeOptions options, ClusterConfig nodesConf, InjectedRequestBug bug, NodeTls tls)
            throws IOException {
        Node node = new Node(identity, id, dataDir, options, nodesConf, bug, tls);
        ClusterConfig.Member self = node.selfAddress;
        if (options.metricsPort() != 0) {
            InetSocketAddress address = new InetSocketAddress(self.host(), options.metricsPort());
            try {
                node.http = new HttpEndpoint(address, HttpEndpoint.Limits.DEFAULTS, NodeHttp.routes(node.metrics,
                        new Health(node.metrics, Health.Limits.forElectionTimeout(options.electionTimeoutMs()))), "raftkv-http-" + id, node.log::warn);
            } catch (IOException e) {
                node.wal.close();
                throw new IOException("cannot listen for metrics on " + address + ": " + e.getMessage(), e);
            }
        }
        try {
            node.loop.listen(new InetSocketAddress(self.host(), self.port()), tls == null ? null : tls::accepted, node.inbound::accept);
        } catch (IOException e) {
            if (node.http != null) node.http.close();
            node.wal.close();
            throw new IOException("cannot listen on " + self + ": " + e.getMessage(), e);
        }
        if (node.http != null) node.http.start();
        Thread thread = new Thread(node::run, "raftkv-node-" + id);
        thread.start();
        return node;
    }

    /**
     * Stops the node from any thread: a leader first hands leadership to the most caught-up voter (thesis §3.10), so
     * that a rolling restart has no election gap, waiting for it at most an election timeout; then the loop finishes
     * its turn, the WAL is synced and closed.
     */
    public void stop() {
        if (!loop.execute(this::handOverAndStop)) loop.stop();
    }

    private void handOverAndStop() {
        if (stopping) return;
        stopping = true;
        int target = core.mostCaughtUpVoter();
        if (target == RaftCore.NONE || !core.transferLeadership(target).accepted()) {
            loop.stop();
            return;
        }
        log.info("stopping: handing leadership to node " + target);
        long deadline = System.nanoTime() + options.electionTicks() * options.tickMs() * 1_000_000L;
        awaitHandOver(deadline);
    }

    private void awaitHandOver(long deadlineNanos) {
        if (core.role() != Role.LEADER || System.nanoTime() >= deadlineNanos) {
            loop.stop();
            return;
        }
        loop.schedule(Math.max(1, options.tickMs() / 4), () -> awaitHandOver(deadlineNanos));
    }

    /** The cluster removed this node: it stops, and says why. */
    private void removed(String why) {
        if (stopping) return;
        stopping = true;
        log.warn("node " + id + " was removed from the cluster (" + why + "): stopping. Its data directory cannot serve again");
        loop.stop();
    }

    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    private void run() {
        try {
            log.info("listening on " + selfAddress + ", cluster " + Long.toHexString(cluster.clusterId()) + ", " + cluster.membership()
                    + (tls == null ? "" : ", " + tls)
                    + (http == null ? "" : "; metrics and health on http://" + selfAddress.host() + ":" + options.metricsPort()));
            durableLog.start();
            peers.start();
            loop.setTurnHook(this::endOfTurn);
            // etcd's --initial-election-tick-advance: a node just started has heard no leader, so it counts all but
            // one tick of the election timeout as passed and a restarted cluster elects in [1, electionTicks] ticks
            // instead of [electionTicks, 2 electionTicks). Safe whatever the others do: with PreVote a node that
            // campaigns while a leader is alive is refused without disturbing anyone.
            // Not with lease reads: then a node just started keeps out of elections for an election timeout (RaftConfig).
            if (!options.leaseReads()) for (int i = 0; i < options.electionTicks() - 1; i++) core.tick();
            loop.schedule(options.tickMs(), this::tick);
            loop.schedule(0, requests::startBarrier);
            autoCompactor.start();
            loop.run();
            snapshots.close();
            durableLog.close();
            log.info("stopped" + (options.leaseReads() ? " (" + requests.leaseReads() + " linearizable reads served from the read lease)" : ""));
        } catch (Throwable t) {
            fatal("node stopped by an unexpected error", t);
        } finally {
            if (http != null) http.close();
            stopped.countDown();
        }
    }

    private void tick() {
        core.tick();
        watches.tick();
        lessor.tick();
        if (++ticks % options.heartbeatTicks() == 0) {
            peers.heartbeat();
            inbound.heartbeat();
            requests.renewReadLease();
        }
        publishView();
        loop.schedule(options.tickMs(), this::tick);
    }

    /** What the metrics and health endpoint reads, whole, from the loop's state now. */
    private void publishView() {
        RaftStatus s = core.status();
        long leaderSilentMs = s.leader() == RaftCore.NONE ? -1 : s.leader() == id ? 0 : (ticks - leaderHeardTick) * options.tickMs();
        metrics.publish(new LoopView(System.nanoTime(), s.role(), s.term(), s.leader(), leaderSilentMs, s.commit(), s.applied(), requests.pending(),
                requests.caughtUpSinceStart(), inbound.clients(), loop.connections(), requests.heldTotal(), requests.heldAnsweredAtOnce()));
    }

    /** A Raft message from a peer's link; one from the leader this node follows is /health's "heard from recently". */
    private void stepFromPeer(Message m) {
        core.step(m);
        if (m.from() == core.leader()) leaderHeardTick = ticks;
    }

    private void endOfTurn() {
        try {
            driver.process();
            while (requests.afterTurn()) driver.process();
        } catch (IOException e) {
            fatal("write-ahead log failed: the node stops rather than acknowledge what may not be durable", e);
        }
        snapshots.afterTurn();
        kv.trimCompacted();
        followMembership();
        memberships.afterTurn();
        reportLeaderChange();
    }

    /** A configuration appended (or cut away) changes whom the node talks to; one applied without it removes it. */
    private void followMembership() {
        Membership latest = core.membership();
        if (latest != lastMembership) {
            lastMembership = latest;
            if (cluster.update(latest, core.membershipIndex())) {
                log.info("configuration at index " + core.membershipIndex() + ": " + latest);
                peers.reconcile(cluster.peers());
                inbound.membersChanged();
            }
        }
        Membership applied = core.appliedMembership();
        if (applied != lastAppliedMembership) {
            lastAppliedMembership = applied;
            inbound.membersChanged(); // a removal now committed: its node is told, and stops
        }
        if (applied.wasRemoved(id)) removed("the configuration it applied leaves it out");
    }

    private void reportLeaderChange() {
        RaftStatus s = core.status();
        String now = s.leader() + "/" + s.term();
        if (now.equals(lastLeaderSeen)) return;
        lastLeaderSeen = now;
        if (s.leader() == RaftCore.NONE) return;
        metrics.leaderChanged();
        log.info("term " + s.term() + ": leader is node " + s.leader() + (s.leader() == id ? " (this node)" : ""));
    }

    private void fatal(String message, Throwable t) {
        log.error(message, t);
        Runtime.getRuntime().halt(70);
    }
}
