package io.raftkv.server;

import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;
import io.raftkv.replica.ReplicaDriver;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transactions in the request table of a one-node leader whose disk the test holds back, so that writes stay in flight:
 * a compare-and-swap that lost for good is answered as a read, without a log entry; one that compares the revision of a
 * key a transaction in flight writes waits for it, then is proposed or answered as a read; read-only transactions take no
 * log entry; a held transaction's deadline answers it, not applied.
 */
class TxnContentionTest {

    /** A durable log that keeps every write until the test releases them: what was handed over is in flight. */
    private static final class HeldBackLog implements ReplicaDriver.DurableLog {
        private record Write(HardState hardState, List<Entry> entries, Runnable durable) { }

        private final MemoryStorage storage;
        private final List<Write> writes = new ArrayList<>();
        boolean holding;

        HeldBackLog(MemoryStorage storage) {
            this.storage = storage;
        }

        @Override
        public void persist(HardState hardState, List<Entry> entries, boolean sync, Runnable durable) {
            writes.add(new Write(hardState, List.copyOf(entries), durable));
            if (!holding) release();
        }

        void release() {
            for (Write w : writes) {
                storage.append(w.entries());
                if (w.hardState() != null) storage.setHardState(w.hardState());
                w.durable().run();
            }
            writes.clear();
        }

        @Override
        public void awaitDurable() {
            release();
        }
    }

    /** Timers that fire only when the test says. */
    private static final class ManualTimers implements Timers {
        private final Map<Long, Runnable> scheduled = new HashMap<>();
        private long next;

        @Override
        public long schedule(long delayMs, Runnable task) {
            scheduled.put(++next, task);
            return next;
        }

        @Override
        public void cancel(long timerId) {
            scheduled.remove(timerId);
        }

        void fireAll() {
            List<Runnable> due = new ArrayList<>(scheduled.values());
            scheduled.clear();
            due.forEach(Runnable::run);
        }
    }

    /** Small enough that a transaction of a few puts is over it. */
    private static final int COMMAND_BYTES_MAX = 4096;

    private final MemoryStorage storage = new MemoryStorage();
    private final RaftCore core = new RaftCore(new RaftConfig(1, List.of(1)).electionTicks(10).heartbeatTicks(1).randomSeed(7), storage);
    private final KvStateMachine kv = new KvStateMachine(1 << 20);
    private final ManualTimers timers = new ManualTimers();
    private final ClientRequests requests = new ClientRequests(1, id -> new ClusterConfig.Member(id, "127.0.0.1", 2378 + id), core, kv,
            new Lessor(core, kv, () -> 0, 1000, 100, Lessor.REVOKES_PER_SECOND_MAX), timers,
            new ClientRequests.Limits(1000, 5000, 64, 1024, 100, 16, COMMAND_BYTES_MAX, 1 << 20, 100, 100, 2), 42);
    private final HeldBackLog log = new HeldBackLog(storage);
    private final RequestTableTurns turns = new RequestTableTurns(core, new ReplicaDriver.Transport() {
        @Override
        public void send(Message m) {
        }

        @Override
        public void flush() {
        }
    }, log, kv, requests);
    /** Answers by request id. */
    private final Map<Long, ClientResponse> answers = new HashMap<>();
    private long nextId;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The end of a loop turn, as the node's. */
    private void endOfTurn() {
        turns.endOfTurn();
    }

    private long send(ClientRequest.Txn t) {
        requests.handle(r -> assertEquals(null, answers.put(r.requestId(), r), "answered twice: " + r), t);
        endOfTurn();
        return t.requestId();
    }

    private ClientRequest.Txn cas(String key, long modRevision, String value) {
        return new ClientRequest.Txn(++nextId, new TxnRequest(List.of(Compare.modRevision(b(key), Compare.Result.EQUAL, modRevision)),
                List.of(new TxnOp.Put(b(key), b(value), false)), List.of(new TxnOp.Range(RangeRequest.key(b(key))))));
    }

    private void leadAndPut(String key, String value) {
        for (int i = 0; i < 30 && core.role() != Role.LEADER; i++) {
            core.tick();
            endOfTurn();
        }
        assertEquals(Role.LEADER, core.role());
        long id = send(new ClientRequest.Txn(++nextId, new TxnRequest(List.of(), List.of(new TxnOp.Put(b(key), b(value), false)), List.of())));
        assertInstanceOf(ClientResponse.TxnResult.class, answers.get(id));
        answers.clear();
    }

    private ClientResponse.TxnResult txnAnswer(long id) {
        return assertInstanceOf(ClientResponse.TxnResult.class, answers.get(id), "answer to " + id);
    }

    private static String rangeValue(ClientResponse.TxnResult t) {
        return new String(((OpResult.Range) t.results().get(0)).kvs().get(0).value(), StandardCharsets.UTF_8);
    }

    @Test
    void theLosersOfARoundWaitForTheWinnerAndAreAnsweredAsReads() {
        leadAndPut("counter", "0");
        long r0 = kv.store().get(b("counter")).modRevision();
        long applied = kv.appliedIndex();
        log.holding = true;
        long winner = send(cas("counter", r0, "1"));
        long second = send(cas("counter", r0, "1"));
        long third = send(cas("counter", r0, "1"));
        long elsewhere = send(cas("other", r0 + 1000, "x")); // another key: not held (its compare fails when applied)
        assertTrue(answers.isEmpty(), "all in flight or held: " + answers);
        assertEquals(2, requests.heldTotal(), "the two behind the winner wait");
        assertEquals(4, requests.pending());

        log.release();
        endOfTurn();
        assertTrue(txnAnswer(winner).succeeded());
        for (long loser : List.of(second, third)) {
            ClientResponse.TxnResult lost = txnAnswer(loser);
            assertFalse(lost.succeeded());
            assertEquals("1", rangeValue(lost), "the failure branch read what the winner wrote");
            assertEquals(kv.revision(), lost.header().revision());
        }
        assertFalse(txnAnswer(elsewhere).succeeded());
        assertEquals(applied + 2, kv.appliedIndex(), "two log entries (the winner, the other key's): the losers became reads");
        assertEquals(0, requests.pending());

        long late = send(cas("counter", r0, "2"));
        assertFalse(txnAnswer(late).succeeded(), "a compare of a revision the key left is answered at once, as a read");
        assertEquals(applied + 2, kv.appliedIndex());
    }

    @Test
    void aTransactionHeldBehindOneThatFailedIsProposedAfterIt() {
        leadAndPut("counter", "0");
        long r0 = kv.store().get(b("counter")).modRevision();
        log.holding = true;
        long stale = send(cas("counter", r0 + 1000, "x")); // a revision still to come: proposed, fails when applied
        long held = send(cas("counter", r0, "1"));
        assertEquals(1, requests.heldTotal());
        log.release();
        endOfTurn();
        assertFalse(txnAnswer(stale).succeeded());
        assertTrue(answers.get(held) == null, "proposed once the key is idle: in flight now");
        log.release();
        endOfTurn();
        assertTrue(txnAnswer(held).succeeded());
        assertArrayEquals(b("1"), kv.store().get(b("counter")).value());
    }

    @Test
    void aTransactionRefusedBeforeTheLogLeavesNoKeyBusy() {
        leadAndPut("counter", "0");
        long r0 = kv.store().get(b("counter")).modRevision();
        List<TxnOp> puts = new ArrayList<>();
        for (int i = 0; i < 8; i++) puts.add(new TxnOp.Put(b(i == 0 ? "counter" : "k" + i), new byte[1000], false));
        long tooLarge = send(new ClientRequest.Txn(++nextId, new TxnRequest(List.of(Compare.modRevision(b("counter"), Compare.Result.EQUAL, r0)),
                puts, List.of())));
        assertEquals(ErrorCode.TOO_LARGE, assertInstanceOf(ClientResponse.Error.class, answers.get(tooLarge)).code());
        log.holding = true;
        long next = send(cas("counter", r0, "1"));
        assertEquals(0, requests.heldTotal(), "nothing in flight writes the key: proposed, not held");
        log.release();
        endOfTurn();
        assertTrue(txnAnswer(next).succeeded());
    }

    @Test
    void aReadOnlyTransactionTakesNoLogEntry() {
        leadAndPut("k", "v");
        long applied = kv.appliedIndex();
        long id = send(new ClientRequest.Txn(++nextId, new TxnRequest(List.of(Compare.value(b("k"), Compare.Result.EQUAL, b("v"))),
                List.of(new TxnOp.Range(RangeRequest.key(b("k")))), List.of(new TxnOp.Range(RangeRequest.key(b("nothing")))))));
        ClientResponse.TxnResult t = txnAnswer(id);
        assertTrue(t.succeeded());
        assertEquals("v", rangeValue(t));
        assertEquals(applied, kv.appliedIndex());
    }

    @Test
    void aHeldTransactionsDeadlineAnswersItNotApplied() {
        leadAndPut("counter", "0");
        long r0 = kv.store().get(b("counter")).modRevision();
        log.holding = true;
        long winner = send(cas("counter", r0, "1"));
        long held = send(cas("counter", r0, "1"));
        timers.fireAll();
        assertEquals(ErrorCode.TIMEOUT, assertInstanceOf(ClientResponse.Error.class, answers.get(winner)).code(), "in flight: outcome unknown");
        ClientResponse.Error e = assertInstanceOf(ClientResponse.Error.class, answers.get(held));
        assertEquals(ErrorCode.UNAVAILABLE, e.code(), "never proposed: not applied, safe to retry");
        assertEquals(0, requests.pending());
        log.release();
        endOfTurn();
        assertArrayEquals(b("1"), kv.store().get(b("counter")).value(), "the winner applied; nothing else did");
    }
}
