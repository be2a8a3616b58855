package io.raftkv.sim;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * The whole-cluster simulation with watches ({@link SimWatchers}, checked by {@link WatchChecker}): the seeds of
 * {@link RaftSimulationTest}'s family (3 or 5 nodes, the membership operator in half of them, every fault), each with
 * a hub on every node, watching clients, a writer of multi-key transactions and the watches' own faults. A watch seed
 * is another run than the same seed without watches. The default set is sized to about 24 s on 2 cores (seeds one per core);
 * {@code -Draftkv.sim.watchSeeds=N} runs seeds 1..N and {@code -Draftkv.sim.watchSeed=S} replays one.
 */
class WatchSimulationTest {

    static final int DEFAULT_SEEDS = 1000;

    @TestFactory
    @Execution(ExecutionMode.CONCURRENT) // seeds share nothing: one per core
    Stream<DynamicTest> watchesDeliverExactlyTheCommittedHistory() {
        return seeds().mapToObj(seed -> DynamicTest.dynamicTest("seed " + seed, () -> {
            Simulation.Stats stats = new Simulation(Simulation.Options.forSeed(seed).withWatches()).run();
            Totals.add(stats);
        }));
    }

    static LongStream seeds() {
        String one = System.getProperty("raftkv.sim.watchSeed", "");
        if (!one.isBlank()) return LongStream.of(Long.parseLong(one.trim()));
        String count = System.getProperty("raftkv.sim.watchSeeds", "");
        int n = count.isBlank() ? DEFAULT_SEEDS : Integer.parseInt(count.trim());
        return LongStream.rangeClosed(1, n);
    }

    /** Totals printed once, for the record of what a run covered. */
    static final class Totals {
        private static long runs, events, operations, crashes, snapshotsInstalled;
        private static SimWatchers.Counts watches = SimWatchers.Counts.NONE;
        private static final long startNanos = System.nanoTime();

        static synchronized void add(Simulation.Stats s) {
            runs++;
            events += s.events();
            operations += s.operations();
            crashes += s.crashes();
            snapshotsInstalled += s.snapshotsInstalled();
            watches = watches.plus(s.watches());
            if (runs == seeds().count()) {
                SimWatchers.Counts w = watches;
                System.out.printf("watch simulation: %d seeds, %d events, %d client operations, %d crashes, %d snapshots installed, %.1f s%n",
                        runs, events, operations, crashes, snapshotsInstalled, (System.nanoTime() - startNanos) / 1e9);
                System.out.printf("watches: %d opened, %d resumed on another connection; %d deliveries checked with %d events; frames: %d fragments, "
                                + "%d from history, %d progress; %d canceled as compacted (%d after delivering events), %d canceled by their client; "
                                + "faults: %d stalled readers, %d queue overflows, %d cut connections, %d broken by a crash; %d snapshots installed "
                                + "under watches; %d progress reports below one delivered before; writer: %d transactions, %d compactions asked; %d reads on watch connections%n",
                        w.watches(), w.resumes(), w.deliveries(), w.events(), w.fragments(), w.historyFrames(), w.progressFrames(), w.compacted(),
                        w.compactedAfterEvents(), w.canceledByClient(), w.stalls(), w.overflows(), w.cuts(), w.nodeDeaths(), w.snapshotsWithWatches(),
                        w.progressWentBack(), w.writes(), w.compactions(), w.rangeReads());
            }
        }
    }
}
