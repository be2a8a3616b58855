package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import io.raftkv.replica.MemoryDurableLog;
import io.raftkv.replica.ReplicaDriver;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leader's lessor on a clock the test drives, and the lease requests of the request table, on a real replica (core,
 * driver, state machine) of one node: expiry, keepalive, the extension a new leader gives every lease, the revoke rate,
 * and the limits and errors a client meets.
 */
class LessorTest {

    private static final long TICK_MS = 100;
    private static final int ELECTION_TICKS = 10;
    private static final long ELECTION_TIMEOUT_MS = TICK_MS * ELECTION_TICKS;

    /** One node on memory: its clock moves only when the test says so; its timers never fire (no request times out here). */
    private static final class Replica {
        long nowMs = 1_000_000;
        final MemoryStorage storage;
        final RaftCore core;
        final KvStateMachine kv = new KvStateMachine(1 << 20);
        final Lessor lessor;
        final ClientRequests requests;
        final ReplicaDriver<ApplyResult> driver;
        final List<ClientResponse> answers = new ArrayList<>();

        Replica(MemoryStorage storage, List<Integer> voters, ClientRequests.Limits limits) {
            this.storage = storage;
            this.core = new RaftCore(new RaftConfig(1, voters).electionTicks(ELECTION_TICKS).heartbeatTicks(1).randomSeed(7), storage);
            this.lessor = new Lessor(core, kv, () -> nowMs, ELECTION_TIMEOUT_MS, TICK_MS, Lessor.REVOKES_PER_SECOND_MAX);
            Timers never = new Timers() {
                private long next;

                @Override
                public long schedule(long delayMs, Runnable task) {
                    return ++next;
                }

                @Override
                public void cancel(long timerId) {
                }
            };
            IntFunction<ClusterConfig.Member> members = id -> new ClusterConfig.Member(id, "127.0.0.1", 2378 + id);
            this.requests = new ClientRequests(1, members, core, kv, lessor, never, limits, 42);
            ReplicaDriver.Transport alone = new ReplicaDriver.Transport() {
                @Override
                public void send(io.raftkv.raft.Message m) {
                }

                @Override
                public void flush() {
                }
            };
            this.driver = new ReplicaDriver<>(core, alone, new MemoryDurableLog(storage), kv, new ReplicaDriver.Listener<ApplyResult>() {
                @Override
                public void applied(Entry e, ApplyResult result) {
                    requests.applied(e, result);
                    lessor.applied(e, result);
                }

                @Override
                public void readable(ReadState read) {
                    requests.readable(read);
                }
            });
        }

        static Replica leader(ClientRequests.Limits limits) {
            Replica r = new Replica(new MemoryStorage(), List.of(1), limits);
            r.becomeLeader();
            return r;
        }

        void becomeLeader() {
            for (int i = 0; i < 3 * ELECTION_TICKS && !lessor.primary(); i++) tick(0);
            assertEquals(Role.LEADER, core.role());
            assertTrue(lessor.primary(), "primary once the no-op of its term is applied");
        }

        void process() {
            try {
                driver.process();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** {@code ms} pass, then one tick: the core's and the lessor's, then the end of the loop turn. */
        void tick(long ms) {
            nowMs += ms;
            core.tick();
            lessor.tick();
            process();
        }

        ClientResponse ask(ClientRequest r) {
            answers.clear();
            requests.handle(answers::add, r);
            process();
            assertEquals(1, answers.size(), "one answer to " + r + ": " + answers);
            return answers.get(0);
        }

        long grant(long ttlSeconds) {
            return assertInstanceOf(ClientResponse.LeaseResult.class, ask(new ClientRequest.LeaseGrant(1, 0, ttlSeconds))).leaseId();
        }

        void put(String key, long lease) {
            ClientResponse r = ask(new ClientRequest.Txn(2, new TxnRequest(List.of(), List.of(new TxnOp.Put(b(key), b("v"), false, lease)), List.of())));
            assertInstanceOf(ClientResponse.TxnResult.class, r, "put " + key + ": " + r);
        }
    }

    private static ClientRequests.Limits limits(int leasesMax, int keysPerLeaseMax) {
        return new ClientRequests.Limits(1_000, 5_000, 64, 1024, 200, 16, 1 << 20, 1 << 20, leasesMax, keysPerLeaseMax, 2);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aLeaseNotKeptAliveExpiresAtItsTtlAndItsKeysGoInOneRevision() {
        Replica r = Replica.leader(limits(10, 10));
        long lease = r.grant(3);
        r.put("a", lease);
        r.put("b", lease);
        long revision = r.kv.revision();
        r.tick(2_999);
        assertNotNull(r.kv.leases().get(lease), "alive until its TTL has passed");
        assertEquals(1, r.lessor.remainingMs(lease));
        r.tick(1);
        assertEquals(1, r.lessor.revokesProposed());
        assertNull(r.kv.leases().get(lease), "revoked through the log, applied in the same turn");
        assertEquals(revision + 1, r.kv.revision(), "both keys in one revision");
        assertNull(r.kv.get(b("a")));
        assertNull(r.kv.get(b("b")));
        assertEquals(-1, r.lessor.remainingMs(lease));
    }

    @Test
    void aKeepaliveRenewsForTheWholeTtlFromNow() {
        Replica r = Replica.leader(limits(10, 10));
        long lease = r.grant(3);
        r.tick(2_000);
        ClientResponse.LeaseResult renewed = assertInstanceOf(ClientResponse.LeaseResult.class, r.ask(new ClientRequest.LeaseKeepAlive(3, lease)));
        assertEquals(List.of(lease, 3L, 3L), List.of(renewed.leaseId(), renewed.ttlSeconds(), renewed.grantedTtlSeconds()));
        r.tick(2_999);
        assertNotNull(r.kv.leases().get(lease), "2 s + 2.999 s: past the first TTL, within the renewed one");
        ClientResponse.LeaseResult ttl = assertInstanceOf(ClientResponse.LeaseResult.class, r.ask(new ClientRequest.LeaseTimeToLive(4, lease, false)));
        assertEquals(0, ttl.ttlSeconds(), "whole seconds left, cut as etcd cuts them");
        assertEquals(3, ttl.grantedTtlSeconds());
        r.tick(1);
        assertNull(r.kv.leases().get(lease));
        ClientResponse.Error gone = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseKeepAlive(5, lease)));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, gone.code());
        assertTrue(gone.message().contains("requested lease not found"), gone.message());
    }

    @Test
    void anExpiredLeaseIsNotBroughtBackByAKeepaliveWhileItsRevokeIsInFlight() {
        Replica r = Replica.leader(limits(10, 10));
        long lease = r.grant(2);
        r.nowMs += 2_000;
        r.core.tick();
        r.lessor.tick(); // proposed, not yet applied: the loop turn has not ended
        assertEquals(1, r.lessor.revokesProposed());
        r.lessor.tick();
        assertEquals(1, r.lessor.revokesProposed(), "never a second revoke for a lease whose revoke is in flight");
        assertInstanceOf(Lessor.Renewal.Expired.class, r.lessor.renew(lease));
        r.process();
        assertInstanceOf(Lessor.Renewal.NotFound.class, r.lessor.renew(lease));
    }

    @Test
    void aNewLeaderGivesEveryLeaseItsTtlAndAnElectionTimeoutFromItsPromotion() {
        Replica old = Replica.leader(limits(10, 10));
        long kept = old.grant(5);
        old.put("k", kept);
        old.tick(4_900); // 100 ms left at the old leader
        assertEquals(100, old.lessor.remainingMs(kept));
        // The leader is gone; the next one (here: the same log in a new life, a new term) starts its clock elsewhere.
        MemoryStorage log = new MemoryStorage();
        log.append(old.storage.entries(old.storage.firstIndex(), old.storage.lastIndex() + 1, Long.MAX_VALUE));
        log.setHardState(old.storage.hardState());
        Replica next = new Replica(log, List.of(1), limits(10, 10));
        next.nowMs = 77_000_000; // monotonic clocks of two nodes are never compared
        assertFalse(next.lessor.primary());
        assertEquals(-1, next.lessor.remainingMs(kept), "a follower knows no deadline");
        next.becomeLeader();
        long promotedAt = next.nowMs;
        assertNotNull(next.kv.leases().get(kept), "the grant was applied before the promotion");
        assertEquals(5_000 + ELECTION_TIMEOUT_MS, next.lessor.remainingMs(kept), "TTL + election timeout from the promotion");
        while (next.nowMs < promotedAt + 5_000 + ELECTION_TIMEOUT_MS - TICK_MS) next.tick(TICK_MS);
        assertNotNull(next.kv.leases().get(kept), "a leader change never cuts a lease short");
        next.tick(TICK_MS);
        assertNull(next.kv.leases().get(kept));
        assertNull(next.kv.get(b("k")));
    }

    @Test
    void revokesAreProposedAtMostAThousandASecond() {
        Replica r = Replica.leader(limits(5_000, 10));
        for (int i = 0; i < 250; i++) r.grant(2);
        r.nowMs += 2_000;
        r.core.tick();
        r.lessor.tick();
        assertEquals(100, r.lessor.revokesProposed(), "1,000 a second is 100 a tick of 100 ms");
        r.process();
        r.tick(0);
        r.tick(0);
        assertEquals(250, r.lessor.revokesProposed());
        assertEquals(0, r.kv.leases().size());
    }

    @Test
    void aFollowerServesNoLeaseReadAndDecidesNoExpiry() {
        Replica follower = new Replica(new MemoryStorage(), List.of(1, 2, 3), limits(10, 10));
        assertNotEquals(Role.LEADER, follower.core.role());
        assertInstanceOf(ClientResponse.NotLeader.class, follower.ask(new ClientRequest.LeaseKeepAlive(1, 5)));
        assertInstanceOf(ClientResponse.NotLeader.class, follower.ask(new ClientRequest.LeaseTimeToLive(2, 5, true)));
        assertInstanceOf(ClientResponse.NotLeader.class, follower.ask(new ClientRequest.LeaseLeases(3)));
        assertInstanceOf(ClientResponse.NotLeader.class, follower.ask(new ClientRequest.LeaseGrant(4, 0, 10)));
        assertInstanceOf(Lessor.Renewal.NotPrimary.class, follower.lessor.renew(5));
    }

    @Test
    void aGrantGetsAFreshIdAndTheMinimumTtlAndAnIdInUseIsRefused() {
        Replica r = Replica.leader(limits(10, 10));
        ClientResponse.LeaseResult granted = assertInstanceOf(ClientResponse.LeaseResult.class, r.ask(new ClientRequest.LeaseGrant(1, 0, 1)));
        assertTrue(granted.leaseId() > 0, "the leader picks a positive id");
        assertEquals(2, granted.ttlSeconds(), "1 s is raised to the minimum, as etcd does");
        assertEquals(2, r.kv.leases().get(granted.leaseId()).ttlSeconds(), "the raised TTL is what the log holds");
        ClientResponse.LeaseResult chosen = assertInstanceOf(ClientResponse.LeaseResult.class, r.ask(new ClientRequest.LeaseGrant(2, 0x694d5765fc71500bL, 10)));
        assertEquals(0x694d5765fc71500bL, chosen.leaseId());
        ClientResponse.Error again = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseGrant(3, 0x694d5765fc71500bL, 10)));
        assertEquals(ErrorCode.LEASE_EXISTS, again.code());
        ClientResponse.Error negative = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseGrant(4, 0, -1)));
        assertEquals(ErrorCode.BAD_REQUEST, negative.code());
        ClientResponse.Error tooLong = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseGrant(5, 0, 9_000_000_001L)));
        assertTrue(tooLong.message().contains("too large lease TTL"), tooLong.message());
        ClientResponse.Leases list = assertInstanceOf(ClientResponse.Leases.class, r.ask(new ClientRequest.LeaseLeases(6)));
        assertEquals(List.of(Math.min(granted.leaseId(), 0x694d5765fc71500bL), Math.max(granted.leaseId(), 0x694d5765fc71500bL)), list.leaseIds());
    }

    @Test
    void theLeaseLimitsRefuseWithClearErrors() {
        Replica r = Replica.leader(limits(2, 2));
        long lease = r.grant(10);
        r.grant(10);
        ClientResponse.Error full = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseGrant(1, 0, 10)));
        assertEquals(ErrorCode.LEASE_LIMIT, full.code());
        assertTrue(full.message().contains("the limit is 2 (leasesMax)"), full.message());

        r.put("a", lease);
        r.put("a", lease); // a key it holds already counts nothing
        ClientResponse over = r.ask(new ClientRequest.Txn(2, new TxnRequest(List.of(), List.of(
                new TxnOp.Put(b("b"), b("v"), false, lease), new TxnOp.Put(b("c"), b("v"), false, lease)), List.of())));
        ClientResponse.Error e = assertInstanceOf(ClientResponse.Error.class, over);
        assertEquals(ErrorCode.LEASE_LIMIT, e.code());
        assertTrue(e.message().contains("holds 1 keys: the limit is 2 (keysPerLeaseMax)"), e.message());
        assertNull(r.kv.get(b("b")), "nothing applied");
        r.put("b", lease);
        assertEquals(2, r.kv.leases().get(lease).keyCount());

        ClientResponse.LeaseResult ttl = assertInstanceOf(ClientResponse.LeaseResult.class, r.ask(new ClientRequest.LeaseTimeToLive(3, lease, true)));
        assertEquals(List.of("a", "b"), ttl.keys().stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList());
        ClientResponse.Error unknown = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseTimeToLive(4, 12345, false)));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, unknown.code());
        ClientResponse.Error revokeUnknown = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.LeaseRevoke(5, 12345)));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, revokeUnknown.code());
        assertInstanceOf(ClientResponse.Ok.class, r.ask(new ClientRequest.LeaseRevoke(6, lease)));
        ClientResponse.Error expiredPut = assertInstanceOf(ClientResponse.Error.class, r.ask(new ClientRequest.Txn(7, new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("d"), b("v"), false, lease)), List.of()))));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, expiredPut.code(), "a put with a revoked lease");
        assertEquals(0, r.kv.size());
    }

    @Test
    void revokesTravelAsLogCommandsSoEveryReplicaDeletesTheSameKeys() {
        Replica r = Replica.leader(limits(10, 10));
        long lease = r.grant(2);
        r.put("x", lease);
        r.tick(2_000);
        long last = r.storage.lastIndex();
        boolean found = false;
        for (long i = r.storage.firstIndex(); i <= last; i++) {
            Entry e = r.storage.entry(i);
            if (!e.isNoop() && KvCommand.decode(e.data()) instanceof KvCommand.LeaseRevoke revoke) found |= revoke.leaseId() == lease;
        }
        assertTrue(found, "the expiry is a LEASE_REVOKE entry in the log");
    }
}
