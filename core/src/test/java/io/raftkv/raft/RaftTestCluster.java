package io.raftkv.raft;

import io.raftkv.replica.MemoryDurableLog;
import io.raftkv.replica.ReplicaDriver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.IntStream;

/**
 * A scripted cluster for unit tests: nothing happens unless the test says so. Only the nodes a test ticks
 * tick; messages wait in a queue until {@link #deliverAll()}; links can be cut one way or both. Each node's
 * Ready is handled by the node's own {@link ReplicaDriver}, with memory for a disk; what it applies and the
 * reads it releases are recorded.
 */
final class RaftTestCluster {

    private static final int DELIVERY_ROUNDS_MAX = 10_000;

    private final List<Integer> ids;
    /** The voters the cluster started with; nodes added later join with an empty configuration. */
    private final List<Integer> bootstrap;
    private final Consumer<RaftConfig> tweak;
    private final Map<Integer, RaftCore> cores = new HashMap<>();
    private final Map<Integer, ReplicaDriver<Entry>> drivers = new HashMap<>();
    private final Map<Integer, MemoryStorage> disks = new HashMap<>();
    private final Map<Integer, List<Entry>> applied = new HashMap<>();
    private final Map<Integer, List<ReadState>> readStates = new HashMap<>();
    /** Each node's newest snapshot: the entries it had applied when it took it (or installed it). */
    private final Map<Integer, List<Entry>> snapshots = new HashMap<>();
    /** The snapshot each node last received from a leader, not installed yet. */
    private final Map<Integer, List<Entry>> received = new HashMap<>();
    private final ArrayDeque<Message> queue = new ArrayDeque<>();
    private final Set<Long> cutLinks = new HashSet<>();
    /** Every message handed to the network, delivered or not, in order. */
    final List<Message> sent = new ArrayList<>();
    /** Messages matching this are dropped. */
    Predicate<Message> drop = m -> false;

    private RaftTestCluster(int size, Consumer<RaftConfig> tweak) {
        this.ids = new ArrayList<>(IntStream.rangeClosed(1, size).boxed().toList());
        this.bootstrap = List.copyOf(ids);
        this.tweak = tweak;
        for (int id : ids) {
            disks.put(id, new MemoryStorage());
            start(id);
        }
    }

    static RaftTestCluster of(int size) {
        return new RaftTestCluster(size, c -> { });
    }

    static RaftTestCluster of(int size, Consumer<RaftConfig> tweak) {
        return new RaftTestCluster(size, tweak);
    }

    RaftConfig config(int id) {
        RaftConfig c = (bootstrap.contains(id) ? new RaftConfig(id, bootstrap) : new RaftConfig(id, Membership.EMPTY)).electionTicks(10).heartbeatTicks(1).randomSeed(id);
        tweak.accept(c);
        return c;
    }

    RaftCore node(int id) {
        return cores.get(id);
    }

    MemoryStorage disk(int id) {
        return disks.get(id);
    }

    List<Entry> applied(int id) {
        return applied.get(id);
    }

    /** Data of the entries a node applied, no-ops and configuration changes left out, as strings. */
    List<String> appliedData(int id) {
        return applied.get(id).stream().filter(e -> !e.isNoop() && !Membership.isConfigEntry(e)).map(e -> new String(e.data(), StandardCharsets.UTF_8)).toList();
    }

    List<ReadState> readStates(int id) {
        return readStates.get(id);
    }

    // ---------------------------------------------------------------- time and faults

    void tick(int id, int times) {
        for (int i = 0; i < times; i++) {
            cores.get(id).tick();
            process(id);
        }
    }

    /** Ticks every live node once. */
    void tickAll() {
        for (int id : ids) if (cores.containsKey(id)) tick(id, 1);
    }

    /** Ticks {@code id} until it starts campaigning, then delivers everything. */
    void campaign(int id) {
        RaftCore core = cores.get(id);
        for (int i = 0; i < 1000 && core.role() == Role.FOLLOWER; i++) tick(id, 1);
        deliverAll();
    }

    /** Makes {@code id} the leader: campaigns and checks that it won. */
    RaftCore elect(int id) {
        campaign(id);
        RaftCore core = cores.get(id);
        if (core.role() != Role.LEADER) throw new AssertionError("node " + id + " did not win: " + core.status());
        return core;
    }

    void cut(int from, int to) {
        cutLinks.add(link(from, to));
    }

    void isolate(int id) {
        for (int other : ids) {
            if (other == id) continue;
            cut(id, other);
            cut(other, id);
        }
    }

    void heal() {
        cutLinks.clear();
    }

    void crash(int id) {
        cores.remove(id);
        drivers.remove(id);
        queue.removeIf(m -> m.to() == id || m.from() == id);
    }

    /** Starts a node again from exactly what it persisted. */
    void restart(int id) {
        start(id);
    }

    /** Snapshots what {@code id} applied, as a real node would write its state machine to disk. */
    SnapshotId snapshot(int id) {
        List<Entry> state = List.copyOf(applied.get(id));
        Entry last = state.get(state.size() - 1);
        SnapshotId snapshot = new SnapshotId(last.index(), last.term());
        snapshots.put(id, state);
        disks.get(id).setSnapshot(snapshot, cores.get(id).appliedMembership());
        return snapshot;
    }

    /** Drops {@code id}'s entries up to {@code index}, which a snapshot must cover. */
    void compact(int id, long index) {
        disks.get(id).compactTo(index);
    }

    private void start(int id) {
        MemoryStorage disk = disks.get(id);
        RaftConfig config = config(id);
        // A restart begins from the snapshot: the state machine holds what it covers.
        List<Entry> appliedEntries = new ArrayList<>(disk.snapshot().index() > 0 ? snapshots.get(id) : List.of());
        config.appliedIndex(disk.snapshot().index());
        RaftCore core = new RaftCore(config, disk);
        List<ReadState> released = new ArrayList<>();
        cores.put(id, core);
        applied.put(id, appliedEntries);
        readStates.put(id, released);
        ReplicaDriver.Transport network = new ReplicaDriver.Transport() {
            @Override
            public void send(Message m) {
                sent.add(m);
                queue.add(m);
            }

            @Override
            public void flush() {
            }
        };
        ReplicaDriver.StateMachine<Entry> recorder = new ReplicaDriver.StateMachine<>() {
            @Override
            public Entry apply(Entry e) {
                appliedEntries.add(e);
                return e;
            }

            @Override
            public long appliedIndex() {
                return appliedEntries.isEmpty() ? 0 : appliedEntries.get(appliedEntries.size() - 1).index();
            }
        };
        ReplicaDriver.Listener<Entry> reads = new ReplicaDriver.Listener<>() {
            @Override
            public void applied(Entry e, Entry result) {
            }

            @Override
            public void readable(ReadState read) {
                released.add(read);
            }
        };
        ReplicaDriver.SnapshotInstaller installer = (snapshot, membership) -> {
            List<Entry> state = received.remove(id);
            if (state == null || state.get(state.size() - 1).index() != snapshot.index()) throw new AssertionError("node " + id + " did not receive " + snapshot);
            disk.installSnapshot(snapshot, membership);
            snapshots.put(id, state);
            appliedEntries.clear();
            appliedEntries.addAll(state);
        };
        drivers.put(id, new ReplicaDriver<>(core, network, new MemoryDurableLog(disk), recorder, reads, installer));
    }

    // ---------------------------------------------------------------- client requests

    SubmitResult propose(int id, String data) {
        SubmitResult r = cores.get(id).propose(data.getBytes(StandardCharsets.UTF_8));
        process(id);
        return r;
    }

    /** Starts a new node with an empty disk and no configuration: it takes part once a leader's log names it. */
    void join(int id) {
        if (ids.contains(id)) throw new IllegalArgumentException("node " + id + " exists");
        ids.add(id);
        disks.put(id, new MemoryStorage());
        start(id);
    }

    SubmitResult changeMembership(int leader, Membership next) {
        SubmitResult r = cores.get(leader).proposeMembership(next);
        process(leader);
        return r;
    }

    SubmitResult transferLeadership(int leader, int target) {
        SubmitResult r = cores.get(leader).transferLeadership(target);
        process(leader);
        return r;
    }

    SubmitResult readIndex(int id, long context) {
        SubmitResult r = cores.get(id).readIndex(context);
        process(id);
        return r;
    }

    // ---------------------------------------------------------------- the network

    /** Delivers queued messages, and those they cause, until none is left. */
    void deliverAll() {
        for (int round = 0; round < DELIVERY_ROUNDS_MAX; round++) {
            for (int id : ids) if (cores.containsKey(id)) process(id);
            if (queue.isEmpty()) return;
            deliverOne();
        }
        throw new AssertionError("messages still flowing after " + DELIVERY_ROUNDS_MAX + " deliveries");
    }

    /** Delivers just the next queued message; returns it, or null when none. */
    Message deliverOne() {
        Message m = queue.poll();
        if (m == null) return null;
        RaftCore to = cores.get(m.to());
        boolean delivered = to != null && !cutLinks.contains(link(m.from(), m.to())) && !drop.test(m);
        if (delivered) {
            // A snapshot's data travels with its message, as the node's transport streams the file before it.
            if (m.type() == MessageType.SNAPSHOT) received.put(m.to(), snapshots.get(m.from()));
            to.step(m);
            process(m.to());
        }
        RaftCore from = cores.get(m.from());
        if (m.type() == MessageType.SNAPSHOT && from != null) {
            from.reportSnapshot(m.to(), delivered);
            process(m.from());
        }
        return m;
    }

    /** Throws away every queued message. */
    void dropQueued() {
        queue.clear();
    }

    List<Message> queued() {
        return List.copyOf(queue);
    }

    void process(int id) {
        ReplicaDriver<Entry> driver = drivers.get(id);
        if (driver == null) return;
        try {
            driver.process();
        } catch (IOException e) {
            throw new AssertionError("a memory log does not fail", e);
        }
    }

    /** A driver for a lone core: its messages go nowhere, its committed entries are counted as applied. */
    static ReplicaDriver<Entry> isolatedDriver(RaftCore core, MemoryStorage disk) {
        ReplicaDriver.Transport nowhere = new ReplicaDriver.Transport() {
            @Override
            public void send(Message m) {
            }

            @Override
            public void flush() {
            }
        };
        ReplicaDriver.StateMachine<Entry> counter = new ReplicaDriver.StateMachine<>() {
            private long applied = core.status().applied();

            @Override
            public Entry apply(Entry e) {
                applied = e.index();
                return e;
            }

            @Override
            public long appliedIndex() {
                return applied;
            }
        };
        ReplicaDriver.Listener<Entry> nobody = new ReplicaDriver.Listener<>() {
            @Override
            public void applied(Entry e, Entry result) {
            }

            @Override
            public void readable(ReadState read) {
            }
        };
        return new ReplicaDriver<>(core, nowhere, new MemoryDurableLog(disk), counter, nobody);
    }

    private static long link(int from, int to) {
        return ((long) from << 32) | to;
    }
}
