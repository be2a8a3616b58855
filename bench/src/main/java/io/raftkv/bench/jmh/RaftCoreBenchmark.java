package io.raftkv.bench.jmh;

import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Entry;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import io.raftkv.raft.SubmitResult;
import io.raftkv.replica.MemoryDurableLog;
import io.raftkv.replica.ReplicaDriver;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Raft core throughput with no I/O: three {@link RaftCore}s in one thread, wired by direct message delivery
 * (the {@link Message} objects themselves, no codec), each with a {@link MemoryStorage} as its "disk".
 *
 * <p>One operation is one turn: the leader takes {@code proposalsPerTurn} proposals (a 16 B key / 256 B
 * value PUT command each), then the cluster runs until no message is left: every node's {@link ReplicaDriver}
 * (the one a node runs) handles its Readys by the contract, with memory for a disk and committed entries
 * applied into a Blackhole, and in each round
 * every message sent in the previous round is stepped into its node before the nodes drain their Readys
 * again, the way one loop turn reads everything and then drains once. A turn ends with the batch committed
 * on the leader (checked) and the new commit index known to the followers. The primary score is turns per
 * second; the secondary score {@code turn:proposals} is proposals per second (turns × proposalsPerTurn).
 *
 * <p>No ticks are delivered while measuring (heartbeats are every 100 ms in a node, negligible here). A fresh
 * cluster is built and elected for every iteration: the log is never compacted, so it would otherwise grow
 * for the whole run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RaftCoreBenchmark {

    static final int NODES = 3;
    static final int KEY_BYTES = 16;
    static final int VALUE_BYTES = 256;
    /** A turn that needs more delivery rounds than this is stuck: stop loudly instead of measuring it. */
    static final int ROUNDS_PER_TURN_MAX = 100;
    static final int ELECTION_TICKS_MAX = 1_000;

    @Param({"1", "64"})
    public int proposalsPerTurn;

    private byte[] command;
    private Cluster cluster;

    /** Proposals committed, reported per second next to the primary score (turns per second). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Proposals {
        public long proposals;

        @Setup(Level.Iteration)
        public void reset() {
            proposals = 0;
        }
    }

    @Setup(Level.Trial)
    public void makeCommand() {
        Random random = new Random(42);
        byte[] key = new byte[KEY_BYTES];
        byte[] value = new byte[VALUE_BYTES];
        random.nextBytes(key);
        random.nextBytes(value);
        // One array for every proposal: the core never looks inside, and the log keeps a reference per entry.
        command = KvCommand.put(key, value).encode();
    }

    @Setup(Level.Iteration)
    public void startCluster() {
        cluster = new Cluster();
        cluster.elect(1);
    }

    @Benchmark
    public long turn(Proposals counter, Blackhole applied) {
        RaftCore leader = cluster.leader;
        long last = 0;
        for (int i = 0; i < proposalsPerTurn; i++) {
            SubmitResult r = leader.propose(command);
            if (!r.accepted()) throw new IllegalStateException("proposal refused: " + r);
            last = r.index();
        }
        cluster.runUntilQuiet(applied);
        long committed = cluster.committed[leader.id() - 1];
        if (committed < last) throw new IllegalStateException("turn ended with commit " + committed + " below " + last);
        counter.proposals += proposalsPerTurn;
        return committed;
    }

    /** Three replicas (core and driver, memory for a disk), and the messages in flight between delivery rounds. */
    static final class Cluster {
        final RaftCore[] cores = new RaftCore[NODES];
        @SuppressWarnings("unchecked")
        final ReplicaDriver<Entry>[] drivers = new ReplicaDriver[NODES];
        /** Index of the last committed entry each node was handed to apply. */
        final long[] committed = new long[NODES];
        RaftCore leader;
        /** Where applied entries go during a measured turn (null outside one). */
        private Blackhole applied;
        private ArrayList<Message> outbox = new ArrayList<>();
        private ArrayList<Message> inbox = new ArrayList<>();

        Cluster() {
            List<Integer> ids = new ArrayList<>();
            for (int id = 1; id <= NODES; id++) ids.add(id);
            for (int id = 1; id <= NODES; id++) {
                int i = id - 1;
                MemoryStorage storage = new MemoryStorage();
                // The node's settings (Node, NodeOptions defaults): 4 MiB frames, so half of that per APPEND.
                RaftConfig config = new RaftConfig(id, ids).electionTicks(10).heartbeatTicks(1)
                        .bytesPerMessageMax(2 << 20).randomSeed(id);
                cores[i] = new RaftCore(config, storage);
                drivers[i] = new ReplicaDriver<>(cores[i], network, new MemoryDurableLog(storage), new ReplicaDriver.StateMachine<>() {
                    @Override
                    public Entry apply(Entry e) {
                        if (applied != null) applied.consume(e);
                        committed[i] = e.index();
                        return e;
                    }

                    @Override
                    public long appliedIndex() {
                        return committed[i];
                    }
                }, NO_LISTENER);
            }
        }

        private final ReplicaDriver.Transport network = new ReplicaDriver.Transport() {
            @Override
            public void send(Message m) {
                outbox.add(m);
            }

            @Override
            public void flush() {
            }
        };

        private static final ReplicaDriver.Listener<Entry> NO_LISTENER = new ReplicaDriver.Listener<>() {
            @Override
            public void applied(Entry e, Entry result) {
            }

            @Override
            public void readable(ReadState read) {
            }
        };

        void elect(int id) {
            RaftCore candidate = cores[id - 1];
            for (int t = 0; t < ELECTION_TICKS_MAX && candidate.role() == Role.FOLLOWER; t++) {
                candidate.tick();
                process(id - 1);
            }
            runUntilQuiet(null);
            if (candidate.role() != Role.LEADER) throw new IllegalStateException("node " + id + " did not win: " + candidate.status());
            leader = candidate;
        }

        /** Processes every node's Ready, then delivers rounds of messages until none is left. */
        void runUntilQuiet(Blackhole sink) {
            applied = sink;
            for (int i = 0; i < NODES; i++) process(i);
            for (int round = 0; !outbox.isEmpty(); round++) {
                if (round == ROUNDS_PER_TURN_MAX) throw new IllegalStateException("messages still flowing after " + round + " rounds");
                ArrayList<Message> delivering = outbox;
                outbox = inbox;
                inbox = delivering;
                for (Message m : delivering) cores[m.to() - 1].step(m);
                delivering.clear();
                for (int i = 0; i < NODES; i++) process(i);
            }
            applied = null;
        }

        private void process(int i) {
            try {
                drivers[i].process();
            } catch (IOException e) {
                throw new IllegalStateException("a memory log does not fail", e);
            }
        }
    }
}
