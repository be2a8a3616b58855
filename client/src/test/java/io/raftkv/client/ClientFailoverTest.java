package io.raftkv.client;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.ResponseHeader;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the client leaves a node that stops answering (issue 14), against fake nodes: a write given up as OUTCOME_UNKNOWN
 * once its node answers neither it nor a status probe, the next write sent to the leader the others elect (and
 * never to the silent node), a slow write on a leader that still answers waited for, reads asked elsewhere within an
 * attempt bound, and per-call deadlines. The timings asserted are loose upper bounds (several times the client's
 * 500 ms attempt bound, far under the 10 s deadlines): they tell failing over from waiting out the deadline.
 */
class ClientFailoverTest {

    private static final Duration DEADLINE = Duration.ofSeconds(10);
    /** Far more than an attempt bound and a probe (1 s), far less than {@link #DEADLINE}. */
    private static final long FAILOVER_MS_MAX = 3_000;
    /** An attempt bound (500 ms) and a backoff, with room for a loaded machine; before issue 14 a read moved after 2 s. */
    private static final long READ_FAILOVER_MS_MAX = 1_500;

    @Test
    void aWriteToALeaderThatAnswersNothingFailsOutcomeUnknownAndTheNextGoesToTheLeaderTheOthersElect() throws Exception {
        try (FakeNode paused = new FakeNode(); FakeNode b = new FakeNode(); FakeNode c = new FakeNode()) {
            AtomicBoolean elected = new AtomicBoolean();
            // Until the test elects c, b and c follow the paused node 1, as real followers do for an election timeout.
            b.answer(r -> r instanceof ClientRequest.Status
                    ? status(r, 2, "FOLLOWER", elected.get() ? 3 : 2, elected.get() ? 3 : 1)
                    : elected.get() ? notLeader(r, 3, c) : notLeader(r, 1, paused));
            c.answer(r -> r instanceof ClientRequest.Status
                    ? status(r, 3, elected.get() ? "LEADER" : "FOLLOWER", elected.get() ? 3 : 2, elected.get() ? 3 : 1)
                    : elected.get() ? ok(r, 3, 3) : notLeader(r, 1, paused));
            try (RaftKvClient client = new RaftKvClient(List.of(paused.address(), b.address(), c.address()), DEADLINE)) {
                long start = System.nanoTime();
                RaftKvException e = assertThrows(RaftKvException.class, () -> client.put("k", "v1"));
                long failedAfterMs = (System.nanoTime() - start) / 1_000_000;
                assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, e.kind(), e.getMessage());
                assertTrue(e.getMessage().contains("may or may not have been applied"), e.getMessage());
                assertTrue(failedAfterMs < FAILOVER_MS_MAX, "given up after " + failedAfterMs + " ms");
                assertEquals(1, paused.received(ClientRequest.Status.class).size(), "probed once before it was given up");

                CompletableFuture<Void> next = client.putAsync(utf8("k"), utf8("v2"));
                LocalCluster.await(Duration.ofSeconds(5), "the client to ask b and c who leads, twice",
                        () -> b.received(ClientRequest.Status.class).size() >= 2 && c.received(ClientRequest.Status.class).size() >= 2 ? true : null);
                assertFalse(next.isDone(), "no node leads yet: the write waits");
                elected.set(true);
                next.get(5, TimeUnit.SECONDS);
                assertEquals(1, paused.received(ClientRequest.Put.class).size(), "nothing more was sent to the silent node");
                assertEquals(1, c.received(ClientRequest.Put.class).size());
                assertEquals(c.address(), client.preferredEndpoint());
                client.put("k", "v3");
                assertEquals(2, c.received(ClientRequest.Put.class).size(), "and the writes after go to the new leader directly");
            }
        }
    }

    @Test
    void aSlowWriteOnALeaderThatStillAnswersIsWaitedFor() throws Exception {
        try (FakeNode leader = new FakeNode(r -> r instanceof ClientRequest.Status ? status(r, 1, "LEADER", 1, 1) : null);
             FakeNode follower = new FakeNode(r -> r instanceof ClientRequest.Status ? status(r, 2, "FOLLOWER", 1, 1) : notLeader(r, 1, leader));
             RaftKvClient client = new RaftKvClient(List.of(leader.address(), follower.address()), DEADLINE)) {
            CompletableFuture<Void> put = client.putAsync(utf8("k"), utf8("v"));
            LocalCluster.await(Duration.ofSeconds(5), "two status probes", () -> leader.received(ClientRequest.Status.class).size() >= 2 ? true : null);
            assertFalse(put.isDone(), "the node answers and leads: the write is slow, not lost");
            leader.reply(ok(leader.received(ClientRequest.Put.class).get(0), 1, 1));
            put.get(5, TimeUnit.SECONDS);
            assertEquals(List.of(), follower.received(ClientRequest.Put.class));
        }
    }

    @Test
    void aWriteOnANodeThatNoLongerLeadsFailsOutcomeUnknownWithoutWaitingForTheDeadline() throws Exception {
        try (FakeNode former = new FakeNode(r -> r instanceof ClientRequest.Status ? status(r, 1, "FOLLOWER", 2, 0) : null);
             FakeNode other = new FakeNode(r -> status(r, 2, "FOLLOWER", 2, 0));
             RaftKvClient client = new RaftKvClient(List.of(former.address(), other.address()), DEADLINE)) {
            long start = System.nanoTime();
            RaftKvException e = assertThrows(RaftKvException.class, () -> client.put("k", "v"));
            long failedAfterMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("no longer leads (FOLLOWER in term 2)"), e.getMessage());
            assertTrue(failedAfterMs < FAILOVER_MS_MAX, "given up after " + failedAfterMs + " ms");
        }
    }

    @Test
    void aReadOnANodeThatAnswersNothingIsServedByAnotherWellWithinTheDeadline() throws Exception {
        try (FakeNode silent = new FakeNode();
             FakeNode other = new FakeNode(r -> r instanceof ClientRequest.Get g ? value(r, g.key(), utf8("v")) : null);
             RaftKvClient client = new RaftKvClient(List.of(silent.address(), other.address()), DEADLINE)) {
            long start = System.nanoTime();
            Optional<byte[]> got = client.get(utf8("k"), false);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals("v", new String(got.orElseThrow(), StandardCharsets.UTF_8));
            assertTrue(tookMs < READ_FAILOVER_MS_MAX, "served after " + tookMs + " ms, with a deadline of " + DEADLINE.toMillis() + " ms");
            assertEquals(1, silent.received(ClientRequest.Get.class).size());
            assertEquals(other.address(), client.preferredEndpoint());
        }
    }

    @Test
    void aWriteToTheOnlyNodeWaitsForItsDeadlineWhateverTheNodesSilence() throws Exception {
        Duration deadline = Duration.ofSeconds(2);
        try (FakeNode only = new FakeNode(); RaftKvClient client = new RaftKvClient(List.of(only.address()), deadline)) {
            long start = System.nanoTime();
            RaftKvException e = assertThrows(RaftKvException.class, () -> client.put("k", "v"));
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, e.kind(), e.getMessage());
            assertTrue(tookMs >= deadline.toMillis() - 10, "nowhere else to go: the client waited for an answer until the deadline, "
                    + "not an attempt bound and a probe (" + tookMs + " ms)");
            assertEquals(List.of(), only.received(ClientRequest.Status.class), "and did not probe");
            assertEquals(1, only.received(ClientRequest.Put.class).size());
        }
    }

    @Test
    void aViewWithItsOwnDeadlineSharesTheClientAndClosingItClosesBoth() throws Exception {
        try (FakeNode silent = new FakeNode(); RaftKvClient client = new RaftKvClient(List.of(silent.address()), Duration.ofSeconds(60))) {
            RaftKvClient quick = client.withDeadline(Duration.ofMillis(400));
            assertEquals(Duration.ofMillis(400), quick.deadline());
            assertEquals(Duration.ofSeconds(60), client.deadline(), "the client keeps its own");
            long start = System.nanoTime();
            assertEquals(RaftKvException.Kind.UNAVAILABLE, assertThrows(RaftKvException.class, () -> quick.get("k")).kind());
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, assertThrows(RaftKvException.class, () -> quick.put("k", "v")).kind());
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMs < FAILOVER_MS_MAX, "a read and a write within 400 ms deadlines took " + tookMs + " ms");
            assertEquals(client.endpoints(), quick.endpoints());
            assertThrows(IllegalArgumentException.class, () -> client.withDeadline(Duration.ZERO));
            quick.close();
            RaftKvException closed = assertThrows(RaftKvException.class, () -> client.put("k", "v"));
            assertEquals(RaftKvException.Kind.UNAVAILABLE, closed.kind(), "nothing was sent: " + closed.getMessage());
        }
    }

    private static ClientResponse status(ClientRequest r, int node, String role, long term, int leader) {
        return new ClientResponse.StatusResult(r.requestId(), node, role, term, leader, 0, 0, 0, 0);
    }

    private static ClientResponse notLeader(ClientRequest r, int leaderId, FakeNode leader) {
        return new ClientResponse.NotLeader(r.requestId(), leaderId, leader.host(), leader.port());
    }

    private static ClientResponse ok(ClientRequest r, int node, long term) {
        return new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, node, term));
    }

    private static ClientResponse value(ClientRequest r, byte[] key, byte[] value) {
        return new ClientResponse.Value(r.requestId(), new ResponseHeader(1, 2, 1), new KeyValue(key, 1, 1, 1, value));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
