package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Leases on three real node processes (an election timeout of 500 ms, so the minimum TTL is 1 s): a lease kept alive
 * past its TTL keeps its keys, one left alone expires and its keys go in one revision on every node, and a leader
 * change, by kill -9 or by move-leader, does not expire a lease kept alive (docs/architecture.md, "Leases").
 */
class LeaseClusterTest {

    private static final Duration ELECTION_DEADLINE = Duration.ofSeconds(20);
    private static final long TTL_SECONDS = 2;
    /** How long after its TTL a lease left alone must be gone: the election timeout, ticks and a commit, with room for a slow machine. */
    private static final Duration EXPIRY_DEADLINE = Duration.ofSeconds(TTL_SECONDS + 8);
    private static final RangeRequest LEASED = RangeRequest.prefix(b("leased/"));

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Waits until the handle has been answered {@code more} keepalives more than now: time passes at the lease's own pace. */
    private static void awaitRenewals(LeaseKeepAlive k, int more) {
        long until = k.renewals() + more;
        LocalCluster.await(Duration.ofSeconds(30), more + " more keepalives answered", () -> {
            assertFalse(k.done().isDone(), "the lease was lost: " + k.done());
            return k.renewals() >= until ? true : null;
        });
    }

    /** What node {@code id} alone serves, read from its own copy: the leased keys and its revision. */
    private ClientResponse.RangeResult local(int id) {
        try (RaftKvClient one = new RaftKvClient(List.of(cluster.address(id)), Duration.ofSeconds(2))) {
            return one.range(LEASED.serializable(true));
        }
    }

    @Test
    void aLeaseKeptAliveKeepsItsKeysAndOneLeftAloneExpiresWithItsKeysInOneRevisionOnEveryNode() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, ELECTION_DEADLINE);
            ClientResponse.LeaseResult granted = client.grant(TTL_SECONDS);
            long lease = granted.leaseId();
            assertEquals(TTL_SECONDS, granted.ttlSeconds());
            for (String k : List.of("leased/a", "leased/b", "leased/c")) client.put(b(k), b("v"), lease);
            assertEquals(lease, client.range(RangeRequest.key(b("leased/b"))).kvs().get(0).lease(), "the key names its lease");
            assertEquals(1, client.grant(0).ttlSeconds(), "raised to the minimum: 1 s with a 500 ms election timeout");

            long revisionBefore;
            try (LeaseKeepAlive k = client.keepAlive(lease)) {
                awaitRenewals(k, 9); // a keepalive every TTL/3: three TTLs
                assertTrue(k.alive());
                assertEquals(3, client.range(LEASED).count(), "kept alive past its TTL, the lease keeps its keys");
                ClientResponse.LeaseResult ttl = client.timeToLive(lease, true);
                assertEquals(TTL_SECONDS, ttl.grantedTtlSeconds());
                assertTrue(ttl.ttlSeconds() >= 0 && ttl.ttlSeconds() <= TTL_SECONDS, "remaining " + ttl.ttlSeconds());
                assertEquals(List.of("leased/a", "leased/b", "leased/c"), ttl.keys().stream().map(x -> new String(x, StandardCharsets.UTF_8)).toList());
                assertTrue(client.leases().contains(lease));
                revisionBefore = client.range(LEASED).header().revision();
            }
            // Left alone: gone from every node, in one revision.
            for (int id = 1; id <= 3; id++) {
                int node = id;
                ClientResponse.RangeResult gone = LocalCluster.await(EXPIRY_DEADLINE, "node " + id + " to delete the lease's keys", () -> {
                    try {
                        ClientResponse.RangeResult r = local(node);
                        return r.count() == 0 ? r : null;
                    } catch (RaftKvException e) {
                        return null;
                    }
                });
                assertEquals(revisionBefore + 1, gone.header().revision(), "node " + id + ": the three deletes are one revision");
            }
            List<KeyValue> before = client.range(LEASED.atRevision(revisionBefore)).kvs();
            assertEquals(3, before.size(), "the revision before the expiry still holds every key");

            RaftKvException notFound = assertThrows(RaftKvException.class, () -> client.keepAliveOnce(lease));
            assertEquals(ErrorCode.LEASE_NOT_FOUND, notFound.errorCode(), notFound.getMessage());
            assertEquals(ErrorCode.LEASE_NOT_FOUND, assertThrows(RaftKvException.class, () -> client.timeToLive(lease, false)).errorCode());
            assertEquals(ErrorCode.LEASE_NOT_FOUND, assertThrows(RaftKvException.class, () -> client.revoke(lease)).errorCode());
            RaftKvException expiredPut = assertThrows(RaftKvException.class, () -> client.put(b("leased/late"), b("v"), lease));
            assertEquals(ErrorCode.LEASE_NOT_FOUND, expiredPut.errorCode(), "a put with an expired lease: " + expiredPut.getMessage());
            assertEquals(RaftKvException.Kind.REJECTED, expiredPut.kind(), "refused, nothing applied");
            assertFalse(client.leases().contains(lease));

            // A revoke deletes at once, in one revision too.
            long other = client.grant(60).leaseId();
            client.put(b("leased/x"), b("1"), other);
            client.put(b("leased/y"), b("1"), other);
            long at = client.range(LEASED).header().revision();
            assertEquals(at + 1, client.revoke(other).revision());
            assertEquals(0, client.range(LEASED).count());
        }
    }

    @Test
    void aLeaderKilledOrMovedDoesNotExpireALeaseKeptAlive() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, ELECTION_DEADLINE);
            long lease = client.grant(TTL_SECONDS).leaseId();
            client.put(b("leased/held"), b("v"), lease);
            KeyValue held = client.range(LEASED).kvs().get(0);
            try (LeaseKeepAlive k = client.keepAlive(lease)) {
                awaitRenewals(k, 3);

                cluster.kill(leader);
                int next = cluster.awaitLeader(client, ELECTION_DEADLINE);
                assertNotEquals(leader, next);
                awaitRenewals(k, 9); // three TTLs more, across the election
                assertEquals(List.of(held), client.range(LEASED).kvs(), "the key was never deleted (the same create revision)");

                int target = firstOtherThan(next, leader);
                assertEquals(target, client.moveLeader(target).leaderId());
                awaitRenewals(k, 9);
                assertEquals(List.of(held), client.range(LEASED).kvs(), "a handover does not expire it either");
                assertTrue(k.alive());

                cluster.start(leader);
                cluster.awaitLocalValue(leader, "leased/held", "v", Duration.ofSeconds(30));
            }
            LocalCluster.await(EXPIRY_DEADLINE, "the lease to expire once left alone", () -> client.range(LEASED).count() == 0 ? true : null);
        }
    }

    /** A running voter other than {@code a} and {@code b}. */
    private static int firstOtherThan(int a, int b) {
        for (int id = 1; id <= 3; id++) if (id != a && id != b) return id;
        throw new IllegalStateException();
    }
}
