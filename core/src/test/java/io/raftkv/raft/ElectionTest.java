package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Leader election, PreVote and CheckQuorum, scripted step by step. */
class ElectionTest {

    @Test
    @DisplayName("§5.2 a follower that hears no leader campaigns and wins a majority; everyone learns the leader")
    void electsALeader() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        assertEquals(1, leader.term());
        for (int id = 1; id <= 3; id++) {
            assertEquals(1, c.node(id).leader(), "node " + id + " knows the leader");
            assertEquals(1, c.node(id).term());
        }
    }

    @Test
    @DisplayName("§5.2 election timeouts are randomized in [electionTicks, 2 x electionTicks)")
    void electionTimeoutIsRandomized() {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (long seed = 1; seed <= 40; seed++) {
            MemoryStorage disk = new MemoryStorage();
            RaftCore core = new RaftCore(new RaftConfig(1, List.of(1, 2, 3)).electionTicks(10).randomSeed(seed), disk);
            int ticks = 0;
            while (core.role() == Role.FOLLOWER) {
                core.tick();
                ticks++;
            }
            assertTrue(ticks >= 10 && ticks < 20, "campaigned after " + ticks + " ticks");
            seen.add(ticks);
        }
        assertTrue(seen.size() > 3, "timeouts vary: " + seen);
    }

    @Test
    @DisplayName("§5.2 a node grants at most one vote per term, so two candidates of one term cannot both win")
    void oneVotePerTerm() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.preVote(false));
        c.tick(1, 25);
        c.tick(2, 25);
        assertEquals(Role.CANDIDATE, c.node(1).role());
        assertEquals(Role.CANDIDATE, c.node(2).role());
        assertEquals(c.node(1).term(), c.node(2).term());
        c.deliverAll();
        long leaders = java.util.stream.IntStream.rangeClosed(1, 3).filter(id -> c.node(id).role() == Role.LEADER).count();
        assertEquals(1, leaders, "exactly one of the two candidates won");
        int winner = c.node(1).role() == Role.LEADER ? 1 : 2;
        assertEquals(winner, c.node(3).hardState().vote(), "node 3 voted once, for the winner");
    }

    @Test
    @DisplayName("§5.4.1 election restriction: a candidate whose log is behind is refused; an up-to-date one wins")
    void electionRestriction() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.isolate(3);
        for (int i = 0; i < 5; i++) c.propose(1, "x" + i);
        c.deliverAll();
        assertEquals(c.node(1).status().lastIndex(), c.node(2).status().lastIndex());
        c.crash(1);
        c.heal();
        // Node 3 missed five entries: node 2 must not vote for it, even once node 2 stopped hearing a leader.
        c.tick(2, 10);
        c.campaign(3);
        assertNotEquals(Role.LEADER, c.node(3).role());
        c.elect(2);
        assertEquals(5, c.appliedData(2).size());
    }

    @Test
    @DisplayName("§9.6 PreVote: a node cut off from the cluster does not raise its term, and on return does not depose the leader")
    void preVoteKeepsAnIsolatedNodeFromDisrupting() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        long term = leader.term();
        c.isolate(3);
        for (int i = 0; i < 20; i++) {
            c.tick(3, 10);
            c.deliverAll();
        }
        assertEquals(term, c.node(3).term(), "pre-votes failed, the term stayed");
        c.heal();
        c.tick(3, 30);
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(Role.LEADER, leader.role());
        assertEquals(term, leader.term());
        assertEquals(Role.FOLLOWER, c.node(3).role());
    }

    @Test
    @DisplayName("§9.6 without PreVote the same isolated node raises its term on every timeout (the problem PreVote solves)")
    void withoutPreVoteAnIsolatedNodeRaisesItsTerm() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.preVote(false));
        long term = c.elect(1).term();
        c.isolate(3);
        c.tick(3, 100);
        assertTrue(c.node(3).term() > term + 2);
    }

    @Test
    @DisplayName("§6.2 CheckQuorum: a leader that hears from no majority for an election timeout steps down")
    void checkQuorumStepsDownAnIsolatedLeader() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        c.isolate(1);
        c.tick(1, 10);
        c.deliverAll();
        assertEquals(Role.LEADER, leader.role(), "the first check saw the followers' earlier answers");
        c.tick(1, 10);
        assertEquals(Role.FOLLOWER, leader.role());
        assertEquals(RaftCore.NONE, leader.leader());
    }

    @Test
    @DisplayName("§6.2 CheckQuorum: a leader whose followers answer stays leader")
    void checkQuorumKeepsAHealthyLeader() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        for (int i = 0; i < 50; i++) {
            c.tick(1, 1);
            c.deliverAll();
        }
        assertEquals(Role.LEADER, leader.role());
    }

    @Test
    @DisplayName("§4.2.3 a follower that hears from its leader ignores vote requests of a higher term")
    void followerInLeaseIgnoresDisruptiveVotes() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        RaftCore follower = c.node(2);
        long term = follower.term();
        int before = c.sent.size();
        follower.step(new Message(MessageType.VOTE, 3, 2, term + 5, 100, 100, List.of(), 0, false, 0, 0, 0));
        c.process(2);
        assertEquals(term, follower.term());
        assertEquals(1, follower.leader());
        assertEquals(before, c.sent.size(), "no answer at all");
    }

    @Test
    @DisplayName("§5.1 a stale leader learns the higher term from a follower's answer and steps down")
    void staleLeaderStepsDown() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore old = c.elect(1);
        c.isolate(1);
        c.tick(3, 10); // out of the old leader's lease, so it may vote
        c.elect(2);
        assertEquals(Role.LEADER, old.role(), "still believes it leads");
        c.heal();
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(Role.FOLLOWER, old.role());
        assertEquals(c.node(2).term(), old.term());
        c.tick(2, 1);
        c.deliverAll();
        assertEquals(2, old.leader(), "and follows the new leader from its next heartbeat");
    }

    @Test
    @DisplayName("§5.2 term and vote survive a restart: a node never votes twice in one term")
    void voteSurvivesRestart() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.preVote(false).checkQuorum(false));
        c.tick(1, 25);
        assertEquals(Role.CANDIDATE, c.node(1).role());
        long term = c.node(1).term();
        c.deliverAll();
        c.crash(3);
        c.restart(3);
        assertEquals(term, c.node(3).term());
        assertEquals(1, c.node(3).hardState().vote());
        c.node(3).step(new Message(MessageType.VOTE, 2, 3, term, 100, 100, List.of(), 0, false, 0, 0, 0));
        c.process(3);
        Message answer = c.sent.get(c.sent.size() - 1);
        assertEquals(MessageType.VOTE_RESP, answer.type());
        assertTrue(answer.reject(), "a second candidate of the same term is refused");
    }

    @Test
    @DisplayName("§5.2 a single-node cluster elects itself and commits alone")
    void singleNode() {
        RaftTestCluster c = RaftTestCluster.of(1);
        c.elect(1);
        assertTrue(c.propose(1, "a").accepted());
        c.deliverAll();
        assertEquals(List.of("a"), c.appliedData(1));
    }

    /**
     * Figure 8 of the paper: a leader that counts replicas of an entry of an earlier term and commits it can
     * see that entry overwritten by a later leader. The script builds that schedule; with the rule (§5.4.2)
     * the entry is not committed, with {@link InjectedBug#COMMIT_PREVIOUS_TERM_BY_COUNTING} it is, and lost.
     */
    @Test
    @DisplayName("§5.4.2 Figure 8: an entry of an earlier term is never committed by counting replicas")
    void figure8() {
        Figure8 safe = figure8(InjectedBug.NONE);
        assertFalse(safe.leaderCommittedOldEntry, "the leader of term 3 must not commit the term-1 entry by counting");
        assertEquals(2, safe.overwrittenEntry.term(), "the same schedule played out: S5 replaced entry 2, legal since it was never committed");

        Figure8 buggy = figure8(InjectedBug.COMMIT_PREVIOUS_TERM_BY_COUNTING);
        assertTrue(buggy.leaderCommittedOldEntry, "with the bug, the term-1 entry is committed by counting");
        assertEquals(1, buggy.committedEntry.term());
        assertEquals(2, buggy.overwrittenEntry.term(), "and a later leader overwrote what was committed: state machine safety broken");
    }

    private record Figure8(boolean leaderCommittedOldEntry, Entry committedEntry, Entry overwrittenEntry) { }

    private static Figure8 figure8(InjectedBug bug) {
        RaftTestCluster c = RaftTestCluster.of(5, cfg -> cfg.preVote(false).checkQuorum(false).entriesPerMessageMax(1).injectedBug(bug));
        // (a) S1 leads term 1 and gets entry 2 onto S2 only.
        c.elect(1);
        for (int peer = 3; peer <= 5; peer++) c.cut(1, peer);
        c.propose(1, "x");
        c.deliverAll();
        c.heal();
        assertEquals(2, c.disk(2).lastIndex());
        // (b) S1 crashes; S5 wins term 2 with S3 and S4, appends its no-op at index 2, and crashes before sending it.
        c.crash(1);
        c.drop = m -> m.from() == 5 && m.type() == MessageType.APPEND;
        c.elect(5);
        c.crash(5);
        c.drop = m -> false;
        // (c) S1 restarts and wins a later term; it brings the term-1 entry 2 to S3 and S4, but its own no-op
        //     (index 3) reaches nobody: an APPEND carrying it is dropped wherever it would be accepted.
        c.restart(1);
        c.drop = m -> m.type() == MessageType.APPEND && m.entries().stream().anyMatch(e -> e.index() >= 3)
                && c.disk(m.to()).lastIndex() >= m.index();
        electEventually(c, 1);
        long committedBy1 = c.node(1).status().commit();
        Entry committed = c.disk(1).entry(2);
        c.crash(1);
        c.drop = m -> false;
        // (d) S5 restarts; its last term (2) beats the others' (1), so it wins and overwrites entry 2.
        c.restart(5);
        electEventually(c, 5);
        c.deliverAll();
        Entry overwritten = c.disk(3).entry(2);
        return new Figure8(committedBy1 >= 2, committed, overwritten);
    }

    private static void electEventually(RaftTestCluster c, int id) {
        for (int round = 0; round < 20 && c.node(id).role() != Role.LEADER; round++) {
            c.tick(id, 25);
            c.deliverAll();
        }
        assertEquals(Role.LEADER, c.node(id).role(), "node " + id + " should win eventually");
    }
}
