package io.raftkv.raft.sim;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;
import io.raftkv.raft.Entry;
import io.raftkv.raft.InjectedBug;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Ready;
import io.raftkv.raft.Role;
import io.raftkv.raft.SubmitResult;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * A whole cluster in one thread, on virtual time, from one seed (the VOPR idea): nodes driven through
 * {@link io.raftkv.raft.RaftCore}'s Ready contract, a faulty network, crashes that keep exactly what was
 * persisted, and clients whose history is checked for linearizability at the end. Safety properties are
 * checked after every event by {@link SafetyChecker}.
 */
public final class Simulation {

    /** What one run does; {@link #forSeed(long)} derives everything but the seed's own randomness. */
    public record Options(long seed, int nodes, long faultsMs, int clients, int keys, InjectedBug bug) {

        public static Options forSeed(long seed) {
            return new Options(seed, seed % 2 == 0 ? 3 : 5, 15_000, 5, 3, InjectedBug.NONE);
        }

        public Options withBug(InjectedBug b) {
            return new Options(seed, nodes, faultsMs, clients, keys, b);
        }

        public Options withFaultsMs(long ms) {
            return new Options(seed, nodes, ms, clients, keys, bug);
        }
    }

    /** What a passing run covered. */
    public record Stats(long events, long operations, long unknownOperations, long faults, long crashes, long commits) { }

    static final long TICK_MS = 10;
    static final int ELECTION_TICKS = 10;
    static final long OP_TIMEOUT_MS = 1_000;
    static final long READ_ATTEMPT_MS = 300;
    static final long RECOVERY_MS_MAX = 50 * ELECTION_TICKS * TICK_MS;

    private enum ReplyKind { OK, VALUE, NOT_LEADER, OVERLOADED }

    private record ClientRequest(int clientId, long opId, int node) {
        @Override
        public String toString() {
            return "client" + clientId + " request op" + opId + " -> n" + node;
        }
    }

    private record ClientReply(int clientId, long opId, ReplyKind kind, String value, int leaderHint) {
        @Override
        public String toString() {
            return "client" + clientId + " reply op" + opId + " " + kind + (kind == ReplyKind.VALUE ? "=" + value : "")
                    + (kind == ReplyKind.NOT_LEADER ? " leader=" + leaderHint : "");
        }
    }

    private final Options options;
    private final Random random;
    private final SimEvents events = new SimEvents();
    private final SimNetwork network;
    private final SafetyChecker checker = new SafetyChecker();
    private final List<SimNode> nodes = new ArrayList<>();
    private final List<SimClient> clients = new ArrayList<>();
    private final List<Operation> history = new ArrayList<>();
    private final List<Integer> voterIds;
    private long historyClock;
    private boolean clientsStopped;
    private long faults;
    private long crashes;
    private long unknownOps;
    /** Drawn per run, so that seeds cover one-entry appends and deep pipelines alike. */
    private final int entriesPerMessageMax;
    private final int inflightMessagesMax;
    private final Role[] lastRole;
    private final long[] lastTerm;

    public Simulation(Options options) {
        this.options = options;
        this.random = new Random(options.seed());
        this.network = new SimNetwork(options.nodes(), random);
        this.voterIds = IntStream.rangeClosed(1, options.nodes()).boxed().toList();
        this.lastRole = new Role[options.nodes() + 1];
        this.lastTerm = new long[options.nodes() + 1];
        this.entriesPerMessageMax = new int[]{1, 2, 8, 64}[random.nextInt(4)];
        this.inflightMessagesMax = new int[]{1, 4, 16}[random.nextInt(3)];
        for (int id = 1; id <= options.nodes(); id++) nodes.add(new SimNode(id));
        for (int c = 1; c <= options.clients(); c++) clients.add(new SimClient(c));
    }

    /** Runs the whole scenario; throws {@link SimulationFailure} with the seed, the broken property and the last events. */
    public Stats run() {
        try {
            for (SimNode n : nodes) {
                start(n);
                n.tickPhaseMs = random.nextInt((int) TICK_MS);
                events.after(n.tickPhaseMs, "tick n" + n.id, () -> tick(n));
            }
            for (SimClient c : clients) events.after(random.nextInt(50), "client" + c.id + " starts", () -> nextOperation(c));
            events.after(200 + random.nextInt(500), "nemesis", this::nemesis);
            runFor(options.faultsMs());
            healEverything();
            runFor(OP_TIMEOUT_MS + 2 * READ_ATTEMPT_MS);
            long commits = checkRecovery();
            checkConvergence();
            checkLinearizable();
            return new Stats(events.executed, history.size(), unknownOps, faults, crashes, commits);
        } catch (SimulationFailure | IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new SimulationFailure(failureReport(e));
        }
    }

    private String failureReport(RuntimeException e) {
        java.io.StringWriter stack = new java.io.StringWriter();
        if (!(e instanceof SimulationFailure)) e.printStackTrace(new java.io.PrintWriter(stack));
        return "simulation failed: " + e.getMessage() + "\n"
                + "  seed " + options.seed() + ", " + options.nodes() + " nodes, bug " + options.bug()
                + ", " + entriesPerMessageMax + " entries per append, " + inflightMessagesMax + " in flight"
                + ", at " + events.nowMs() + "ms after " + events.executed + " events\n"
                + "  replay: mvn -pl core test -Dtest=RaftSimulationTest -Draftkv.sim.seed=" + options.seed() + "\n"
                + "  network: " + network.describe() + "\n"
                + "  nodes: " + nodes.stream().map(n -> n.up ? n.core.status().toString() : "n" + n.id + " down").toList() + "\n"
                + "  last events:\n" + events.lastEvents(150) + stack;
    }

    private void runFor(long ms) {
        events.runUntil(events.nowMs() + ms, () -> false, this::afterEvent);
    }

    // ------------------------------------------------------------------ nodes

    private RaftConfig config(int id) {
        return new RaftConfig(id, voterIds)
                .electionTicks(ELECTION_TICKS)
                .heartbeatTicks(2)
                .entriesPerMessageMax(entriesPerMessageMax)
                .inflightMessagesMax(inflightMessagesMax)
                .randomSeed(options.seed() * 31 + nodes.get(id - 1).lives)
                .injectedBug(options.bug());
    }

    private void start(SimNode n) {
        n.start(config(n.id));
        process(n);
    }

    private void crash(SimNode n, String how) {
        events.note("CRASH n" + n.id + " " + how);
        n.crash();
        crashes++;
        events.after(100 + random.nextInt(900), "restart n" + n.id, () -> {
            if (!n.up) start(n);
        });
    }

    private void tick(SimNode n) {
        if (n.up) {
            n.core.tick();
            process(n);
        }
        events.after(TICK_MS, "tick n" + n.id, () -> tick(n));
    }

    private void deliver(Message m) {
        SimNode to = nodes.get(m.to() - 1);
        if (!to.up || !network.delivers(m.from(), m.to())) return;
        to.core.step(m);
        process(to);
    }

    private void send(Message m) {
        int copies = network.copies();
        for (int i = 0; i < copies; i++) events.after(network.delayMs(m.from(), m.to()), m, () -> deliver(m));
    }

    /** The driver loop of one node: the Ready contract, in order. */
    private void process(SimNode n) {
        while (n.up && n.core.hasReady()) {
            Ready rd = n.core.ready();
            rd.messages().forEach(this::send);
            if (n.crashAtNextSync && rd.mustSync()) {
                crash(n, "during sync, before " + rd.entries().size() + " entries were durable");
                return;
            }
            long lastBefore = n.disk.lastIndex();
            n.disk.persist(rd.hardState(), rd.entries());
            if (!rd.entries().isEmpty()) checker.onPersist(n, rd.entries().get(0).index(), lastBefore, n.core.status());
            rd.messagesAfterPersist().forEach(this::send);
            for (Entry e : rd.committedEntries()) {
                checker.onApply(n, e, n.core.term());
                SimNode.PendingRequest done = n.apply(e);
                if (done != null) reply(n, done.clientId(), done.opId(), ReplyKind.OK, null, 0);
            }
            n.readsWaitingForApply.addAll(rd.readStates());
            serveReads(n);
            n.core.advance(rd);
        }
    }

    private void serveReads(SimNode n) {
        for (Iterator<ReadState> it = n.readsWaitingForApply.iterator(); it.hasNext(); ) {
            ReadState rs = it.next();
            if (rs.index() > n.applied) continue;
            it.remove();
            SimNode.PendingRequest r = n.pendingReads.remove(rs.context());
            if (r != null) reply(n, r.clientId(), r.opId(), ReplyKind.VALUE, n.kv.get(r.key()), 0);
        }
    }

    private void afterEvent() {
        for (SimNode n : nodes) {
            if (!n.up) continue;
            RaftStatus s = n.core.status();
            if (s.role() != lastRole[n.id] || s.term() != lastTerm[n.id]) {
                events.note("  n" + n.id + " is " + s.role() + " in term " + s.term() + " (commit " + s.commit() + ", last " + s.lastIndex() + ")");
                lastRole[n.id] = s.role();
                lastTerm[n.id] = s.term();
            }
            checker.afterEvent(n, s);
        }
    }

    // ------------------------------------------------------------------ clients

    private void nextOperation(SimClient c) {
        if (clientsStopped) return;
        long opId = c.nextOpId();
        String key = "k" + random.nextInt(options.keys());
        int dice = random.nextInt(100);
        SimClient.Kind kind = dice < 45 ? SimClient.Kind.PUT : dice < 55 ? SimClient.Kind.DELETE : SimClient.Kind.GET;
        String value = kind == SimClient.Kind.PUT ? "v" + c.id + "." + c.seq : null;
        SimClient.Op op = new SimClient.Op(opId, kind, key, value, historyClock++, events.nowMs() + OP_TIMEOUT_MS);
        c.current = op;
        sendRequest(c, op, c.leaderHint != 0 ? c.leaderHint : 1 + random.nextInt(options.nodes()));
        events.after(OP_TIMEOUT_MS, "client" + c.id + " deadline op" + opId, () -> {
            if (c.current == op) finish(c, op, null, true);
        });
    }

    private void sendRequest(SimClient c, SimClient.Op op, int node) {
        op.attempts++;
        int attempt = op.attempts;
        ClientRequest req = new ClientRequest(c.id, op.opId, node);
        if (random.nextDouble() >= network.lossRate) events.after(1 + random.nextInt(5), req, () -> handleRequest(nodes.get(node - 1), c, op));
        if (!op.isWrite()) {
            // A read may be asked again elsewhere: it changes nothing. A write never is (it could apply twice).
            events.after(READ_ATTEMPT_MS, "client" + c.id + " read attempt timeout op" + op.opId, () -> {
                if (c.current == op && op.attempts == attempt) sendRequest(c, op, 1 + random.nextInt(options.nodes()));
            });
        }
    }

    private void handleRequest(SimNode n, SimClient c, SimClient.Op op) {
        if (!n.up) return;
        SubmitResult r;
        if (op.isWrite()) {
            r = n.core.propose(new SimCommand(op.opId, op.kind == SimClient.Kind.DELETE, op.key, op.value).encode());
            if (r.accepted()) n.pendingWrites.put(op.opId, new SimNode.PendingRequest(c.id, op.opId, op.key));
        } else {
            r = n.core.readIndex(op.opId);
            if (r.accepted()) n.pendingReads.put(op.opId, new SimNode.PendingRequest(c.id, op.opId, op.key));
        }
        switch (r.status()) {
            case NOT_LEADER -> reply(n, c.id, op.opId, ReplyKind.NOT_LEADER, null, r.leaderId());
            case OVERLOADED -> reply(n, c.id, op.opId, ReplyKind.OVERLOADED, null, 0);
            case ACCEPTED -> { }
        }
        process(n);
    }

    private void reply(SimNode from, int clientId, long opId, ReplyKind kind, String value, int leaderHint) {
        SimClient c = clients.get(clientId - 1);
        ClientReply rep = new ClientReply(clientId, opId, kind, value, leaderHint);
        if (random.nextDouble() < network.lossRate) return;
        events.after(1 + random.nextInt(5), rep, () -> onReply(c, rep, from.id));
    }

    private void onReply(SimClient c, ClientReply rep, int fromNode) {
        SimClient.Op op = c.current;
        if (op == null || op.opId != rep.opId()) return;
        switch (rep.kind()) {
            case OK, VALUE -> {
                c.leaderHint = fromNode;
                finish(c, op, rep.value(), false);
            }
            case NOT_LEADER, OVERLOADED -> {
                int next = rep.leaderHint() != 0 ? rep.leaderHint() : 1 + random.nextInt(options.nodes());
                c.leaderHint = rep.leaderHint();
                events.after(rep.leaderHint() != 0 ? 1 : 20, "client" + c.id + " retries op" + op.opId + " at n" + next, () -> {
                    if (c.current == op) sendRequest(c, op, next);
                });
            }
        }
    }

    private void finish(SimClient c, SimClient.Op op, String value, boolean timedOut) {
        c.current = null;
        long completed = timedOut ? Operation.UNKNOWN : historyClock++;
        if (timedOut) {
            c.leaderHint = 0;
            unknownOps++;
        }
        // A read that timed out tells nothing; a write that timed out may or may not have happened.
        if (!(timedOut && !op.isWrite())) {
            history.add(new Operation(c.id, Operation.Kind.valueOf(op.kind.name()), op.key, op.value, value, op.invokedAt, completed));
        }
        events.after(random.nextInt(20), "client" + c.id + " next", () -> nextOperation(c));
    }

    // ------------------------------------------------------------------ nemesis

    private void nemesis() {
        if (clientsStopped) return;
        faults++;
        int dice = random.nextInt(100);
        SimNode leader = currentLeader();
        if (dice < 12) {
            SimNode victim = leader != null && random.nextBoolean() ? leader : randomNode();
            events.note("NEMESIS isolate n" + victim.id);
            for (SimNode other : nodes) if (other != victim) network.cutBoth(victim.id, other.id);
        } else if (dice < 24) {
            List<Integer> ids = new ArrayList<>(voterIds);
            java.util.Collections.shuffle(ids, random);
            int minority = 1 + random.nextInt(options.nodes() / 2);
            events.note("NEMESIS split minority " + ids.subList(0, minority) + " from " + ids.subList(minority, ids.size()));
            for (int a : ids.subList(0, minority)) for (int b : ids.subList(minority, ids.size())) network.cutBoth(a, b);
        } else if (dice < 30) {
            // A bridge: two halves that only one node sees both of.
            List<Integer> ids = new ArrayList<>(voterIds);
            java.util.Collections.shuffle(ids, random);
            int bridge = ids.get(0);
            List<Integer> rest = ids.subList(1, ids.size());
            int half = rest.size() / 2;
            events.note("NEMESIS bridge n" + bridge + " between " + rest.subList(0, half) + " and " + rest.subList(half, rest.size()));
            for (int a : rest.subList(0, half)) for (int b : rest.subList(half, rest.size())) network.cutBoth(a, b);
        } else if (dice < 38) {
            SimNode a = leader != null ? leader : randomNode();
            SimNode b = randomNode();
            if (a != b) {
                events.note("NEMESIS one-way cut n" + a.id + " -> n" + b.id);
                network.cut(a.id, b.id);
            }
        } else if (dice < 46) {
            SimNode a = randomNode();
            SimNode b = randomNode();
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
            SimNode victim = leader != null && random.nextBoolean() ? leader : randomNode();
            if (victim.up) crash(victim, "by nemesis");
        } else {
            SimNode victim = leader != null ? leader : randomNode();
            if (victim.up) {
                events.note("NEMESIS n" + victim.id + " will crash during its next sync");
                victim.crashAtNextSync = true;
            }
        }
        events.after(200 + random.nextInt(1000), "nemesis", this::nemesis);
    }

    private SimNode randomNode() {
        return nodes.get(random.nextInt(nodes.size()));
    }

    private SimNode currentLeader() {
        SimNode best = null;
        for (SimNode n : nodes) {
            if (n.up && n.core.role() == Role.LEADER && (best == null || n.core.term() > best.core.term())) best = n;
        }
        return best;
    }

    private void healEverything() {
        events.note("HEAL: network healed, every node restarted, clients finish their last operation");
        network.heal();
        clientsStopped = true;
        for (SimNode n : nodes) {
            n.crashAtNextSync = false;
            if (!n.up) start(n);
        }
    }

    // ------------------------------------------------------------------ end-of-run checks

    /** Liveness once faults heal: a leader emerges and a new proposal is applied everywhere in bounded time. */
    private long checkRecovery() {
        long deadline = events.nowMs() + RECOVERY_MS_MAX;
        long probeIndex = -1;
        long probeTerm = -1;
        while (events.nowMs() < deadline) {
            SimNode leader = currentLeader();
            if (leader != null && (probeIndex < 0 || leader.core.term() != probeTerm)) {
                SubmitResult r = leader.core.propose(new SimCommand(-1, true, "probe", null).encode());
                if (r.accepted()) {
                    probeIndex = r.index();
                    probeTerm = r.term();
                    process(leader);
                }
            }
            final long index = probeIndex;
            boolean done = index > 0 && nodes.stream().allMatch(n -> n.applied >= index);
            if (done) return checker.committedLast();
            events.runUntil(events.nowMs() + TICK_MS, () -> false, this::afterEvent);
        }
        throw new SimulationFailure("no recovery: " + RECOVERY_MS_MAX + "ms after healing, no proposal was applied on every node");
    }

    /** With no more proposals, every node applies the same log and holds the same map. */
    private void checkConvergence() {
        runFor(5 * ELECTION_TICKS * TICK_MS);
        SimNode first = nodes.get(0);
        for (SimNode n : nodes) {
            if (n.applied != first.applied) throw new SimulationFailure("nodes did not converge: n1 applied " + first.applied + ", n" + n.id + " " + n.applied);
            if (!n.kv.equals(first.kv)) throw new SimulationFailure("nodes 1 and " + n.id + " applied up to " + n.applied + " but hold different maps");
        }
    }

    private void checkLinearizable() {
        CheckResult result = LinearizabilityChecker.check(history);
        if (!result.ok()) throw new SimulationFailure("client history is not linearizable (" + result.verdict() + "): " + result.explanation());
    }

    List<Operation> history() {
        return history;
    }
}
