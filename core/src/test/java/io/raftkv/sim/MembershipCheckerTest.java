package io.raftkv.sim;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Membership;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The membership checks bite. The core refuses every change the simulator could use to break them end to end (two
 * voters at once, a change before the leader's first commit, two pending changes: the operator asks for the first
 * and the run fails if it is accepted), so here the checker is fed hand-made disks and states, each breaking one
 * property. {@code InjectedBugTest} shows the commit-quorum check finding a real bug in a whole run.
 */
class MembershipCheckerTest {

    private static final Membership THREE = Membership.ofVoters(List.of(1, 2, 3));
    private static final Membership FOUR = Membership.ofVoters(List.of(1, 2, 3, 4));
    private static final Membership FIVE = Membership.ofVoters(List.of(1, 2, 3, 4, 5));

    private final List<SimNode> nodes = new ArrayList<>();
    private final MembershipChecker checker;

    MembershipCheckerTest() {
        for (int id = 1; id <= 5; id++) {
            SimNode n = new SimNode(id);
            if (id <= 3) n.bootstrap = THREE;
            nodes.add(n);
        }
        checker = new MembershipChecker(nodes, THREE);
    }

    @Test
    void majoritiesOverlapAfterOneVoterChangesAndNotAfterTwo() {
        assertTrue(MembershipChecker.quorumsIntersect(THREE, FOUR));
        assertTrue(MembershipChecker.quorumsIntersect(FOUR, THREE));
        assertTrue(MembershipChecker.quorumsIntersect(FOUR, FIVE));
        assertTrue(MembershipChecker.quorumsIntersect(THREE, Membership.ofVoters(List.of(1, 2))));
        assertTrue(MembershipChecker.quorumsIntersect(Membership.ofVoters(List.of(1, 2)), Membership.ofVoters(List.of(1))));
        // Two voters changed: {1, 2} and {3, 4, 5} (twice); {1} and {2}. Not always disjoint: {1, 2} and {2, 3} share 2.
        assertFalse(MembershipChecker.quorumsIntersect(THREE, FIVE));
        assertFalse(MembershipChecker.quorumsIntersect(THREE, Membership.ofVoters(List.of(1, 3, 4, 5))));
        assertFalse(MembershipChecker.quorumsIntersect(Membership.ofVoters(List.of(1)), Membership.ofVoters(List.of(2))));
        assertTrue(MembershipChecker.quorumsIntersect(Membership.ofVoters(List.of(1, 2)), Membership.ofVoters(List.of(2, 3))));
        // Learners are in no quorum.
        Membership withLearner = THREE.withMember(new Membership.Member(4, Membership.Role.LEARNER, ""));
        assertTrue(MembershipChecker.quorumsIntersect(THREE, withLearner));
    }

    @Test
    void committingTwoVotersAtOnceFails() {
        SimNode n1 = node(1);
        // {1, 2, 3, 4} to {3, 4, 5}: majorities {1, 2, 3} and {4, 5}.
        append(n1, 1, command(1), config(2, FOUR), config(3, FOUR.withRemoved(1).withRemoved(2).withMember(new Membership.Member(5, Membership.Role.VOTER, ""))));
        checker.onCommitted(n1, 1);
        checker.onCommitted(n1, 2);
        assertFails("disjoint quorums: the configuration committed at 3", () -> checker.onCommitted(n1, 3));

        SimNode n2 = node(2);
        append(n2, 1, command(1), config(2, FIVE));
        MembershipChecker fresh = new MembershipChecker(nodes, THREE);
        fresh.onCommitted(n2, 1);
        assertFails("disjoint quorums: the configuration committed at 2", () -> fresh.onCommitted(n2, 2));
    }

    @Test
    void appendingTwoVotersAtOnceFailsOnEveryNodeThatPersistsIt() {
        SimNode n2 = node(2);
        Entry twoVoters = config(2, FIVE);
        append(n2, 1, command(1), twoVoters);
        assertFails("disjoint quorums: node 2 appended at 2", () -> checker.onPersistConfig(n2, twoVoters, follower(2, 1, 0)));
    }

    @Test
    void aLeaderAppendingAChangeWhileAnotherIsPendingOrBeforeItsFirstCommitFails() {
        SimNode n1 = node(1);
        Entry first = config(2, FOUR);
        Entry second = config(3, FOUR.withMember(new Membership.Member(5, Membership.Role.LEARNER, "")));
        append(n1, 1, command(1), first, second);
        assertDoesNotThrow(() -> checker.onPersistConfig(n1, first, leader(1, 1, 1)));
        assertFails("two changes at once", () -> checker.onPersistConfig(n1, second, leader(1, 1, 1)));
        assertDoesNotThrow(() -> checker.onPersistConfig(n1, second, leader(1, 1, 2)));

        // A leader of term 2 whose commit is still an entry of term 1 (thesis §4.1, the raft-dev fix).
        SimNode n3 = node(3);
        Entry change = new Entry(2, 3, FOUR.toEntryData());
        append(n3, 1, command(1), new Entry(2, 2, new byte[0]), change);
        assertFails("before committing an entry of its term", () -> checker.onPersistConfig(n3, change, leader(3, 2, 1)));
        assertDoesNotThrow(() -> checker.onPersistConfig(n3, change, leader(3, 2, 2)));
    }

    @Test
    void aCommitHeldByAMinorityOfTheLeadersVotersFails() {
        append(node(1), 1, command(1), command(2));
        append(node(2), 1, command(1));
        assertFails("only nodes [1] hold it, not a majority", () -> checker.checkCommitQuorum(node(1), THREE, 2, 1));
        assertDoesNotThrow(() -> checker.checkCommitQuorum(node(1), THREE, 1, 1));
        // Node 2's second entry is another one: it does not hold the leader's.
        append(node(2), 2, new Entry(1, 2, new byte[]{9}));
        assertFails("only nodes [1] hold it, not a majority", () -> checker.checkCommitQuorum(node(1), THREE, 2, 1));
        append(node(3), 1, command(1), command(2));
        assertDoesNotThrow(() -> checker.checkCommitQuorum(node(1), THREE, 2, 1));
    }

    @Test
    void aRemovedNodeIsNeverCountedNeverLeadsAndNeverComesBack() {
        Membership without3 = THREE.withRemoved(3);
        for (int id = 1; id <= 3; id++) append(node(id), 1, command(1), config(2, without3), command(3));
        checker.onCommitted(node(1), 1);
        checker.onCommitted(node(1), 2);
        assertEquals(2, checker.removedAt(3));
        // A stale leader still counting node 3 for an index past its removal.
        assertFails("among them node 3, removed", () -> checker.checkCommitQuorum(node(1), THREE, 3, 1));
        assertFails("node 3, removed in the configuration committed at 2, became leader", () -> checker.checkNotRemoved(node(3), 2));
        assertDoesNotThrow(() -> checker.checkNotRemoved(node(1), 2));
        // Node 3 added again, as if its id were used twice (its removal forgotten).
        append(node(1), 4, config(4, new Membership(THREE.members(), new int[0])));
        checker.onCommitted(node(1), 3);
        assertFails("node 3, removed in the configuration committed at 2, is a member of the one committed at 4", () -> checker.onCommitted(node(1), 4));
    }

    @Test
    void anAppliedConfigurationOtherThanTheCommittedOneFails() {
        append(node(1), 1, command(1), config(2, FOUR));
        checker.onCommitted(node(1), 1);
        checker.onCommitted(node(1), 2);
        assertDoesNotThrow(() -> checker.checkAppliedConfig(node(2), 1, THREE, false));
        assertDoesNotThrow(() -> checker.checkAppliedConfig(node(2), 2, FOUR, false));
        assertFails("node 2 applied index 2 with the configuration voters [1, 2, 3]", () -> checker.checkAppliedConfig(node(2), 2, THREE, false));
        // A member that knows no configuration (an empty snapshot reached it).
        assertFails("node 2 applied index 1 with the configuration voters []", () -> checker.checkAppliedConfig(node(2), 1, Membership.EMPTY, false));
        // Node 4, which joined at 2, knew none before: counted, not a failure; a snapshot with that view fails.
        assertDoesNotThrow(() -> checker.checkAppliedConfig(node(4), 1, Membership.EMPTY, false));
        assertEquals(1, checker.joinerViews);
        assertFails("node 4 takes a snapshot at index 1 with the configuration voters []", () -> checker.checkAppliedConfig(node(4), 1, Membership.EMPTY, true));
        assertFails("node 4 applied index 2 with the configuration voters []", () -> checker.checkAppliedConfig(node(4), 2, Membership.EMPTY, false));
    }

    private SimNode node(int id) {
        return nodes.get(id - 1);
    }

    private static Entry command(long index) {
        return new Entry(1, index, new byte[]{1, (byte) index});
    }

    private static Entry config(long index, Membership m) {
        return new Entry(1, index, m.toEntryData());
    }

    private static void append(SimNode n, long first, Entry... entries) {
        List<Entry> list = List.of(entries);
        if (list.get(0).index() != first) throw new IllegalArgumentException("entries start at " + list.get(0).index());
        n.disk.persist(new HardState(list.get(list.size() - 1).term(), 0, 0), list, true);
        n.disk.hand(list);
    }

    private static RaftStatus leader(int id, long term, long commit) {
        return new RaftStatus(id, Role.LEADER, term, id, id, commit, commit, 0, 0);
    }

    private static RaftStatus follower(int id, long term, long commit) {
        return new RaftStatus(id, Role.FOLLOWER, term, 0, 0, commit, commit, 0, 0);
    }

    private static void assertFails(String expected, Executable check) {
        SimulationFailure f = assertThrows(SimulationFailure.class, check);
        assertTrue(f.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + f.getMessage());
    }
}
