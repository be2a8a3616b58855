package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration changes one server at a time (thesis §4.1, §4.2.2), learners, and leader transfer (§3.10). */
class MembershipTest {

    private static Membership.Member learner(int id) {
        return new Membership.Member(id, Membership.Role.LEARNER, "");
    }

    private static Membership.Member voter(int id) {
        return new Membership.Member(id, Membership.Role.VOTER, "");
    }

    /** Three voters, node 1 leading, its no-op committed and everyone answering. */
    private static RaftTestCluster threeNodes() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.deliverAll();
        c.tick(1, 1);
        c.deliverAll();
        return c;
    }

    private static void settle(RaftTestCluster c, int rounds) {
        for (int i = 0; i < rounds; i++) {
            c.tickAll();
            c.deliverAll();
        }
    }

    @Test
    @DisplayName("§4.1 a learner added gets the log, applies what the voters applied, and does not count in the quorum")
    void learnerReceivesTheLogButIsNotCounted() {
        RaftTestCluster c = threeNodes();
        c.propose(1, "a");
        c.deliverAll();
        c.join(4);
        Membership next = c.node(1).membership().withMember(learner(4));
        assertTrue(c.changeMembership(1, next).accepted());
        c.deliverAll();
        c.propose(1, "b");
        c.deliverAll();

        assertEquals(List.of("a", "b"), c.appliedData(4));
        assertEquals(next, c.node(4).membership());
        assertEquals(List.of(1, 2, 3), c.node(1).membership().voters());

        // Two voters down: the learner's copy does not make a quorum.
        c.isolate(2);
        c.isolate(3);
        long commit = c.node(1).status().commit();
        c.propose(1, "c");
        c.deliverAll();
        assertEquals(commit, c.node(1).status().commit(), "a learner is never counted");
        c.heal();
        c.deliverAll();
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(List.of("a", "b", "c"), c.appliedData(3));
    }

    @Test
    @DisplayName("§4.2.1 a node that joins and is not yet named by any log never campaigns")
    void aJoiningNodeNeverCampaigns() {
        RaftTestCluster c = threeNodes();
        c.join(4);
        c.tick(4, 200);
        assertEquals(Role.FOLLOWER, c.node(4).role());
        assertTrue(c.queued().stream().noneMatch(m -> m.from() == 4), "it sent nothing");
    }

    @Test
    @DisplayName("§4.1 promotion waits until the learner has caught up; then the voter counts")
    void promotionIsRefusedUntilCaughtUp() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.learnerPromoteLagEntriesMax(5));
        c.elect(1);
        c.deliverAll();
        c.join(4);
        c.cut(1, 4);
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(4))).accepted());
        c.deliverAll();
        for (int i = 0; i < 10; i++) c.propose(1, "v" + i);
        c.deliverAll();
        settle(c, 2);

        SubmitResult refused = c.changeMembership(1, c.node(1).membership().withPromoted(4));
        assertEquals(SubmitResult.Status.REFUSED, refused.status());
        assertTrue(refused.reason().contains("learner 4 is"), refused.reason());

        c.heal();
        settle(c, 3);
        SubmitResult promoted = c.changeMembership(1, c.node(1).membership().withPromoted(4));
        assertTrue(promoted.accepted(), String.valueOf(promoted));
        c.deliverAll();
        assertEquals(List.of(1, 2, 3, 4), c.node(1).membership().voters());
        assertEquals(List.of(1, 2, 3, 4), c.node(4).membership().voters());

        // Four voters: a quorum is three, so two followers down stops commits.
        c.isolate(2);
        c.isolate(3);
        long commit = c.node(1).status().commit();
        c.propose(1, "x");
        c.deliverAll();
        assertEquals(commit, c.node(1).status().commit());
    }

    @Test
    @DisplayName("one change at a time: a second is refused while the first is not committed")
    void secondChangeRefusedWhilePending() {
        RaftTestCluster c = threeNodes();
        c.join(4);
        c.join(5);
        c.cut(1, 2);
        c.cut(1, 3);
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(4))).accepted());
        SubmitResult second = c.changeMembership(1, c.node(1).membership().withMember(learner(5)));
        assertEquals(SubmitResult.Status.REFUSED, second.status());
        assertTrue(second.reason().contains("one change at a time"), second.reason());
        assertTrue(c.node(1).membershipChangePending());
        c.heal();
        settle(c, 1);
        assertFalse(c.node(1).membershipChangePending());
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(5))).accepted());
    }

    @Test
    @DisplayName("raft-dev fix: a new leader makes no change before it commits an entry of its own term")
    void noChangeBeforeTheLeadersFirstCommit() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.drop = m -> m.type() == MessageType.APPEND_RESP;
        c.campaign(1);
        RaftCore leader = c.node(1);
        assertEquals(Role.LEADER, leader.role());
        settle(c, 2);
        c.join(4);
        SubmitResult early = c.changeMembership(1, leader.membership().withMember(learner(4)));
        assertEquals(SubmitResult.Status.RETRY_LATER, early.status());
        assertTrue(early.reason().contains("not yet committed an entry of its term"), early.reason());
        c.drop = m -> false;
        settle(c, 2);
        assertTrue(c.changeMembership(1, leader.membership().withMember(learner(4))).accepted());
    }

    @Test
    @DisplayName("§4.1 changes that move more than one voter, remove the leader, or change nothing are refused")
    void unsafeChangesAreRefused() {
        RaftTestCluster c = threeNodes();
        Membership now = c.node(1).membership();
        assertEquals(SubmitResult.Status.REFUSED, c.changeMembership(1, now.withMember(voter(4)).withMember(voter(5))).status());
        assertEquals(SubmitResult.Status.REFUSED, c.changeMembership(1, now.withRemoved(2).withRemoved(3)).status());
        SubmitResult self = c.changeMembership(1, now.withRemoved(1));
        assertEquals(SubmitResult.Status.REFUSED, self.status());
        assertTrue(self.reason().contains("hand leadership over first"), self.reason());
        assertEquals(SubmitResult.Status.REFUSED, c.changeMembership(1, now).status());
        assertEquals(SubmitResult.Status.NOT_LEADER, c.changeMembership(2, now.withRemoved(3)).status());
        assertEquals(now, c.node(1).membership(), "nothing changed");
    }

    @Test
    @DisplayName("§4.2.2 a removed follower is no longer sent anything nor counted; the rest goes on")
    void removedFollowerIsForgotten() {
        RaftTestCluster c = threeNodes();
        assertTrue(c.changeMembership(1, c.node(1).membership().withRemoved(3)).accepted());
        c.deliverAll();
        settle(c, 1);
        assertEquals(List.of(1, 2), c.node(1).membership().voters());
        assertTrue(c.node(1).membership().wasRemoved(3));
        int sentBefore = c.sent.size();
        c.propose(1, "after");
        c.deliverAll();
        settle(c, 2);
        assertTrue(c.sent.subList(sentBefore, c.sent.size()).stream().noneMatch(m -> m.to() == 3 && m.from() == 1));
        assertEquals(List.of("after"), c.appliedData(2));
        // The ids it had are never taken again.
        assertThrows(IllegalArgumentException.class, () -> new Membership(List.of(voter(1), voter(3)), new int[]{3}));
    }

    @Test
    @DisplayName("§4.1 a configuration entry cut from a follower's log takes the configuration back with it")
    void truncatedConfigurationIsUndone() {
        RaftTestCluster c = threeNodes();
        c.join(4);
        c.isolate(1);
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(4))).accepted());
        assertEquals(List.of(4), c.node(1).membership().learners(), "in force as soon as appended");
        c.dropQueued();
        for (int i = 0; i < 40 && c.node(2).role() != Role.LEADER && c.node(3).role() != Role.LEADER; i++) {
            c.tick(2, 1);
            c.tick(3, 1);
            c.deliverAll();
        }
        int leader = c.node(2).role() == Role.LEADER ? 2 : 3;
        assertEquals(Role.LEADER, c.node(leader).role());
        c.propose(leader, "x");
        c.deliverAll();
        c.heal();
        settle(c, 3);
        assertEquals(leader, c.node(1).leader());
        assertEquals(List.of(), c.node(1).membership().learners(), "the new leader's log replaced the entry, and the configuration with it");
        assertEquals(List.of("x"), c.appliedData(1));
    }

    @Test
    @DisplayName("etcd's strict check: a voter is not added while the voters that answer would not make the new quorum")
    void voterAddedOnlyWithAQuorumOfLiveVoters() {
        RaftTestCluster c = threeNodes();
        c.join(4);
        c.isolate(3);
        c.heal();
        c.cut(1, 3);
        c.cut(3, 1);
        settle(c, 25);
        assertEquals(Role.LEADER, c.node(1).role(), "nodes 1 and 2 keep the quorum");
        SubmitResult refused = c.changeMembership(1, c.node(1).membership().withMember(voter(4)));
        assertEquals(SubmitResult.Status.REFUSED, refused.status());
        assertTrue(refused.reason().contains("only 2 of the 4 voters"), refused.reason());
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(4))).accepted(), "a learner changes no quorum");
    }

    @Test
    @DisplayName("§3.10 leadership moves to a caught-up voter with TIMEOUT_NOW, even while the others hear the old leader")
    void transferToCaughtUpVoter() {
        RaftTestCluster c = threeNodes();
        c.propose(1, "a");
        c.deliverAll();
        long term = c.node(1).term();
        assertTrue(c.transferLeadership(1, 2).accepted());
        c.deliverAll();
        assertEquals(Role.LEADER, c.node(2).role());
        assertEquals(term + 1, c.node(2).term());
        assertEquals(2, c.node(3).leader());
        assertTrue(c.sent.stream().anyMatch(m -> m.type() == MessageType.TIMEOUT_NOW && m.to() == 2));
        c.propose(2, "b");
        c.deliverAll();
        assertEquals(List.of("a", "b"), c.appliedData(1));
    }

    @Test
    @DisplayName("§3.10 a lagging target is caught up first; proposals wait meanwhile; a transfer that stalls is given up")
    void transferCatchesUpTheTargetFirstAndGivesUp() {
        RaftTestCluster c = threeNodes();
        c.cut(1, 2);
        c.propose(1, "a");
        c.deliverAll();
        assertTrue(c.transferLeadership(1, 2).accepted());
        assertEquals(SubmitResult.Status.NOT_LEADER, c.propose(1, "refused").status(), "no new entries while handing over");
        assertTrue(c.sent.stream().noneMatch(m -> m.type() == MessageType.TIMEOUT_NOW), "not before the target holds the log");
        c.tick(1, 10);
        c.deliverAll();
        assertEquals(Role.LEADER, c.node(1).role());
        assertTrue(c.propose(1, "after").accepted(), "the transfer was given up after an election timeout");

        c.heal();
        assertTrue(c.transferLeadership(1, 2).accepted());
        c.deliverAll();
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(Role.LEADER, c.node(2).role());
        assertEquals(List.of("a", "after"), c.appliedData(2));
    }

    @Test
    @DisplayName("§3.10 transfer to a learner, to itself or to a stranger is refused")
    void transferTargetsMustBeVoters() {
        RaftTestCluster c = threeNodes();
        c.join(4);
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(4))).accepted());
        c.deliverAll();
        assertEquals(SubmitResult.Status.REFUSED, c.transferLeadership(1, 4).status());
        assertEquals(SubmitResult.Status.REFUSED, c.transferLeadership(1, 1).status());
        assertEquals(SubmitResult.Status.REFUSED, c.transferLeadership(1, 9).status());
        assertEquals(SubmitResult.Status.NOT_LEADER, c.transferLeadership(2, 3).status());
    }

    @Test
    @DisplayName("§7 a node that joins after the log was compacted gets the configuration with the snapshot")
    void snapshotCarriesTheConfiguration() {
        RaftTestCluster c = threeNodes();
        c.join(4);
        assertTrue(c.changeMembership(1, c.node(1).membership().withMember(learner(4))).accepted());
        c.cut(1, 4);
        c.deliverAll();
        for (int i = 0; i < 5; i++) c.propose(1, "v" + i);
        c.deliverAll();
        SnapshotId snapshot = c.snapshot(1);
        c.compact(1, snapshot.index());
        assertEquals(c.node(1).membership(), c.disk(1).snapshotMembership());
        c.heal();
        settle(c, 3);
        assertEquals(snapshot, c.disk(4).snapshot());
        assertEquals(c.node(1).membership(), c.node(4).membership());
        assertEquals(c.node(1).membership(), c.disk(4).snapshotMembership());
        assertEquals(c.appliedData(1), c.appliedData(4));

        // A restart rebuilds the configuration from the snapshot and the log after it.
        c.crash(4);
        c.restart(4);
        assertEquals(c.node(1).membership(), c.node(4).membership());
    }

    @Test
    @DisplayName("a configuration survives a restart from the log alone")
    void restartReadsTheConfigurationFromTheLog() {
        RaftTestCluster c = threeNodes();
        assertTrue(c.changeMembership(1, c.node(1).membership().withRemoved(3)).accepted());
        c.deliverAll();
        Membership m = c.node(2).membership();
        c.crash(2);
        c.restart(2);
        assertEquals(m, c.node(2).membership());
        assertNotEquals(Membership.ofVoters(List.of(1, 2, 3)), c.node(2).membership());
    }
}
