package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.InjectedKvBug;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvSnapshot;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.InjectedBug;
import io.raftkv.raft.Membership;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;
import io.raftkv.raft.SnapshotId;
import io.raftkv.raft.SubmitResult;
import io.raftkv.replica.InjectedDriverBug;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.AutoCompactor;
import io.raftkv.server.ClientRequests;
import io.raftkv.server.InjectedLeaseBug;
import io.raftkv.server.InjectedRequestBug;
import io.raftkv.server.Watches;
import io.raftkv.server.Lessor;
import io.raftkv.server.ReadLease;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * A whole cluster in one thread, on virtual time, from one seed (the VOPR idea). Each node runs the real
 * replica: {@link RaftCore} driven by the {@link ReplicaDriver}, the {@link KvStateMachine}, and the
 * {@link ClientRequests} table with its deadlines and start-up barrier; only the network, the disk and the
 * clock are simulated. Crashes keep exactly what was persisted. Clients send real requests and read real
 * answers, and their history is checked for linearizability at the end. Safety properties are checked after
 * every event by {@link SafetyChecker}. With {@link Options#withWatches()}, every node also runs its watch hub for
 * simulated watching clients ({@link SimWatchers}), whose every delivery {@link WatchChecker} checks against the
 * committed history.
 */
public final class Simulation {

    /**
     * What one run does; {@link #forSeed(long)} derives everything but the seed's own randomness. {@code nodes}: the
     * first voters (ids 1..nodes); {@code spareNodes}: ids after them that the membership operator may add, 0 for a
     * run without the operator (the configuration then never changes).
     */
    public record Options(long seed, int nodes, int spareNodes, long faultsMs, int clients, int keys, InjectedBug bug, InjectedDriverBug driverBug,
                          InjectedRequestBug requestBug, InjectedKvBug kvBug, boolean watches, InjectedWatcherBug watcherBug,
                          InjectedLeaseBug leaseBug, LeaseReads leaseReads) {

        /**
         * Lease reads on, every node's clock (its ticks and its read lease) running at a rate in [clockRateMin,
         * clockRateMax] of the simulated time: the lease holds while no clock runs slower than another by more than the
         * drift bound. {@code leaseClient}: the lease client runs; its checks too assume clocks within the bound (a deposed
         * leader whose clock runs slow renews leases another leader expires).
         */
        public record LeaseReads(double clockRateMin, double clockRateMax, boolean leaseClient) {
            /** Within the bound of {@link #LEASE_CLOCK_DRIFT_PERCENT} (0.955 / 1.045 &gt; 0.9): a leader's lease ends before a follower's. */
            static final LeaseReads WITHIN_BOUND = new LeaseReads(0.955, 1.045, true);
            /** Clocks down to a twentieth as fast as another's: a leader deposed meanwhile may still think it holds its lease. */
            public static final LeaseReads CLOCKS_TOO_SLOW = new LeaseReads(0.05, 1.0, false);
        }

        /** Seeds whose number is 1 or 2 modulo {@link #MEMBERSHIP_SEEDS_MODULUS} run the membership operator: 3 and 5 nodes alike. */
        static final int MEMBERSHIP_SEEDS_MODULUS = 4;
        static final int SPARE_NODES = 3;

        public static Options forSeed(long seed) {
            long m = Math.floorMod(seed, MEMBERSHIP_SEEDS_MODULUS);
            return new Options(seed, seed % 2 == 0 ? 3 : 5, m == 1 || m == 2 ? SPARE_NODES : 0, 15_000, 5, 3, InjectedBug.NONE, InjectedDriverBug.NONE,
                    InjectedRequestBug.NONE, InjectedKvBug.NONE, false, InjectedWatcherBug.NONE, InjectedLeaseBug.NONE,
                    seed % 3 == 0 ? LeaseReads.WITHIN_BOUND : null);
        }

        public Options withBug(InjectedBug b) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, b, driverBug, requestBug, kvBug, watches, watcherBug, leaseBug, leaseReads);
        }

        public Options withDriverBug(InjectedDriverBug b) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, b, requestBug, kvBug, watches, watcherBug, leaseBug, leaseReads);
        }

        public Options withRequestBug(InjectedRequestBug b) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, driverBug, b, kvBug, watches, watcherBug, leaseBug, leaseReads);
        }

        public Options withKvBug(InjectedKvBug b) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, driverBug, requestBug, b, watches, watcherBug, leaseBug, leaseReads);
        }

        public Options withFaultsMs(long ms) {
            return new Options(seed, nodes, spareNodes, ms, clients, keys, bug, driverBug, requestBug, kvBug, watches, watcherBug, leaseBug, leaseReads);
        }

        public Options withLeaseReads(LeaseReads l) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, driverBug, requestBug, kvBug, watches, watcherBug, leaseBug, l);
        }

        public Options withLeaseBug(InjectedLeaseBug b) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, driverBug, requestBug, kvBug, watches, watcherBug, b, leaseReads);
        }

        /** With watches: a hub on every node, watching clients and their checks ({@link SimWatchers}). */
        public Options withWatches() {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, driverBug, requestBug, kvBug, true, watcherBug, leaseBug, leaseReads);
        }

        /** With watches, and a deliberate mistake in the watching client. */
        Options withWatcherBug(InjectedWatcherBug b) {
            return new Options(seed, nodes, spareNodes, faultsMs, clients, keys, bug, driverBug, requestBug, kvBug, true, b, leaseBug, leaseReads);
        }

        /** With {@code n} spare ids for the membership operator, 0 for none. */
        public Options withSpareNodes(int n) {
            return new Options(seed, nodes, n, faultsMs, clients, keys, bug, driverBug, requestBug, kvBug, watches, watcherBug, leaseBug, leaseReads);
        }

        int poolSize() {
            return nodes + spareNodes;
        }
    }

    /** What a passing run covered. */
    public record Stats(long events, long operations, long unknownOperations, long faults, long crashes, long crashesWithWritesInProgress, long commits,
                        long ranges, long swapsWon, long swapsLost, long snapshotsTaken, long snapshotsInstalled,
                        MembershipOperator.Counts membership, SimWatchers.Counts watches,
                        long leasesGranted, long leaseRenewals, long leasesExpired, long leasesRevoked, long leaseReads,
                        long txnsHeld, long txnsHeldAnsweredAtOnce) { }

    static final long TICK_MS = 10;
    /** The clock drift bound lease reads are configured with, in percent of the election timeout (the node's default). */
    static final int LEASE_CLOCK_DRIFT_PERCENT = 10;
    static final int ELECTION_TICKS = 10;
    static final long OP_TIMEOUT_MS = 1_000;
    static final long READ_ATTEMPT_MS = 300;
    static final long RECOVERY_MS_MAX = 50 * ELECTION_TICKS * TICK_MS;
    static final long AUTO_COMPACTION_RETENTION_REVISIONS = 20;
    /** And the periodic rule, which binds when writes are few (a partition, a quiet spell): six checks of history. */
    static final long AUTO_COMPACTION_RETENTION_MS = 30 * TICK_MS;
    /** After the heal: stalled readers resume, cut clients reconnect, idle watches hear progress. */
    static final long WATCH_CATCH_UP_MS_MAX = 3_000;
    /** The request table's limits: a node's deadline is the client's, the barrier asks every two ticks as a node does. */
    static final ClientRequests.Limits REQUEST_LIMITS = new ClientRequests.Limits(1_000, OP_TIMEOUT_MS, 64, 1024, 2 * TICK_MS, 16,
            KvCommand.PUT_OVERHEAD_BYTES + 64 + 1024, 1 << 16, 64, 16, 1);

    /** A request in flight to a node, as the event trace shows it. */
    private record RequestLabel(int clientId, ClientRequest request, int node) {
        @Override
        public String toString() {
            return "client" + clientId + " request " + describe(request) + " -> n" + node;
        }
    }

    /** An answer in flight to a client. */
    private record ReplyLabel(int clientId, ClientResponse response, int node) {
        @Override
        public String toString() {
            return "client" + clientId + " reply " + describe(response) + " from n" + node;
        }
    }

    /** A crash the simulated disk causes in the middle of a sync: nothing of this Ready became durable. */
    private static final class CrashDuringSync extends IOException {
        CrashDuringSync(String message) {
            super(message);
        }
    }

    private final Options options;
    private final Random random;
    private final SimEvents events = new SimEvents();
    private final SimNetwork network;
    private final MembershipChecker membershipChecker;
    private final SafetyChecker checker;
    /** The pool of node slots: node id i is nodes.get(i - 1). */
    private final List<SimNode> nodes = new ArrayList<>();
    /** Null in a run without configuration changes. */
    private final MembershipOperator operator;
    /** Both null in a run without watches. */
    private final WatchChecker watchChecker;
    private final SimWatchers watchers;
    private final List<SimClient> clients = new ArrayList<>();
    /** The lease client's leases and the lease checks. */
    private final SimLeases leases = new SimLeases();
    private final List<Operation> history = new ArrayList<>();
    private final ClusterConfig cluster;
    private long historyClock;
    private boolean clientsStopped;
    private long faults;
    private long crashes;
    /** Crashes that found writes handed to the disk and not reported durable. */
    private long crashesWithWritesInProgress;
    private long unknownOps;
    private long ranges;
    private long swapsWon;
    private long swapsLost;
    private long snapshotsTaken;
    private long snapshotsInstalled;
    /** Drawn per run, so that seeds cover one-entry appends and deep pipelines alike. */
    private final int entriesPerMessageMax;
    private final int inflightMessagesMax;
    /**
     * How long a node's loop turn gathers client requests before its Ready is handled, in simulated ms: 0, each
     * request ends a turn of its own; 1, in a quarter of the seeds (by seed, so the others run as before), requests that
     * arrive within a millisecond share a turn, as they do in a busy node, where several transactions on one key arrive
     * before the first one's entry leaves.
     */
    private final int turnMs;
    /** Snapshot thresholds, drawn per run: entries applied since the last snapshot, and entries kept before it. */
    private final long snapshotEntries;
    private final long snapshotCatchUpEntries;
    private final Role[] lastRole;
    private final long[] lastTerm;

    public Simulation(Options options) {
        this.options = options;
        this.random = new Random(options.seed());
        this.network = new SimNetwork(options.poolSize(), random);
        List<Integer> voterIds = IntStream.rangeClosed(1, options.nodes()).boxed().toList();
        // Every id of the pool has an address, for the NOT_LEADER answers that name a leader.
        this.cluster = new ClusterConfig(IntStream.rangeClosed(1, options.poolSize()).mapToObj(id -> new ClusterConfig.Member(id, "sim", 2378 + id)).toList(),
                options.seed());
        this.lastRole = new Role[options.poolSize() + 1];
        this.lastTerm = new long[options.poolSize() + 1];
        this.entriesPerMessageMax = new int[]{1, 2, 8, 64}[random.nextInt(4)];
        this.inflightMessagesMax = new int[]{1, 4, 16}[random.nextInt(3)];
        this.snapshotEntries = new long[]{3, 10, 40, Long.MAX_VALUE}[random.nextInt(4)];
        this.snapshotCatchUpEntries = new long[]{0, 2, 10}[random.nextInt(3)];
        this.turnMs = options.seed() % 4 == 3 ? 4 : 0;
        Membership first = Membership.ofVoters(voterIds);
        for (int id = 1; id <= options.poolSize(); id++) {
            SimNode n = new SimNode(id);
            if (id <= options.nodes()) n.bootstrap = first;
            if (options.leaseReads() != null) {
                n.clockBaseMs = random.nextInt(1_000_000);
                driftClock(n);
            }
            nodes.add(n);
        }
        for (int c = 1; c <= options.clients(); c++) clients.add(new SimClient(c));
        this.membershipChecker = new MembershipChecker(nodes, first);
        this.checker = new SafetyChecker(membershipChecker);
        this.operator = options.spareNodes() > 0 ? new MembershipOperator(this, events, random, nodes) : null;
        this.watchChecker = options.watches() ? new WatchChecker(REQUEST_LIMITS.resultBytesMax(), options.kvBug()) : null;
        this.watchers = options.watches() ? new SimWatchers(this, events, nodes, options.seed(), watchChecker, options.watcherBug()) : null;
    }

    /** Runs the whole scenario; throws {@link SimulationFailure} with the seed, the broken property and the last events. */
    public Stats run() {
        try {
            for (SimNode n : nodes) if (n.id <= options.nodes()) launch(n);
            for (SimClient c : clients) events.after(random.nextInt(50), "client" + c.id + " starts", () -> nextOperation(c));
            events.after(200 + random.nextInt(500), "nemesis", this::nemesis);
            events.after(random.nextInt(100), "serializable read", this::serializableRead);
            if (options.leaseReads() == null || options.leaseReads().leaseClient()) events.after(random.nextInt(300), "lease client", this::leaseStep);
            // Now and then the operator starts before the first snapshots, so that a new node may catch up from the log's first entry.
            if (operator != null) events.after(random.nextInt(4) == 0 ? 100 + random.nextInt(100) : 300 + random.nextInt(700), "operator", operator::step);
            if (watchers != null) watchers.start();
            runFor(options.faultsMs());
            healEverything();
            runFor(OP_TIMEOUT_MS + 2 * READ_ATTEMPT_MS);
            long commits = checkRecovery();
            checkLeasesExpire();
            checkConvergence();
            if (watchers != null) checkWatchesCaughtUp();
            checkLinearizable();
            return new Stats(events.executed, history.size(), unknownOps, faults, crashes, crashesWithWritesInProgress, commits, ranges, swapsWon, swapsLost, snapshotsTaken, snapshotsInstalled,
                    operator == null ? MembershipOperator.Counts.NONE : operator.counts(membershipChecker),
                    watchers == null ? SimWatchers.Counts.NONE : watchers.counts(), leases.grants, leases.renewals, leases.expired, leases.revokedByClient,
                    leaseReadsServed + nodes.stream().filter(x -> x.up).mapToLong(x -> x.life.requests().leaseReads()).sum(),
                    txnsHeld + nodes.stream().filter(x -> x.up).mapToLong(x -> x.life.requests().heldTotal()).sum(),
                    txnsHeldAnsweredAtOnce + nodes.stream().filter(x -> x.up).mapToLong(x -> x.life.requests().heldAnsweredAtOnce()).sum());
        } catch (SimulationFailure | IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new SimulationFailure(failureReport(e));
        }
    }

    private String failureReport(RuntimeException e) {
        java.io.StringWriter stack = new java.io.StringWriter();
        if (!(e instanceof SimulationFailure)) e.printStackTrace(new java.io.PrintWriter(stack));
        return "simulation failed: " + e.getMessage() + "\n"
                + "  seed " + options.seed() + ", " + options.nodes() + " nodes, bug " + options.bug() + ", driver bug " + options.driverBug() + ", request bug " + options.requestBug() + ", kv bug " + options.kvBug()
                + (watchers == null ? "" : ", watches (" + watchers.describe() + "), watcher bug " + options.watcherBug())
                + ", " + entriesPerMessageMax + " entries per append, " + inflightMessagesMax + " in flight, turns of " + turnMs + " ms"
                + ", snapshot every " + snapshotEntries + " entries keeping " + snapshotCatchUpEntries
                + (operator == null ? "" : ", membership operator with " + options.spareNodes() + " spare ids, at least " + operator.votersMin() + " voters")
                + ", at " + events.nowMs() + "ms after " + events.executed + " events\n"
                + "  replay: mvn -pl core test " + (watchers == null ? "-Dtest=RaftSimulationTest -Draftkv.sim.seed=" : "-Dtest=WatchSimulationTest -Draftkv.sim.watchSeed=")
                + options.seed() + "\n"
                + "  network: " + network.describe() + "\n"
                + "  nodes: " + nodes.stream().filter(n -> n.started).map(n -> n.up ? n.core().status() + " " + n.core().membership()
                        + (n.zombie(events.nowMs()) ? " (removed, kept running)" : "") : "n" + n.id + (n.retired ? " stopped for good" : " down")).toList() + "\n"
                + "  committed configuration: " + membershipChecker.lastCommitted() + "\n"
                + "  last events:\n" + events.lastEvents(150) + stack;
    }

    private void runFor(long ms) {
        events.runUntil(events.nowMs() + ms, () -> false, this::afterEvent);
    }

    // ------------------------------------------------------------------ nodes: the real replica on simulated I/O

    private RaftConfig config(SimNode n) {
        return new RaftConfig(n.id, n.bootstrap)
                .electionTicks(ELECTION_TICKS)
                .heartbeatTicks(2)
                .entriesPerMessageMax(entriesPerMessageMax)
                .inflightMessagesMax(inflightMessagesMax)
                .randomSeed(options.seed() * 31 + n.lives)
                .leaseReads(options.leaseReads() != null)
                .injectedBug(options.bug());
    }

    /** Starts a node for the first time, and its ticks. */
    private void launch(SimNode n) {
        start(n);
        n.tickPhaseMs = random.nextInt((int) TICK_MS);
        events.after(n.tickPhaseMs, "tick n" + n.id, () -> tick(n));
    }

    /** The membership operator's new node: an empty disk and no configuration, as {@code raftkv --join} starts one. */
    void join(SimNode n, long addedAt) {
        if (n.started) throw new IllegalStateException("node " + n.id + " joins twice");
        n.bootstrap = Membership.EMPTY;
        n.joinIndex = addedAt;
        events.note("OPERATOR starts n" + n.id + " with an empty disk to join");
        launch(n);
    }

    private void start(SimNode n) {
        KvStateMachine kv = new KvStateMachine(REQUEST_LIMITS.resultBytesMax(), options.kvBug());
        SnapshotId snapshot = n.disk.snapshot();
        if (snapshot.index() > 0) {
            // A restart begins from the newest snapshot, which must hold what applying the log up to it gave.
            restore(kv, snapshot, n.disk.snapshotData());
            checker.onAppliedState(n, snapshot.index(), kv.revision(), kv.store().compactRevision(), kv.hash(), kv.size());
        }
        RaftCore core = new RaftCore(config(n).appliedIndex(snapshot.index()), n.disk.storage);
        if (refusesToStart(n, core)) return;
        SimTimers timers = new SimTimers(n.id, events, () -> process(n));
        // The leader's lessor on the simulated clock (one clock for all: no node's runs faster), ticked with the core.
        Lessor lessor = new Lessor(core, kv, events::nowMs, ELECTION_TICKS * TICK_MS, TICK_MS, Lessor.REVOKES_PER_SECOND_MAX, options.leaseBug());
        n.primarySince = -1;
        ReadLease readLease = options.leaseReads() == null ? null
                : new ReadLease(ELECTION_TICKS * TICK_MS, TICK_MS, LEASE_CLOCK_DRIFT_PERCENT, () -> n.clockMs(events.nowMs()));
        ClientRequests requests = new ClientRequests(n.id, cluster::member, core, kv, lessor, timers, REQUEST_LIMITS, random.nextLong(), readLease,
                options.requestBug());
        ReplicaDriver.Listener<ApplyResult> listener = new ReplicaDriver.Listener<>() {
            @Override
            public void applied(Entry e, ApplyResult result) {
                requests.applied(e, result);
                lessor.applied(e, result);
                if (n.primarySince < 0 && lessor.primary()) n.primarySince = events.nowMs();
            }

            @Override
            public void readable(io.raftkv.raft.ReadState read) {
                requests.readable(read);
            }
        };
        ReplicaDriver<ApplyResult> driver = new ReplicaDriver<>(core, transport(), durableLog(n), stateMachine(n, kv), listener,
                (id, membership) -> install(n, kv, id, membership), options.driverBug());
        // As Node wires it: the hub hears every applied change, is ticked with the core, and serves the node's clients.
        Watches hub = watchers == null ? null : new Watches(kv::store, n.id, core::term, events::nowMs, watchers.limits);
        if (hub != null) kv.setChangeListener(hub);
        n.start(new SimNode.Life(core, kv, requests, lessor, driver, timers, hub == null ? null : watchers.served(n, hub)));
        timers.schedule(0, requests::startBarrier);
        // Small retentions, so that compaction runs often, under every fault, and must agree on every node.
        new AutoCompactor(core, kv, timers, AUTO_COMPACTION_RETENTION_REVISIONS, AUTO_COMPACTION_RETENTION_MS, 5 * TICK_MS).start();
        process(n);
    }

    /**
     * What {@code Node.checkMembership} does at a start: a node whose committed configuration removed it refuses to start
     * (it stops for good). A node that joined keeps the members its join target named (its {@code member} file) until its
     * log reaches the entry that added it, so it is never refused for the older configurations before; a node that its
     * own configuration, from the log past that point, leaves out without removing it would be refused: counted.
     */
    private boolean refusesToStart(SimNode n, RaftCore core) {
        if (core.committedMembership().wasRemoved(n.id) && !n.zombie(events.nowMs())) {
            stopRemoved(n, "it refuses to start: its committed configuration removed it");
            return true;
        }
        Membership known = core.membership();
        boolean fromLog = !known.members().isEmpty() && core.membershipIndex() >= n.joinIndex;
        if (fromLog && !known.contains(n.id) && !known.wasRemoved(n.id) && n.lives > 0 && operator != null) {
            operator.restartsRefused++;
            events.note("n" + n.id + " would not restart as a real node: it is not a member of " + known);
        }
        return false;
    }

    private static void restore(KvStateMachine kv, SnapshotId id, byte[] data) {
        try {
            kv.restore(id.index(), new ByteArrayInputStream(data), REQUEST_LIMITS.keyBytesMax(), REQUEST_LIMITS.valueBytesMax());
        } catch (IOException e) {
            throw new IllegalStateException("snapshot " + id + " does not restore", e);
        }
    }

    /** The driver installs the snapshot the node received: its state must be what applying the log up to it gave. */
    private void install(SimNode n, KvStateMachine kv, SnapshotId id, Membership membership) {
        SimNode.ReceivedSnapshot r = n.received;
        if (r == null || !r.id().equals(id)) throw new IllegalStateException("node " + n.id + " installs " + id + " but received " + (r == null ? "none" : r.id()));
        n.received = null;
        if (watchers != null && n.life.watches().hub.size() > 0) watchers.snapshotsWithWatches++;
        restore(kv, id, r.data());
        n.disk.installSnapshot(id, membership, r.data(), r.prefixHashes());
        snapshotsInstalled++;
        checker.onAppliedState(n, id.index(), kv.revision(), kv.store().compactRevision(), kv.hash(), kv.size());
    }

    /**
     * Takes a snapshot once enough was applied since the last one, as a node's snapshot thread does: the state is
     * captured now, written some time later while the node goes on applying and compacting (the trim hold keeps
     * the versions it needs), and only then durable and the log compacted. A crash before that loses it.
     */
    private void maybeSnapshot(SimNode n) {
        KvStateMachine kv = n.kv();
        if (n.snapshotting || kv.appliedIndex() - n.disk.snapshot().index() < snapshotEntries) return;
        SimNode.Life life = n.life;
        Membership membership = life.core().appliedMembership();
        // As the real node (Snapshots.afterTurn): a node that joined and replays the log from before its addition knows
        // no configuration there, and takes no snapshot until it has applied one.
        if (membership.voters().isEmpty()) return;
        KvSnapshot snapshot = kv.snapshot();
        SnapshotId id = new SnapshotId(snapshot.appliedIndex(), n.disk.storage.term(snapshot.appliedIndex()));
        // A snapshot can go to any node that falls behind: it must carry the configuration committed at its index.
        membershipChecker.checkAppliedConfig(n, id.index(), membership, true);
        n.snapshotting = true;
        events.after(random.nextInt(30), "snapshot n" + n.id + " at " + id + " durable", () -> {
            if (n.life != life) return;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                snapshot.writeTo(out);
            } catch (IOException e) {
                throw new IllegalStateException("writing a snapshot to memory failed", e);
            }
            snapshot.release();
            n.snapshotting = false;
            // A leader's newer snapshot may have been installed meanwhile: this one is then of no use.
            if (id.index() > n.disk.snapshot().index()) {
                n.disk.saveSnapshot(id, membership, out.toByteArray(), Math.max(0, id.index() - snapshotCatchUpEntries));
                snapshotsTaken++;
            }
            process(n);
        });
    }

    private ReplicaDriver.Transport transport() {
        return new ReplicaDriver.Transport() {
            @Override
            public void send(Message m) {
                SimNode.ReceivedSnapshot snapshot = m.type() == MessageType.SNAPSHOT ? outgoingSnapshot(m) : null;
                int copies = network.copies();
                for (int i = 0; i < copies; i++) events.after(network.delayMs(m.from(), m.to()), m, () -> deliver(m, snapshot));
                if (m.type() == MessageType.SNAPSHOT && copies == 0) reportSnapshot(m, false);
            }

            @Override
            public void flush() {
                // Every message is on the simulated wire as soon as it is sent.
            }
        };
    }

    /**
     * The node's disk as the real node's WAL thread: writes are handed over and become durable later, in order, after a
     * random latency (now and then a slow one, as a disk shared with others); the driver goes on meanwhile.
     */
    private ReplicaDriver.DurableLog durableLog(SimNode n) {
        return new ReplicaDriver.DurableLog() {
            @Override
            public void persist(HardState hardState, List<Entry> entries, boolean sync, Runnable durable) throws IOException {
                if (n.crashAtNextSync && sync) throw new CrashDuringSync("during sync, before " + entries.size() + " entries were durable");
                SimNode.PendingWrite w = new SimNode.PendingWrite(hardState, entries, sync, durable);
                n.writing.add(w);
                handOver(n, entries);
                long doneAtMs = Math.max(n.diskFreeAtMs, events.nowMs() + diskLatencyMs());
                n.diskFreeAtMs = doneAtMs;
                SimNode.Life life = n.life;
                events.after(doneAtMs - events.nowMs(), "n" + n.id + " disk write durable", () -> {
                    // A crash dropped it, or the driver waited for it already.
                    if (n.life != life || !n.writing.contains(w)) return;
                    SimNode.PendingWrite done;
                    do {
                        done = n.writing.poll();
                        write(n, done);
                        done.durable().run();
                    } while (done != w);
                    process(n);
                });
            }

            @Override
            public void awaitDurable() {
                while (!n.writing.isEmpty()) {
                    SimNode.PendingWrite w = n.writing.poll();
                    write(n, w);
                    w.durable().run();
                }
            }
        };
    }

    private long diskLatencyMs() {
        return random.nextInt(25) == 0 ? 5 + random.nextInt(60) : random.nextInt(3);
    }

    /** The node hands entries to its disk: the core's log as the checker sees it. */
    private void handOver(SimNode n, List<Entry> entries) {
        long lastBefore = n.disk.handedLastIndex();
        n.disk.hand(entries);
        for (Entry e : entries) {
            if (e.data().length > 0 && e.data()[0] == KvCommand.LEASE_REVOKE) leases.revokePersisted(e.index(), e.term(), events.nowMs());
        }
        if (!entries.isEmpty()) checker.onPersist(n, entries.get(0).index(), lastBefore, n.core().status());
    }

    /** A write the node handed over reaches the disk. */
    private static void write(SimNode n, SimNode.PendingWrite w) {
        n.disk.persist(w.hardState(), w.entries(), w.sync());
    }

    private ReplicaDriver.StateMachine<ApplyResult> stateMachine(SimNode n, KvStateMachine kv) {
        return new ReplicaDriver.StateMachine<>() {
            @Override
            public ApplyResult apply(Entry e) {
                checker.onApply(n, e, n.core().term());
                if (watchChecker != null) watchChecker.onApply(e);
                ApplyResult result = kv.apply(e);
                checker.onAppliedState(n, e.index(), kv.revision(), kv.store().compactRevision(), kv.hash(), kv.size());
                if (result instanceof ApplyResult.LeaseRevoked r) leases.revokeApplied(e.index(), e.term(), r.leaseId());
                if (result instanceof ApplyResult.LeaseGranted) leases.grantApplied(e.index(), e.term(), events.nowMs());
                return result;
            }

            @Override
            public long appliedIndex() {
                return kv.appliedIndex();
            }
        };
    }

    /** What a real node does at the end of a loop turn: the driver handles the core's Ready. */
    void process(SimNode n) {
        if (!n.up) return;
        try {
            n.life.driver().process();
            while (n.life.requests().afterTurn()) n.life.driver().process();
            n.kv().trimCompacted();
            maybeSnapshot(n);
        } catch (CrashDuringSync e) {
            crash(n, e.getMessage());
            return;
        } catch (IOException e) {
            throw new IllegalStateException("simulated disk failed", e);
        }
        followMembership(n);
    }


    /**
     * The configuration {@code n} refuses removed peers by: its applied one, as the real node ({@code InboundConnections}):
     * a removal only appended may still be cut from the log, and a node stopped for it would be stopped for good.
     */
    private static Membership refusingConfig(SimNode n) {
        return n.core().appliedMembership();
    }

    /**
     * What {@code Node.followMembership} and its peer links do at the end of a loop turn: a new configuration closes
     * the links of the peers it removes, which are told so and stop ({@code InboundConnections.membersChanged}); a
     * node whose applied configuration removes it stops. Neither for a node kept running as if it never learnt.
     */
    private void followMembership(SimNode n) {
        Membership config = refusingConfig(n);
        if (config != n.membershipSeen) {
            n.membershipSeen = config;
            for (SimNode x : nodes) if (x != n && x.running() && config.wasRemoved(x.id)) refuse(x, n);
        }
        if (n.core().appliedMembership().wasRemoved(n.id) && !n.zombie(events.nowMs())) stopRemoved(n, "its applied configuration removes it");
    }

    /** {@code by} refuses the removed node {@code x} (REMOVED on their link): x stops when that reaches it. */
    private void refuse(SimNode x, SimNode by) {
        if (x.zombie(events.nowMs()) || !network.delivers(by.id, x.id)) return;
        events.after(network.delayMs(by.id, x.id), "n" + by.id + " tells n" + x.id + " it was removed", () -> {
            if (x.running() && !x.zombie(events.nowMs()) && network.delivers(by.id, x.id)) stopRemoved(x, "n" + by.id + " refused it: removed");
        });
    }

    /** A removed node kept running stops ignoring its removal: the first peer whose configuration removes it refuses it. */
    void refuseIfRemoved(SimNode x) {
        for (SimNode n : nodes) {
            if (n.up && n != x && refusingConfig(n).wasRemoved(x.id)) {
                refuse(x, n);
                return;
            }
        }
    }

    private void stopRemoved(SimNode n, String why) {
        if (!n.running()) return;
        boolean committed = membershipChecker.removedAt(n.id) >= 0;
        events.note("STOP n" + n.id + " for good: " + why + (committed ? "" : " (its removal is not committed yet)"));
        n.retire();
        if (operator != null) {
            operator.stoppedRemoved++;
            if (!committed) operator.stoppedBeforeRemovalCommitted++;
        }
    }

    /** Linearizable reads served from a read lease, by lives that ended. */
    private long leaseReadsServed;
    /** Transactions held behind another on the same key, by lives that ended; and of those, answered with the write they waited behind. */
    private long txnsHeld;
    private long txnsHeldAnsweredAtOnce;

    private void crash(SimNode n, String how) {
        leaseReadsServed += n.life.requests().leaseReads();
        txnsHeld += n.life.requests().heldTotal();
        txnsHeldAnsweredAtOnce += n.life.requests().heldAnsweredAtOnce();
        boolean powerLoss = random.nextBoolean();
        // Writes handed to the disk and not reported: the disk may have finished some of them, oldest first.
        int written = n.writing.isEmpty() ? 0 : random.nextInt(n.writing.size() + 1);
        events.note("CRASH n" + n.id + " " + how + (powerLoss ? ", power lost: unsynced writes gone" : "")
                + (n.writing.isEmpty() ? "" : ", " + written + " of " + n.writing.size() + " writes in progress durable"));
        if (!n.writing.isEmpty()) crashesWithWritesInProgress++;
        for (int i = 0; i < written; i++) write(n, n.writing.poll());
        n.writing.clear();
        if (powerLoss) n.disk.loseUnsynced();
        n.crash();
        crashes++;
        events.after(100 + random.nextInt(900), "restart n" + n.id, () -> {
            if (!n.up && !n.retired) start(n);
        });
    }

    private void tick(SimNode n) {
        if (n.retired) return;
        if (n.up) {
            n.core().tick();
            if (n.life.watches() != null) n.life.watches().hub.tick();
            n.life.lessor().tick();
            if (!n.life.lessor().primary()) n.primarySince = -1;
            // As the node: the read lease renewed every heartbeat (of 2 ticks).
            if (++n.ticks % 2 == 0) n.life.requests().renewReadLease();
            process(n);
        }
        events.after(tickDelayMs(n), "tick n" + n.id, () -> tick(n));
    }

    /** A tick every TICK_MS of the node's own clock: a slow clock ticks slowly, as the node's timer wheel would. */
    private long tickDelayMs(SimNode n) {
        if (n.clockRate == 1) return TICK_MS;
        long now = events.nowMs();
        long clockAtNextTick = n.clockMs(now) + TICK_MS;
        long at = n.clockBaseAtMs + (long) Math.ceil((clockAtNextTick - n.clockBaseMs) / n.clockRate);
        while (n.clockMs(at) < clockAtNextTick) at++;
        return Math.max(1, at - now);
    }

    /** A new rate for the node's clock, within the run's range: clocks drift apart, and a leader's may slow down after it won. */
    private void driftClock(SimNode n) {
        Options.LeaseReads l = options.leaseReads();
        n.clockRate(events.nowMs(), l.clockRateMin() + random.nextDouble() * (l.clockRateMax() - l.clockRateMin()));
    }

    /** The data a SNAPSHOT message carries: the sender's snapshot it names, as its transport streams the file. */
    private SimNode.ReceivedSnapshot outgoingSnapshot(Message m) {
        SimDisk disk = nodes.get(m.from() - 1).disk;
        SnapshotId id = new SnapshotId(m.index(), m.logTerm());
        if (!id.equals(disk.snapshot())) throw new IllegalStateException("node " + m.from() + " sends snapshot " + id + " but holds " + disk.snapshot());
        return new SimNode.ReceivedSnapshot(id, disk.snapshotData(), disk.prefixHashesUpTo(id.index()));
    }

    private void deliver(Message m, SimNode.ReceivedSnapshot snapshot) {
        SimNode to = nodes.get(m.to() - 1);
        SimNode from = nodes.get(m.from() - 1);
        boolean delivered = to.up && network.delivers(m.from(), m.to());
        if (delivered && !from.zombie(events.nowMs()) && refusingConfig(to).wasRemoved(from.id)) {
            // A peer's link from a node its configuration removed is refused (the hello check), and that node told.
            delivered = false;
            refuse(from, to);
        }
        if (snapshot != null) reportSnapshot(m, delivered);
        if (!delivered) return;
        if (snapshot != null) to.received = snapshot;
        to.core().step(m);
        process(to);
    }

    /** The sender's transport learns how the transfer ended: a stream that breaks, or one that was all written. */
    private void reportSnapshot(Message m, boolean delivered) {
        SimNode from = nodes.get(m.from() - 1);
        SimNode.Life life = from.life;
        events.after(1, "snapshot " + m.from() + "->" + m.to() + (delivered ? " delivered" : " failed"), () -> {
            if (!from.up || from.life != life) return;
            from.core().reportSnapshot(m.to(), delivered);
            process(from);
        });
    }

    private void afterEvent() {
        for (SimNode n : nodes) {
            if (!n.up) continue;
            RaftStatus s = n.core().status();
            if (s.role() != lastRole[n.id] || s.term() != lastTerm[n.id]) {
                events.note("  n" + n.id + " is " + s.role() + " in term " + s.term() + " (commit " + s.commit() + ", last " + s.lastIndex() + ")");
                lastRole[n.id] = s.role();
                lastTerm[n.id] = s.term();
            }
            checker.afterEvent(n, s);
        }
        if (operator != null) operator.afterEvent();
    }

    // ------------------------------------------------------------------ clients: real requests, real answers

    private void nextOperation(SimClient c) {
        if (clientsStopped) return;
        long opId = c.nextOpId();
        String key = "k" + random.nextInt(options.keys());
        int dice = random.nextInt(100);
        SimClient.Kind kind = dice < 35 ? SimClient.Kind.PUT : dice < 45 ? SimClient.Kind.DELETE : dice < 70 ? SimClient.Kind.GET
                : dice < 80 ? SimClient.Kind.RANGE : SimClient.Kind.CAS;
        String value = kind == SimClient.Kind.PUT || kind == SimClient.Kind.CAS ? "v" + c.id + "." + c.seq : null;
        String seen = c.lastSeen.get(key);
        String expected = kind == SimClient.Kind.CAS ? (seen != null ? seen : SimClient.NEVER_WRITTEN) : null;
        Long seenAt = c.lastSeenModRevision.get(key);
        long expectedModRevision = kind == SimClient.Kind.CAS && seen != null && seenAt != null && random.nextBoolean() ? seenAt : 0;
        SimClient.Op op = new SimClient.Op(opId, kind, key, value, expected, expectedModRevision, historyClock++, events.nowMs() + OP_TIMEOUT_MS);
        c.current = op;
        sendRequest(c, op, c.leaderHint != 0 ? c.leaderHint : randomRunningNode().id);
        events.after(OP_TIMEOUT_MS, "client" + c.id + " deadline op" + opId, () -> {
            if (c.current == op) finishUnknown(c, op);
        });
    }

    private void sendRequest(SimClient c, SimClient.Op op, int node) {
        op.attempts++;
        int attempt = op.attempts;
        ClientRequest request = op.request();
        if (random.nextDouble() >= network.lossRate) {
            events.after(1 + random.nextInt(5), new RequestLabel(c.id, request, node), () -> handleRequest(nodes.get(node - 1), c, op, attempt, request));
        }
        if (!op.isWrite()) {
            // A read may be asked again elsewhere: it changes nothing. A write is asked again only when the
            // cluster said it was not applied (it could apply twice otherwise).
            events.after(READ_ATTEMPT_MS, "client" + c.id + " read attempt timeout op" + op.opId, () -> {
                if (c.current == op && op.attempts == attempt) sendRequest(c, op, randomRunningNode().id);
            });
        }
    }

    private void handleRequest(SimNode n, SimClient c, SimClient.Op op, int attempt, ClientRequest request) {
        if (!n.running()) {
            // No such process (stopped for good, or never started): the connection is refused, nothing was sent.
            if (c.current == op && op.attempts == attempt) retry(c, op, 0);
            return;
        }
        if (!n.up) return;
        n.life.requests().handle(once(request, response -> reply(n, c, response)), request);
        if (turnMs == 0) {
            process(n);
        } else if (!n.turnPending) {
            n.turnPending = true;
            events.after(turnMs, "node" + n.id + " turn end", () -> {
                n.turnPending = false;
                process(n);
            });
        }
    }

    /** A channel that fails the run if the request table answers one request twice. */
    private static ClientRequests.Channel once(ClientRequest request, ClientRequests.Channel channel) {
        boolean[] answered = {false};
        return response -> {
            if (answered[0]) SafetyChecker.fail("the request " + describe(request) + " was answered twice, the second time " + describe(response));
            answered[0] = true;
            channel.reply(response);
        };
    }

    private void reply(SimNode from, SimClient c, ClientResponse response) {
        if (random.nextDouble() < network.lossRate) return;
        events.after(1 + random.nextInt(5), new ReplyLabel(c.id, response, from.id), () -> onReply(c, response));
    }

    private void onReply(SimClient c, ClientResponse response) {
        SimClient.Op op = c.current;
        if (op == null || op.opId != response.requestId()) return;
        if (response instanceof ClientResponse.Ok) {
            if (op.kind != SimClient.Kind.PUT && op.kind != SimClient.Kind.DELETE) SafetyChecker.fail(op + " was answered OK");
            if (op.kind == SimClient.Kind.PUT) c.saw(op.key, op.value, ((ClientResponse.Ok) response).header().revision());
            finish(c, List.of(new Operation(c.id, Operation.Kind.valueOf(op.kind.name()), op.key, op.value, null, op.invokedAt, historyClock++)));
        } else if (response instanceof ClientResponse.Value v) {
            if (op.kind != SimClient.Kind.GET) SafetyChecker.fail(op + " was answered with a value");
            finish(c, List.of(read(c, op, op.key, new String(v.value(), StandardCharsets.UTF_8), v.kv().modRevision())));
        } else if (response instanceof ClientResponse.NotFound) {
            if (op.kind != SimClient.Kind.GET) SafetyChecker.fail(op + " was answered NOT_FOUND");
            finish(c, List.of(read(c, op, op.key, null, 0)));
        } else if (response instanceof ClientResponse.RangeResult range) {
            if (op.kind != SimClient.Kind.RANGE) SafetyChecker.fail(op + " was answered with a range");
            // A range is checked as a read of each key at the same moment: each key's history must stay linearizable.
            Map<String, String> found = new HashMap<>();
            Map<String, Long> foundAt = new HashMap<>();
            for (KeyValue kv : range.kvs()) {
                String key = new String(kv.key(), StandardCharsets.UTF_8);
                found.put(key, new String(kv.value(), StandardCharsets.UTF_8));
                foundAt.put(key, kv.modRevision());
            }
            if (range.count() != found.size() || range.more()) SafetyChecker.fail(op + " was answered with " + range.count() + " keys, more=" + range.more());
            for (KeyValue kv : range.kvs()) {
                // One moment: every key as of the header's revision, none changed after it.
                if (kv.modRevision() > range.header().revision()) SafetyChecker.fail(op + " read " + kv + " from after its revision " + range.header().revision());
            }
            List<Operation> reads = new ArrayList<>();
            long completed = historyClock++;
            ranges++;
            for (int k = 0; k < options.keys(); k++) {
                String key = SimClient.KEY_PREFIX + k;
                c.saw(key, found.get(key), foundAt.getOrDefault(key, 0L));
                reads.add(Operation.get(c.id, key, found.get(key), op.invokedAt, completed));
            }
            finish(c, reads);
        } else if (response instanceof ClientResponse.TxnResult txn) {
            if (op.kind != SimClient.Kind.CAS) SafetyChecker.fail(op + " was answered with a transaction's result");
            if (txn.succeeded()) {
                swapsWon++;
                c.saw(op.key, op.value, txn.header().revision());
                finish(c, List.of(Operation.cas(c.id, op.key, op.expected, op.value, op.invokedAt, historyClock++)));
            } else {
                // The swap did not happen: the failure branch read the key, at the same point as the compare.
                swapsLost++;
                List<KeyValue> kvs = ((OpResult.Range) txn.results().get(0)).kvs();
                String value = kvs.isEmpty() ? null : new String(kvs.get(0).value(), StandardCharsets.UTF_8);
                long modRevision = kvs.isEmpty() ? 0 : kvs.get(0).modRevision();
                if (op.expectedModRevision != 0 ? op.expectedModRevision == modRevision : op.expected.equals(value)) {
                    SafetyChecker.fail(op + " failed though the key held what it expected");
                }
                finish(c, List.of(read(c, op, op.key, value, modRevision)));
            }
        } else if (response instanceof ClientResponse.NotLeader n) {
            c.leaderHint = n.leaderId();
            retry(c, op, n.leaderId());
        } else if (response instanceof ClientResponse.Error e) {
            switch (e.code()) {
                // Not applied (a leader change replaced the write, or the node is overloaded): asking again is safe.
                case ErrorCode.UNAVAILABLE, ErrorCode.OVERLOADED -> {
                    c.leaderHint = 0;
                    retry(c, op, 0);
                }
                case ErrorCode.TIMEOUT -> {
                    if (op.isWrite()) finishUnknown(c, op); else retry(c, op, 0);
                }
                default -> SafetyChecker.fail("a well-formed request " + op + " was refused: " + e);
            }
        } else {
            SafetyChecker.fail("unexpected answer to " + op + ": " + response);
        }
    }

    /**
     * A serializable read at a random node, now and then: it is answered from the node's own map, possibly
     * stale, but never older than an answer the node gave before, even across a crash (the start-up barrier
     * in {@link ClientRequests}). The answer comes back during the call, so the applied index it was served at
     * is known.
     */
    private void serializableRead() {
        if (clientsStopped) return;
        SimNode n = randomRunningNode();
        if (n.up) {
            long applied = n.kv().appliedIndex();
            ClientRequest.Get get = new ClientRequest.Get(0, ("k" + random.nextInt(options.keys())).getBytes(StandardCharsets.UTF_8), true);
            n.life.requests().handle(once(get, response -> {
                if (response instanceof ClientResponse.Value || response instanceof ClientResponse.NotFound) {
                    if (applied < n.serializableServedAt) {
                        SafetyChecker.fail("node " + n.id + " served a serializable read at applied index " + applied
                                + " after serving one at " + n.serializableServedAt + ": its reads went back in time");
                    }
                    n.serializableServedAt = applied;
                } else if (!(response instanceof ClientResponse.Error e && e.code() == ErrorCode.UNAVAILABLE)) {
                    SafetyChecker.fail("a serializable read at node " + n.id + " was answered " + response);
                }
            }), get);
            process(n);
        }
        events.after(20 + random.nextInt(60), "serializable read", this::serializableRead);
    }

    private void retry(SimClient c, SimClient.Op op, int leaderHint) {
        int next = leaderHint != 0 ? leaderHint : randomRunningNode().id;
        events.after(leaderHint != 0 ? 1 : 20, "client" + c.id + " retries op" + op.opId + " at n" + next, () -> {
            if (c.current == op) sendRequest(c, op, next);
        });
    }

    /** A read of {@code key} this client saw, for the history; the client remembers it for its next CAS. */
    private Operation read(SimClient c, SimClient.Op op, String key, String value, long modRevision) {
        c.saw(key, value, modRevision);
        return Operation.get(c.id, key, value, op.invokedAt, historyClock++);
    }

    /** The operation completed; {@code observed} is what it adds to the history. */
    private void finish(SimClient c, List<Operation> observed) {
        c.current = null;
        history.addAll(observed);
        events.after(random.nextInt(20), "client" + c.id + " next", () -> nextOperation(c));
    }

    /** No answer before the deadline: a write may or may not have happened; a read tells nothing. */
    private void finishUnknown(SimClient c, SimClient.Op op) {
        c.leaderHint = 0;
        unknownOps++;
        List<Operation> observed = List.of();
        if (op.isWrite()) {
            observed = List.of(new Operation(c.id, Operation.Kind.valueOf(op.kind.name()), op.key, op.value, op.expected, op.invokedAt,
                    Operation.UNKNOWN));
            c.forget(op.key);
        }
        finish(c, observed);
    }

    private static String describe(ClientRequest r) {
        if (r instanceof ClientRequest.Put p) return r.requestId() + " PUT " + utf8(p.key()) + "=" + utf8(p.value());
        if (r instanceof ClientRequest.Delete d) return r.requestId() + " DELETE " + utf8(d.key());
        if (r instanceof ClientRequest.Get g) return r.requestId() + " GET " + utf8(g.key());
        if (r instanceof ClientRequest.Range range) return r.requestId() + " RANGE " + utf8(range.request().key()) + ".." + utf8(range.request().rangeEnd());
        if (r instanceof ClientRequest.Txn) return r.requestId() + " TXN";
        return r.toString();
    }

    private static String describe(ClientResponse r) {
        if (r instanceof ClientResponse.Value v) return r.requestId() + " VALUE " + utf8(v.value());
        if (r instanceof ClientResponse.Ok) return r.requestId() + " OK";
        if (r instanceof ClientResponse.NotFound) return r.requestId() + " NOT_FOUND";
        if (r instanceof ClientResponse.NotLeader n) return r.requestId() + " NOT_LEADER " + n.leaderId();
        if (r instanceof ClientResponse.RangeResult range) return r.requestId() + " RANGE_RESULT " + range.count() + " keys at " + range.header().revision();
        if (r instanceof ClientResponse.TxnResult t) return r.requestId() + " TXN_RESULT " + (t.succeeded() ? "succeeded" : "failed") + " at " + t.header().revision();
        return r.requestId() + " " + r;
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ leases: one client under the faults

    /**
     * The lease client, now and then: while it holds fewer than {@link SimLeases#LIVE_MAX} leases it asks for one of the
     * minimum TTL, attaches a key to it, renews it every TTL/3 for up to 2.5 s, then lets it expire or (one in four)
     * revokes it. It follows NOT_LEADER, and takes silence or an error for a lost round (the next one comes anyway).
     */
    private void leaseStep() {
        if (clientsStopped) return;
        if (leases.live(events.nowMs()) < SimLeases.LIVE_MAX) grantLease();
        events.after(150 + random.nextInt(400), "lease client", this::leaseStep);
    }

    private void grantLease() {
        long sent = events.nowMs();
        sendLease(new ClientRequest.LeaseGrant(leases.nextRequestId(), 0, SimLeases.TTL_SECONDS), response -> {
            if (response instanceof ClientResponse.LeaseResult granted) {
                leases.grants++;
                SimLeases.Lease l = new SimLeases.Lease(granted.leaseId(), sent + granted.ttlSeconds() * 1000, events.nowMs() + random.nextInt(2_500));
                leases.leases.put(l.id, l);
                byte[] key = (SimLeases.KEY_PREFIX + Long.toHexString(l.id)).getBytes(StandardCharsets.UTF_8);
                sendLease(new ClientRequest.Txn(leases.nextRequestId(), new io.raftkv.protocol.TxnRequest(List.of(),
                        List.of(new io.raftkv.protocol.TxnOp.Put(key, key, false, l.id)), List.of())), r -> { });
                events.after(SimLeases.TTL_MS / 3, "lease client renews " + Long.toHexString(l.id), () -> keepAlive(l));
            }
        });
    }

    private void keepAlive(SimLeases.Lease l) {
        if (clientsStopped || l.lost || l.revokedByClient) return;
        long now = events.nowMs();
        if (!l.renewing(now)) {
            if (random.nextInt(4) == 0 && l.revokeProposedAtMs < 0) {
                l.revokedByClient = true;
                sendLease(new ClientRequest.LeaseRevoke(leases.nextRequestId(), l.id), r -> { });
            }
            return;
        }
        sendLease(new ClientRequest.LeaseKeepAlive(leases.nextRequestId(), l.id), response -> {
            if (response instanceof ClientResponse.LeaseResult) leases.renewed(l, now);
            else if (response instanceof ClientResponse.Error e && e.code() == ErrorCode.LEASE_NOT_FOUND) l.lost = true;
        });
        events.after(SimLeases.TTL_MS / 3, "lease client renews " + Long.toHexString(l.id), () -> keepAlive(l));
    }

    /** Sends a lease request to the leader the client knows (any node else), following one NOT_LEADER answer. */
    private void sendLease(ClientRequest request, java.util.function.Consumer<ClientResponse> onAnswer) {
        int node = leases.leaderHint != 0 && nodes.get(leases.leaderHint - 1).running() ? leases.leaderHint : randomRunningNode().id;
        sendLease(request, node, onAnswer, true);
    }

    private void sendLease(ClientRequest request, int node, java.util.function.Consumer<ClientResponse> onAnswer, boolean followLeader) {
        if (random.nextDouble() < network.lossRate) return;
        events.after(1 + random.nextInt(5), "lease client request " + describe(request) + " -> n" + node, () -> {
            SimNode n = nodes.get(node - 1);
            if (!n.up) return;
            n.life.requests().handle(once(request, response -> {
                if (random.nextDouble() < network.lossRate) return;
                events.after(1 + random.nextInt(5), "lease client reply " + describe(response) + " from n" + node, () -> {
                    if (response instanceof ClientResponse.NotLeader nl) {
                        leases.leaderHint = nl.leaderId();
                        if (followLeader && nl.leaderId() != 0 && !clientsStopped) sendLease(request, nl.leaderId(), onAnswer, false);
                        return;
                    }
                    leases.leaderHint = node;
                    onAnswer.accept(response);
                });
            }), request);
            process(n);
        });
    }

    /**
     * Once faults heal and clients stop, no lease lives on: every lease (granted to the client or not, since it may
     * have missed an answer) is revoked, its revoke committed and applied at the leader, within TTL + election timeout,
     * and a few ticks for the revoke to commit, of the later of the current leader's promotion, the last grant applied and
     * the client's last deadline. The other nodes converge to the leader's state (checked after).
     */
    private void checkLeasesExpire() {
        SimNode leader = currentLeader();
        if (leader == null || leader.primarySince < 0) runFor(5 * TICK_MS);
        leader = currentLeader();
        if (leader == null || leader.primarySince < 0) throw new SimulationFailure("no primary lessor after the heal");
        long from = Math.max(leader.primarySince, Math.max(leases.lastGrantAppliedAtMs, leases.latestDeadlineMs()));
        long bound = from + SimLeases.TTL_MS + ELECTION_TICKS * TICK_MS + 5 * TICK_MS;
        if (bound > events.nowMs()) runFor(bound - events.nowMs());
        // The leader's state is the committed one; every other node converges to it (checkConvergence compares digests, leases included).
        SimNode n = currentLeader();
        if (n == null) throw new SimulationFailure("no leader at the end of the lease bound");
        if (n.kv().leases().size() > 0) {
            throw new SimulationFailure("a lease outlived its bound: leader n" + n.id + " still holds leases " + n.kv().leases().ids().stream().map(Long::toHexString).toList()
                    + " at " + events.nowMs() + " ms, " + (events.nowMs() - from) + " ms after the leader's promotion, the last grant or the last renewal");
        }
        RangeRequest leased = RangeRequest.prefix(SimLeases.KEY_PREFIX.getBytes(StandardCharsets.UTF_8));
        if (n.kv().store().range(leased).count() > 0) throw new SimulationFailure("leader n" + n.id + " still holds keys of revoked leases");
    }

    // ------------------------------------------------------------------ nemesis

    private void nemesis() {
        if (clientsStopped) return;
        faults++;
        if (options.leaseReads() != null) for (SimNode n : nodes) driftClock(n);
        int dice = random.nextInt(100);
        SimNode leader = currentLeader();
        // With clocks too slow for the lease, most faults cut the leader off: the case a lease read must survive.
        boolean leaseAtRisk = options.leaseReads() == Options.LeaseReads.CLOCKS_TOO_SLOW;
        if (dice < (leaseAtRisk ? 50 : 12)) {
            SimNode victim = leader != null && (leaseAtRisk || random.nextBoolean()) ? leader : randomRunningNode();
            events.note("NEMESIS isolate n" + victim.id);
            for (SimNode other : nodes) if (other != victim) network.cutBoth(victim.id, other.id);
            if (watchers != null) watchers.partitioned(List.of(victim.id));
        } else if (dice < 24) {
            List<Integer> ids = runningIds();
            java.util.Collections.shuffle(ids, random);
            int minority = 1 + random.nextInt(Math.max(1, ids.size() / 2));
            events.note("NEMESIS split minority " + ids.subList(0, minority) + " from " + ids.subList(minority, ids.size()));
            for (int a : ids.subList(0, minority)) for (int b : ids.subList(minority, ids.size())) network.cutBoth(a, b);
            if (watchers != null) watchers.partitioned(ids.subList(0, minority));
        } else if (dice < 30) {
            // A bridge: two halves that only one node sees both of.
            List<Integer> ids = runningIds();
            java.util.Collections.shuffle(ids, random);
            int bridge = ids.get(0);
            List<Integer> rest = ids.subList(1, ids.size());
            int half = rest.size() / 2;
            events.note("NEMESIS bridge n" + bridge + " between " + rest.subList(0, half) + " and " + rest.subList(half, rest.size()));
            for (int a : rest.subList(0, half)) for (int b : rest.subList(half, rest.size())) network.cutBoth(a, b);
        } else if (dice < 38) {
            SimNode a = leader != null ? leader : randomRunningNode();
            SimNode b = randomRunningNode();
            if (a != b) {
                events.note("NEMESIS one-way cut n" + a.id + " -> n" + b.id);
                network.cut(a.id, b.id);
            }
        } else if (dice < 46) {
            SimNode a = randomRunningNode();
            SimNode b = randomRunningNode();
            long ms = 20 + random.nextInt(200);
            events.note("NEMESIS slow link n" + a.id + " -> n" + b.id + " +" + ms + "ms");
            network.slow(a.id, b.id, ms);
        } else if (dice < 56) {
            network.lossRate = random.nextDouble() * 0.2;
            network.duplicateRate = random.nextDouble() * 0.1;
            network.delayMsMax = 2 + random.nextInt(40);
            events.note("NEMESIS network " + network.describe());
        } else if (dice < 72) {
            events.note("NEMESIS heal");
            network.heal();
        } else if (dice < 86) {
            SimNode victim = leader != null && random.nextBoolean() ? leader : randomRunningNode();
            if (victim.up) crash(victim, "by nemesis");
        } else {
            // The leader or anyone: a follower that dies in its sync must not have acknowledged what it was writing.
            SimNode victim = leader != null && random.nextBoolean() ? leader : randomRunningNode();
            if (victim.up) {
                events.note("NEMESIS n" + victim.id + " will crash during its next sync");
                victim.crashAtNextSync = true;
            }
        }
        events.after(200 + random.nextInt(1000), "nemesis", this::nemesis);
    }

    /** A node of the cluster's life (up or down for a while), as a client or the nemesis knows them; never a spare or stopped slot. */
    private SimNode randomRunningNode() {
        List<Integer> ids = runningIds();
        return nodes.get(ids.get(random.nextInt(ids.size())) - 1);
    }

    private List<Integer> runningIds() {
        List<Integer> ids = new ArrayList<>(nodes.size());
        for (SimNode n : nodes) if (n.running()) ids.add(n.id);
        if (ids.isEmpty()) throw new SimulationFailure("every node of the cluster has stopped for good");
        return ids;
    }

    boolean clientsStopped() {
        return clientsStopped;
    }

    SimNode currentLeader() {
        SimNode best = null;
        for (SimNode n : nodes) {
            if (n.up && n.core().role() == Role.LEADER && (best == null || n.core().term() > best.core().term())) best = n;
        }
        return best;
    }

    private void healEverything() {
        events.note("HEAL: network healed, every node restarted, clients finish their last operation");
        network.heal();
        clientsStopped = true;
        if (watchers != null) watchers.stopFaults();
        for (SimNode n : nodes) {
            n.crashAtNextSync = false;
            if (n.zombieUntilMs > 0) {
                // The operator finally stops the removed nodes it kept running; one whose removal was cut away runs on.
                n.zombieUntilMs = 0;
                if (membershipChecker.removedAt(n.id) >= 0) stopRemoved(n, "the operator stops the removed node it kept running");
            }
            if (n.running() && !n.up) start(n);
        }
    }

    // ------------------------------------------------------------------ end-of-run checks

    /**
     * Liveness once faults heal: a leader emerges and a new proposal is applied everywhere, and the cluster never
     * goes {@link #RECOVERY_MS_MAX} without the slowest node applying something. A bound on progress, not on the
     * whole catch-up: a node far behind, with one entry per message and one message in flight, needs a round trip
     * per entry.
     */
    private long checkRecovery() {
        long deadline = events.nowMs() + RECOVERY_MS_MAX;
        long slowestApplied = slowestApplied();
        long probeIndex = -1;
        long probeTerm = -1;
        byte[] probe = KvCommand.put("probe".getBytes(StandardCharsets.UTF_8), new byte[0]).encode();
        while (events.nowMs() < deadline) {
            SimNode leader = currentLeader();
            if (leader != null && (probeIndex < 0 || leader.core().term() != probeTerm)) {
                SubmitResult r = leader.core().propose(probe);
                if (r.accepted()) {
                    probeIndex = r.index();
                    probeTerm = r.term();
                    process(leader);
                }
            }
            final long index = probeIndex;
            // Every node of the leader's configuration: a node the operator added whose addition was lost, or a removed
            // node that never heard of it, is not one, and is stopped once the probe is applied everywhere else.
            boolean done = index > 0 && leader != null && nodes.stream()
                    .filter(n -> n.running() && leader.core().membership().contains(n.id))
                    .allMatch(n -> n.up && n.kv().appliedIndex() >= index);
            if (done) {
                for (SimNode n : nodes) {
                    if (n.retired && leader.core().membership().contains(n.id)) {
                        throw new SimulationFailure("n" + n.id + " stopped for good as removed, but the healed cluster's configuration still lists it: "
                                + leader.core().membership());
                    }
                    if (n.running() && !leader.core().membership().contains(n.id)) {
                        events.note("STOP n" + n.id + ": not a member of the healed cluster's configuration " + leader.core().membership());
                        n.retire();
                    }
                }
                return checker.committedLast();
            }
            events.runUntil(events.nowMs() + TICK_MS, () -> false, this::afterEvent);
            long slowest = slowestApplied();
            if (slowest > slowestApplied) {
                slowestApplied = slowest;
                deadline = events.nowMs() + RECOVERY_MS_MAX;
            }
        }
        throw new SimulationFailure("no recovery: for " + RECOVERY_MS_MAX + "ms after healing, no node behind applied anything, and no proposal "
                + "was applied on every node");
    }

    /** The lowest applied index among the running members of the latest committed configuration. */
    private long slowestApplied() {
        Membership members = membershipChecker.lastCommitted();
        return nodes.stream().filter(n -> n.running() && n.up && members.contains(n.id)).mapToLong(n -> n.kv().appliedIndex()).min().orElse(0);
    }

    /**
     * With no more proposals, every node applies the same log and holds the same store, key by key with every
     * revision; and every request table has answered everything it took.
     */
    private void checkConvergence() {
        runFor(5 * ELECTION_TICKS * TICK_MS);
        RangeRequest everything = RangeRequest.range(RangeRequest.FROM_KEY, RangeRequest.FROM_KEY);
        List<SimNode> members = nodes.stream().filter(SimNode::running).toList();
        for (SimNode n : members) if (!n.up) throw new SimulationFailure("n" + n.id + " is down after healing");
        SimNode firstNode = members.get(0);
        KvStateMachine first = firstNode.kv();
        List<KeyValue> firstKeys = first.store().range(everything).kvs();
        for (SimNode n : members) {
            KvStateMachine kv = n.kv();
            if (kv.appliedIndex() != first.appliedIndex()) {
                throw new SimulationFailure("nodes did not converge: n" + firstNode.id + " applied " + first.appliedIndex() + ", n" + n.id + " " + kv.appliedIndex());
            }
            if (kv.revision() != first.revision() || !kv.store().range(everything).kvs().equals(firstKeys)) {
                throw new SimulationFailure("nodes " + firstNode.id + " and " + n.id + " applied up to " + kv.appliedIndex() + " but hold different stores");
            }
            if (n.life.requests().pending() != 0) throw new SimulationFailure("n" + n.id + " still holds " + n.life.requests().pending() + " requests it never answered");
        }
    }

    /**
     * Once the cluster converged, every watch still open catches up: it delivers every committed revision (its events,
     * or a progress notification) within {@link #WATCH_CATCH_UP_MS_MAX}; none is left behind for good.
     */
    private void checkWatchesCaughtUp() {
        long start = events.nowMs();
        while (!watchers.caughtUp() && events.nowMs() < start + WATCH_CATCH_UP_MS_MAX) {
            events.runUntil(events.nowMs() + TICK_MS, () -> false, this::afterEvent);
        }
        watchers.checkCaughtUp(events.nowMs() - start);
    }

    private void checkLinearizable() {
        CheckResult result = LinearizabilityChecker.check(history);
        if (!result.ok()) throw new SimulationFailure("client history is not linearizable (" + result.verdict() + "): " + result.explanation());
    }

    List<Operation> history() {
        return history;
    }
}
