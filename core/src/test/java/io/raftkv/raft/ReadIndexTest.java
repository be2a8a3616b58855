package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Linearizable reads without a log entry (ReadIndex, Ongaro's thesis §6.4): the leader records its commit
 * index, confirms with a heartbeat round that it is still the leader, and only then releases the read.
 */
class ReadIndexTest {

    /** Scenarios that elect a second leader while the followers still follow the first one (no lease wait). */
    private static final Consumer<RaftConfig> NO_LEASE = c -> c.checkQuorum(false);

    @Test
    @DisplayName("§6.4 a read on the leader is released with its commit index only after a majority answers a heartbeat round")
    void leaderReadWaitsForHeartbeatRound() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        c.propose(1, "a");
        c.deliverAll();
        long commit = leader.status().commit();

        assertTrue(c.readIndex(1, 42).accepted());
        assertEquals(List.of(), c.readStates(1), "no heartbeat answered yet");
        assertEquals(2, count(c, 0, m -> m.type() == MessageType.HEARTBEAT), "a round went out for the read");

        c.deliverAll();
        assertEquals(List.of(new ReadState(commit, 42)), c.readStates(1));
    }

    @Test
    @DisplayName("§6.4 answers to a heartbeat round sent before the read arrived do not confirm it")
    void earlierRoundDoesNotConfirmRead() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.tick(1, 1); // round R is queued, not delivered
        long earlierRound = c.sent.get(c.sent.size() - 1).context();
        c.readIndex(1, 7); // round R+1
        c.drop = m -> m.type() == MessageType.HEARTBEAT && m.context() > earlierRound;
        c.deliverAll();

        assertEquals(2, count(c, 0, m -> m.type() == MessageType.HEARTBEAT_RESP && m.context() == earlierRound));
        assertEquals(List.of(), c.readStates(1));
    }

    @Test
    @DisplayName("§6.4 a leader cut off from the majority never releases a read")
    void isolatedLeaderNeverReleases() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.isolate(1);
        assertTrue(c.readIndex(1, 5).accepted());
        for (int i = 0; i < 30; i++) { // past CheckQuorum: it steps down
            c.tick(1, 1);
            c.deliverAll();
        }
        assertEquals(List.of(), c.readStates(1));
    }

    @Test
    @DisplayName("§6.4 step 1: a read before the new leader committed an entry of its term waits for the no-op, and reads at least its index")
    void readWaitsForNoopOfNewTerm() {
        RaftTestCluster c = RaftTestCluster.of(3, NO_LEASE);
        c.elect(1);
        c.propose(1, "a");
        c.propose(1, "b");
        c.deliverAll();
        c.crash(1);
        c.drop = m -> m.type() == MessageType.APPEND; // the new leader's no-op stays uncommitted
        RaftCore leader = c.elect(2);
        long noopIndex = leader.status().lastIndex();
        assertTrue(leader.status().commit() < noopIndex);

        assertTrue(c.readIndex(2, 9).accepted());
        c.tick(2, 1); // heartbeat rounds do not release it meanwhile
        c.deliverAll();
        assertEquals(List.of(), c.readStates(2));

        c.drop = m -> false;
        c.tick(2, 1); // the heartbeat answer lets the leader resend the no-op
        c.deliverAll();
        assertEquals(noopIndex, leader.status().commit());
        assertEquals(1, c.readStates(2).size());
        assertEquals(9, c.readStates(2).get(0).context());
        assertTrue(c.readStates(2).get(0).index() >= noopIndex);
    }

    @Test
    @DisplayName("§6.4 a follower's read goes to the leader (READ_INDEX) and comes back with the leader's commit index (READ_INDEX_RESP)")
    void followerReadIsForwardedToLeader() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        c.propose(1, "a");
        c.deliverAll();
        int mark = c.sent.size();

        assertTrue(c.readIndex(2, 11).accepted());
        List<Message> asks = messages(c, mark, m -> m.type() == MessageType.READ_INDEX);
        assertEquals(1, asks.size());
        assertEquals(1, asks.get(0).to());
        assertEquals(11, asks.get(0).context());
        assertEquals(List.of(), c.readStates(2));

        c.deliverAll();
        List<Message> answers = messages(c, mark, m -> m.type() == MessageType.READ_INDEX_RESP);
        assertEquals(1, answers.size());
        assertEquals(2, answers.get(0).to());
        assertEquals(List.of(new ReadState(leader.status().commit(), 11)), c.readStates(2));
        assertEquals(List.of(), c.readStates(1));
    }

    @Test
    @DisplayName("§6.4 a follower that knows no leader refuses a read with NOT_LEADER and leader NONE")
    void followerWithoutLeaderRefuses() {
        RaftTestCluster c = RaftTestCluster.of(3);
        SubmitResult r = c.readIndex(2, 3);
        assertEquals(SubmitResult.Status.NOT_LEADER, r.status());
        assertEquals(RaftCore.NONE, r.leaderId());
        assertEquals(0, count(c, 0, m -> m.type() == MessageType.READ_INDEX));
    }

    @Test
    @DisplayName("§6.4 (batching) many reads registered in one turn are confirmed by a single heartbeat round")
    void manyReadsOneHeartbeatRound() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        int mark = c.sent.size();
        for (long ctx = 1; ctx <= 10; ctx++) assertTrue(leader.readIndex(ctx).accepted());
        c.process(1);
        c.deliverAll();

        assertEquals(2, count(c, mark, m -> m.type() == MessageType.HEARTBEAT), "one HEARTBEAT per follower");
        assertEquals(10, c.readStates(1).size());
        for (int i = 0; i < 10; i++) assertEquals(i + 1, c.readStates(1).get(i).context());
    }

    @Test
    @DisplayName("§6.4 flow control: past pendingReadsMax the leader refuses reads with OVERLOADED")
    void pendingReadsMaxOverloads() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.pendingReadsMax(2));
        c.elect(1);
        assertTrue(c.readIndex(1, 1).accepted());
        assertTrue(c.readIndex(1, 2).accepted());
        SubmitResult refused = c.readIndex(1, 3);
        assertEquals(SubmitResult.Status.OVERLOADED, refused.status());
        assertEquals(1, refused.leaderId());

        c.deliverAll();
        assertEquals(2, c.readStates(1).size());
        assertTrue(c.readIndex(1, 4).accepted(), "released reads free their places");
    }

    @Test
    @DisplayName("§6.4 step 1: every read accepted while the new leader waited for its no-op is released once it commits")
    void readsAwaitingNoopAreAllReleased() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.pendingReadsMax(2));
        c.drop = m -> m.type() == MessageType.APPEND;
        RaftCore leader = c.elect(1);
        assertTrue(c.readIndex(1, 1).accepted());
        assertTrue(c.readIndex(1, 2).accepted());

        c.drop = m -> false;
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(leader.status().lastIndex(), leader.status().commit(), "the no-op committed");
        assertEquals(List.of(1L, 2L), c.readStates(1).stream().map(ReadState::context).toList());
    }

    @Test
    @DisplayName("§6.4 a leader that steps down drops its pending reads: they are never released, even if it leads again")
    void steppingDownDropsPendingReads() {
        RaftTestCluster c = RaftTestCluster.of(3, NO_LEASE);
        c.elect(1);
        assertTrue(c.readIndex(1, 5).accepted());
        c.dropQueued(); // its heartbeat round is lost

        c.elect(2);
        assertEquals(Role.FOLLOWER, c.node(1).role());
        c.elect(1); // leads again, in a later term
        for (int i = 0; i < 3; i++) {
            c.tick(1, 1);
            c.deliverAll();
        }
        assertEquals(List.of(), c.readStates(1));
    }

    // ---------------------------------------------------------------- helpers

    private static List<Message> messages(RaftTestCluster c, int from, Predicate<Message> p) {
        return c.sent.subList(from, c.sent.size()).stream().filter(p).toList();
    }

    private static long count(RaftTestCluster c, int from, Predicate<Message> p) {
        return messages(c, from, p).size();
    }
}
