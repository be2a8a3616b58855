package io.raftkv.sim;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * Runs the whole-cluster simulation for many seeds (even seeds: 3 nodes, odd: 5; seeds 1 and 2 modulo 4, half of
 * them, with the membership operator), one seed per core at a time. The default set is sized to about two minutes on
 * 2 cores (126 s on 2026-12-01's slow machine); {@code -Draftkv.sim.seeds=N} runs seeds 1..N and
 * {@code -Draftkv.sim.seed=S} replays one.
 */
class RaftSimulationTest {

    static final int DEFAULT_SEEDS = 8400;

    @TestFactory
    @Execution(ExecutionMode.CONCURRENT) // seeds share nothing: one per core
    Stream<DynamicTest> simulatedClusterStaysSafeAndLinearizable() {
        return seeds().mapToObj(seed -> DynamicTest.dynamicTest("seed " + seed, () -> {
            Simulation.Stats stats = new Simulation(Simulation.Options.forSeed(seed)).run();
            Totals.add(stats);
        }));
    }

    static LongStream seeds() {
        String one = System.getProperty("raftkv.sim.seed", "");
        if (!one.isBlank()) return LongStream.of(Long.parseLong(one.trim()));
        String count = System.getProperty("raftkv.sim.seeds", "");
        int n = count.isBlank() ? DEFAULT_SEEDS : Integer.parseInt(count.trim());
        return LongStream.rangeClosed(1, n);
    }

    /** Totals printed once, for the record of what a run covered. */
    static final class Totals {
        private static long runs, events, operations, unknown, faults, crashes, crashesMidWrite, commits, ranges, swapsWon, swapsLost, snapshotsTaken, snapshotsInstalled;
        private static long leaseReads, txnsHeld, txnsHeldAnsweredAtOnce, membershipRuns, leasesGranted, leaseRenewals, leasesExpired, leasesRevoked;
        private static MembershipOperator.Counts membership = MembershipOperator.Counts.NONE;
        private static final long startNanos = System.nanoTime();

        static synchronized void add(Simulation.Stats s) {
            runs++;
            events += s.events();
            operations += s.operations();
            unknown += s.unknownOperations();
            faults += s.faults();
            crashes += s.crashes();
            crashesMidWrite += s.crashesWithWritesInProgress();
            commits += s.commits();
            ranges += s.ranges();
            swapsWon += s.swapsWon();
            swapsLost += s.swapsLost();
            snapshotsTaken += s.snapshotsTaken();
            snapshotsInstalled += s.snapshotsInstalled();
            if (s.membership().asked() > 0) membershipRuns++;
            leasesGranted += s.leasesGranted();
            leaseRenewals += s.leaseRenewals();
            leasesExpired += s.leasesExpired();
            leasesRevoked += s.leasesRevoked();
            leaseReads += s.leaseReads();
            txnsHeld += s.txnsHeld();
            txnsHeldAnsweredAtOnce += s.txnsHeldAnsweredAtOnce();
            membership = membership.plus(s.membership());
            if (runs == seeds().count()) {
                System.out.printf("simulation: %d seeds, %d events, %d client operations checked (%d unknown outcome; %d ranges, "
                                + "%d compare-and-swaps won, %d lost, %d held behind another on their key, %d of those answered with the write they waited behind), %d faults, %d crashes (%d with disk writes in progress), %d entries committed, %d snapshots taken, "
                                + "%d installed from a leader, %.1f s%n",
                        runs, events, operations, unknown, ranges, swapsWon, swapsLost, txnsHeld, txnsHeldAnsweredAtOnce, faults, crashes, crashesMidWrite, commits, snapshotsTaken, snapshotsInstalled,
                        (System.nanoTime() - startNanos) / 1e9);
                System.out.printf("leases: %d granted to the lease client, %d renewals answered, %d expired by a leader's revoke, %d revoked by the client; "
                                + "%d linearizable reads served from a leader's read lease (a third of the seeds, clocks within the drift bound)%n",
                        leasesGranted, leaseRenewals, leasesExpired, leasesRevoked, leaseReads);
                MembershipOperator.Counts m = membership;
                System.out.printf("membership: %d seeds with the operator, %d changes asked (%d refused); committed: %d learners added, %d voters added, "
                                + "%d learners promoted, %d voters removed (%d of them leaders that handed over), %d learners removed; %d transfers asked "
                                + "(%d took over within %d ms); %d two-voter changes refused; %d removed nodes kept running; %d removed nodes stopped "
                                + "(%d before their removal was committed); %d restarts a real node would refuse (not a member); "
                                + "%d indexes applied by a joining node before its configuration reached it%n",
                        membershipRuns, m.asked(), m.refused(), m.learnersAdded(), m.votersAdded(), m.learnersPromoted(), m.votersRemoved(),
                        m.leadersRemoved(), m.learnersRemoved(), m.transfersAsked(), m.transfersDone(), MembershipOperator.TRANSFER_MS_MAX,
                        m.twoVoterChangesRefused(), m.zombies(), m.stoppedRemoved(), m.stoppedBeforeRemovalCommitted(),
                        m.restartsRefused(), m.joinerViews());
            }
        }
    }
}
