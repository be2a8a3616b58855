package io.raftkv.server;

import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;
import io.raftkv.replica.MemoryDurableLog;
import io.raftkv.replica.ReplicaDriver;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The losers of a compare-and-swap round, held at the leader of three behind the winner, and when they may be answered
 * without a read index round of their own (thesis §6.4): only when the winner's entry left after they arrived, so that
 * the majority acknowledging it, which its commit needs, acknowledged this leader after their arrival. The test plays
 * both followers: node 2 answers what it is told to, node 3 nothing.
 */
class HeldTxnConfirmationTest {

    private final MemoryStorage storage = new MemoryStorage();
    private final RaftCore core = new RaftCore(new RaftConfig(1, List.of(1, 2, 3)).electionTicks(10).heartbeatTicks(1).randomSeed(7), storage);
    private final KvStateMachine kv = new KvStateMachine(1 << 20);
    private final Timers timers = new Timers() {
        private long next;

        @Override
        public long schedule(long delayMs, Runnable task) {
            return ++next; // deadlines never come: the test decides what is answered
        }

        @Override
        public void cancel(long timerId) {
        }
    };
    private final ClientRequests requests = new ClientRequests(1, id -> new ClusterConfig.Member(id, "127.0.0.1", 2378 + id), core, kv,
            new Lessor(core, kv, () -> 0, 1000, 100, Lessor.REVOKES_PER_SECOND_MAX), timers,
            new ClientRequests.Limits(1000, 5000, 64, 1024, 100, 16, 4096, 1 << 20, 100, 100, 2), 42);
    /** What the leader sent and the test has not answered. */
    private final List<Message> outbox = new ArrayList<>();
    private final RequestTableTurns turns = new RequestTableTurns(core, new ReplicaDriver.Transport() {
        @Override
        public void send(Message m) {
            outbox.add(m);
        }

        @Override
        public void flush() {
        }
    }, new MemoryDurableLog(storage), kv, requests);
    private final Map<Long, ClientResponse> answers = new HashMap<>();
    private long nextId;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void endOfTurn() {
        turns.endOfTurn();
    }

    /** Hands {@code t} to the request table, within the current turn. */
    private long arrive(ClientRequest.Txn t) {
        requests.handle(r -> assertNull(answers.put(r.requestId(), r), "answered twice: " + r), t);
        return t.requestId();
    }

    /**
     * Node 2 answers every message to it of {@code type} as a follower that holds the leader's log, turn after turn
     * while the leader sends more (an APPEND waits for the answer to the one before while the follower is probed).
     */
    private void node2Answers(MessageType type) {
        Predicate<Message> answered = m -> m.to() == 2 && m.type() == type;
        for (int round = 0; round < 10 && outbox.stream().anyMatch(answered); round++) node2AnswersOnce(type, answered);
    }

    private void node2AnswersOnce(MessageType type, Predicate<Message> answered) {
        List<Message> due = new ArrayList<>();
        for (Message m : outbox) if (answered.test(m)) due.add(m);
        outbox.removeIf(answered);
        for (Message m : due) {
            core.step(switch (type) {
                case PRE_VOTE -> reply(MessageType.PRE_VOTE_RESP, m, 0, 0);
                case VOTE -> reply(MessageType.VOTE_RESP, m, 0, 0);
                case APPEND -> reply(MessageType.APPEND_RESP, m, m.index() + m.entries().size(), 0);
                case HEARTBEAT -> reply(MessageType.HEARTBEAT_RESP, m, core.status().lastIndex(), m.context());
                default -> throw new IllegalArgumentException(type.toString());
            });
        }
        endOfTurn();
    }

    private static Message reply(MessageType type, Message m, long index, long context) {
        return new Message(type, 2, 1, m.term(), 0, index, List.of(), 0, false, 0, 0, context);
    }

    private ClientRequest.Txn cas(long modRevision, String value) {
        return new ClientRequest.Txn(++nextId, new TxnRequest(List.of(Compare.modRevision(b("counter"), Compare.Result.EQUAL, modRevision)),
                List.of(new TxnOp.Put(b("counter"), b(value), false)), List.of(new TxnOp.Range(RangeRequest.key(b("counter"))))));
    }

    /** Node 1 leads with node 2's votes, and "counter" is written; returns its mod revision. */
    private long leadWithCounter() {
        for (int i = 0; i < 30 && outbox.stream().noneMatch(m -> m.type() == MessageType.PRE_VOTE); i++) {
            core.tick();
            endOfTurn();
        }
        node2Answers(MessageType.PRE_VOTE);
        node2Answers(MessageType.VOTE);
        assertEquals(Role.LEADER, core.role());
        long put = arrive(new ClientRequest.Txn(++nextId, new TxnRequest(List.of(), List.of(new TxnOp.Put(b("counter"), b("0"), false)), List.of())));
        endOfTurn();
        node2Answers(MessageType.APPEND);
        assertInstanceOf(ClientResponse.TxnResult.class, answers.remove(put));
        outbox.clear();
        return kv.store().get(b("counter")).modRevision();
    }

    private ClientResponse.TxnResult txnAnswer(long id) {
        return assertInstanceOf(ClientResponse.TxnResult.class, answers.get(id), "answer to " + id);
    }

    private void assertLostAndReadOne(long id) {
        ClientResponse.TxnResult lost = txnAnswer(id);
        assertFalse(lost.succeeded());
        assertEquals("1", new String(((OpResult.Range) lost.results().get(0)).kvs().get(0).value(), StandardCharsets.UTF_8),
                "the failure branch read what the winner wrote");
    }

    @Test
    void losersThatArriveBeforeTheWinnerLeavesAreAnsweredWhenItAppliesWithoutAHeartbeatRound() {
        long r0 = leadWithCounter();
        long winner = arrive(cas(r0, "1"));
        long second = arrive(cas(r0, "1"));
        long third = arrive(cas(r0, "1"));
        endOfTurn(); // the winner's APPENDs leave now, after all three arrived
        assertTrue(answers.isEmpty(), answers.toString());
        assertEquals(2, requests.heldTotal());

        node2Answers(MessageType.APPEND); // node 2 acknowledges the winner; no heartbeat is ever answered
        assertTrue(txnAnswer(winner).succeeded());
        assertLostAndReadOne(second);
        assertLostAndReadOne(third);
        assertEquals(2, requests.heldAnsweredAtOnce());
        assertEquals(0, requests.pending());
    }

    @Test
    void aLoserThatArrivesAfterTheWinnerLeftWaitsForAReadRound() {
        long r0 = leadWithCounter();
        long winner = arrive(cas(r0, "1"));
        endOfTurn(); // the winner's APPENDs leave
        long loser = arrive(cas(r0, "1"));
        endOfTurn();
        assertEquals(1, requests.heldTotal(), "held behind the winner in flight");

        // The winner's acknowledgements may have been sent before the loser arrived: they confirm nothing about it.
        node2Answers(MessageType.APPEND);
        assertTrue(txnAnswer(winner).succeeded());
        assertNull(answers.get(loser), "released as a read, waiting for its read index");
        assertEquals(0, requests.heldAnsweredAtOnce());

        node2Answers(MessageType.HEARTBEAT);
        assertLostAndReadOne(loser);
        assertEquals(0, requests.pending());
    }
}
