package io.raftkv.client;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.protocol.ResponseHeader;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client library's own contract, against fake nodes: one that never answers, others that answer as each test says. */
class RaftKvClientTest {

    /** HELLO_CLIENT: length, type, version. */
    private static final int HELLO_FRAME_BYTES = 4 + 1 + 4;
    /** A PUT of a 1-byte key and a 1-byte value. */
    private static final int PUT_FRAME_BYTES = ClientCodec.PUT_FRAME_OVERHEAD_BYTES + 1 + 1;

    @Test
    void closingTheClientFailsWhatIsInFlightInsteadOfLeavingItHanging() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress("127.0.0.1", 0));
            AtomicLong received = new AtomicLong();
            Thread sink = new Thread(() -> {
                try (Socket s = silent.accept(); InputStream in = s.getInputStream()) {
                    byte[] buffer = new byte[4096];
                    for (int n; (n = in.read(buffer)) >= 0; ) received.addAndGet(n);
                } catch (Exception ignored) {
                    // The test is over.
                }
            });
            sink.setDaemon(true);
            sink.start();
            RaftKvClient client = new RaftKvClient(List.of(new InetSocketAddress("127.0.0.1", silent.getLocalPort())), Duration.ofSeconds(60));
            CompletableFuture<Void> write = client.putAsync(new byte[]{1}, new byte[]{2});
            CompletableFuture<?> read = client.getAsync(new byte[]{1}, false);
            // Close only once the PUT is on the wire: closed before it was sent, it was surely not applied, and the
            // client rightly says UNAVAILABLE (this test once failed that way: the close won the race).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received.get() < HELLO_FRAME_BYTES + PUT_FRAME_BYTES) {
                if (System.nanoTime() > deadline) throw new AssertionError("the PUT never reached the fake node: " + received.get() + " bytes");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            client.close();
            ExecutionException w = assertThrows(ExecutionException.class, () -> write.get(10, TimeUnit.SECONDS));
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, assertInstanceOf(RaftKvException.class, w.getCause()).kind(),
                    "a write that may have been sent has an unknown outcome");
            ExecutionException r = assertThrows(ExecutionException.class, () -> read.get(10, TimeUnit.SECONDS));
            assertEquals(RaftKvException.Kind.UNAVAILABLE, assertInstanceOf(RaftKvException.class, r.getCause()).kind());
            CompletableFuture<Void> late = client.putAsync(new byte[]{1}, new byte[]{2});
            assertThrows(ExecutionException.class, () -> late.get(10, TimeUnit.SECONDS), "a closed client refuses new work at once");
        }
    }

    // ------------------------------------------------------------------ following the membership

    private static final long CLUSTER_ID = 0x1a2b3c4dL;

    private static ClientResponse.Members members(ClientRequest r, int answering, int leader, long configIndex, MemberInfo... members) {
        return new ClientResponse.Members(r.requestId(), CLUSTER_ID, answering, leader, configIndex, List.of(members));
    }

    @Test
    void anInterruptedBlockingWriteReportsItsOutcomeAsUnknownAndAnInterruptedReadAsUnavailable() throws Exception {
        try (FakeNode silent = new FakeNode(); RaftKvClient client = client(silent)) {
            java.util.concurrent.atomic.AtomicReference<Throwable> writeOutcome = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicReference<Throwable> readOutcome = new java.util.concurrent.atomic.AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    client.put("k", "v");
                } catch (Throwable t) {
                    writeOutcome.set(t);
                }
            });
            Thread reader = new Thread(() -> {
                try {
                    client.get("k");
                } catch (Throwable t) {
                    readOutcome.set(t);
                }
            });
            writer.start();
            reader.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            // The PUT was sent (the node holds it, unanswered): the interrupted caller cannot know whether it applies.
            while (silent.received(ClientRequest.Put.class).isEmpty() || silent.received(ClientRequest.Get.class).isEmpty()) {
                if (System.nanoTime() > deadline) throw new AssertionError("the requests never reached the fake node: " + silent.received);
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
            writer.interrupt();
            reader.interrupt();
            writer.join(10_000);
            reader.join(10_000);
            RaftKvException w = assertInstanceOf(RaftKvException.class, writeOutcome.get());
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, w.kind(), w.getMessage());
            assertTrue(w.getMessage().contains("may or may not have been applied"), w.getMessage());
            assertEquals(RaftKvException.Kind.UNAVAILABLE, assertInstanceOf(RaftKvException.class, readOutcome.get()).kind());
        }
    }

    private static void awaitUninterruptibly(java.util.concurrent.CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) throw new AssertionError("never released");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static RaftKvClient client(FakeNode... nodes) {
        return new RaftKvClient(Arrays.stream(nodes).map(FakeNode::address).toList(), Duration.ofSeconds(10));
    }

    @Test
    void answersOfEverySizeInTurnArriveWhole() throws Exception {
        // The reader reads every frame into one buffer, grown for a big answer and given up after one over 1 MiB: each
        // answer must be decoded from its own bytes, never from what a bigger one left behind.
        int[] sizes = {10, 40_000, 5, 1_500_000, 7, 100_000, 3, 0, 64 * 1024};
        try (FakeNode node = new FakeNode(r -> {
            byte[] key = ((ClientRequest.Get) r).key();
            return new ClientResponse.Value(r.requestId(), new ResponseHeader(1, 1, 1), new KeyValue(key, 1, 1, 1, pattern(sizes[key[0]], key[0])));
        }); RaftKvClient client = client(node)) {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < sizes.length; i++) {
                    byte[] value = client.get(new byte[]{(byte) i}, false).orElseThrow();
                    assertArrayEquals(pattern(sizes[i], i), value, "answer " + i + " of " + sizes[i] + " bytes, round " + round);
                }
            }
        }
    }

    private static byte[] pattern(int size, int seed) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) (seed * 31 + i);
        return b;
    }

    @Test
    void requestsSentFromCallbacksLeave() throws Exception {
        // Callbacks run on the connection's reader thread, which holds what they send until it is about to read again.
        try (FakeNode node = new FakeNode(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 1, 1)));
             RaftKvClient client = client(node)) {
            int chain = 50;
            CompletableFuture<Integer> done = new CompletableFuture<>();
            java.util.function.IntConsumer[] next = new java.util.function.IntConsumer[1];
            next[0] = n -> client.putAsync(new byte[]{1}, new byte[]{(byte) n}).whenComplete((ok, e) -> {
                if (e != null) done.completeExceptionally(e);
                else if (n == chain) done.complete(n);
                else next[0].accept(n + 1);
            });
            next[0].accept(1);
            assertEquals(chain, done.get(10, TimeUnit.SECONDS), "each put sent from the answer of the one before");
            assertEquals(chain, node.received(ClientRequest.Put.class).size());
        }
    }

    @Test
    void whatAReaderThreadHeldLeavesWhenItsConnectionEnds() throws Exception {
        // The first node hangs up on the request: its reader fails it, and the callback sends to the second node from
        // that reader thread, which then ends.
        try (FakeNode first = new FakeNode(r -> {
            throw new IllegalStateException("hang up");
        }); FakeNode second = new FakeNode(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 2, 1)));
             NodeConnection a = NodeConnection.open(first.address(), 5_000, 1 << 20, 100, null);
             NodeConnection b = NodeConnection.open(second.address(), 5_000, 1 << 20, 100, null)) {
            CompletableFuture<ClientResponse> retried = new CompletableFuture<>();
            a.send(new ClientRequest.Put(1, new byte[]{1}, new byte[]{1})).whenComplete((ok, e) ->
                    b.send(new ClientRequest.Put(2, new byte[]{2}, new byte[]{2})).whenComplete((r, f) -> {
                        if (f != null) retried.completeExceptionally(f);
                        else retried.complete(r);
                    }));
            assertInstanceOf(ClientResponse.Ok.class, retried.get(10, TimeUnit.SECONDS), "sent by the reader that ended");
        }
    }

    @Test
    void aReaderThreadThatWaitsForAnAnswerSendsWhatItHeldFirst() throws Exception {
        java.util.concurrent.CountDownLatch attached = new java.util.concurrent.CountDownLatch(1);
        try (FakeNode first = new FakeNode(r -> {
            // Answered once the callback is attached, so that the reader thread runs it.
            awaitUninterruptibly(attached);
            return new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 1, 1));
        }); FakeNode second = new FakeNode(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 2, 1)));
             NodeConnection a = NodeConnection.open(first.address(), 5_000, 1 << 20, 100, null);
             NodeConnection b = NodeConnection.open(second.address(), 5_000, 1 << 20, 100, null)) {
            CompletableFuture<String> waited = new CompletableFuture<>();
            a.send(new ClientRequest.Put(1, new byte[]{1}, new byte[]{1})).whenComplete((ok, e) -> {
                try {
                    // What a blocking call of the client does before it waits (RaftKvClient.await).
                    CompletableFuture<ClientResponse> answer = b.send(new ClientRequest.Put(2, new byte[]{2}, new byte[]{2}));
                    NodeConnection.sendHeld();
                    answer.get(10, TimeUnit.SECONDS);
                    waited.complete(Thread.currentThread().getName());
                } catch (Throwable t) {
                    waited.completeExceptionally(t);
                }
            });
            attached.countDown();
            assertTrue(waited.get(20, TimeUnit.SECONDS).startsWith("raftkv-client-"), "the callback ran on a's reader thread");
            assertEquals(1, second.received(ClientRequest.Put.class).size());
        }
    }

    @Test
    void aMemberListReplacesTheEndpointsVotersFirstAndKeepsTheNodeItTalksTo() throws Exception {
        try (FakeNode a = new FakeNode(); FakeNode b = new FakeNode(); FakeNode c = new FakeNode(); FakeNode d = new FakeNode()) {
            a.answer(r -> members(r, 1, 2, 7, new MemberInfo(1, a.hostPort(), false), new MemberInfo(2, b.hostPort(), false),
                    new MemberInfo(3, c.hostPort(), true), new MemberInfo(4, d.hostPort(), false)));
            try (RaftKvClient client = client(a)) {
                MemberList list = client.members();
                assertEquals(new MemberList(CLUSTER_ID, 1, 2, 7, List.of(new MemberInfo(1, a.hostPort(), false), new MemberInfo(2, b.hostPort(), false),
                        new MemberInfo(3, c.hostPort(), true), new MemberInfo(4, d.hostPort(), false))), list);
                assertEquals(b.hostPort(), list.leader().address());
                assertEquals(List.of(a.address(), b.address(), d.address(), c.address()), client.endpoints(), "voters by id, then learners");
                assertEquals(a.address(), client.preferredEndpoint(), "the node asked is still a member: the client stays with it");
                assertEquals(1, a.received(ClientRequest.MemberList.class).size());
            }
        }
    }

    @Test
    void aMemberListWithoutTheNodeAskedMovesTheClientToTheLeader() throws Exception {
        try (FakeNode removed = new FakeNode(); FakeNode leader = new FakeNode(); FakeNode other = new FakeNode()) {
            removed.answer(r -> members(r, 1, 3, 9, new MemberInfo(2, other.hostPort(), false), new MemberInfo(3, leader.hostPort(), false)));
            leader.answer(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 3, 1)));
            try (RaftKvClient client = client(removed)) {
                client.members();
                assertEquals(List.of(other.address(), leader.address()), client.endpoints());
                assertEquals(leader.address(), client.preferredEndpoint());
                client.put("k", "v");
                assertEquals(1, leader.received(ClientRequest.Put.class).size(), "the next request goes to the leader");
                assertEquals(List.of(), removed.received(ClientRequest.Put.class));
            }
        }
    }

    @Test
    void anOlderMemberListDoesNotReplaceANewerOne() throws Exception {
        try (FakeNode a = new FakeNode(); FakeNode b = new FakeNode(); FakeNode c = new FakeNode()) {
            AtomicLong index = new AtomicLong(10);
            a.answer(r -> index.get() == 10
                    ? members(r, 1, 1, 10, new MemberInfo(1, a.hostPort(), false), new MemberInfo(2, b.hostPort(), false), new MemberInfo(3, c.hostPort(), false))
                    : members(r, 1, 1, index.get(), new MemberInfo(1, a.hostPort(), false)));
            try (RaftKvClient client = client(a)) {
                client.members();
                index.set(4);
                assertEquals(4, client.members().configIndex(), "the answer itself is returned as it is");
                assertEquals(List.of(a.address(), b.address(), c.address()), client.endpoints(), "but index 4 is older than 10");
                index.set(11);
                client.members();
                assertEquals(List.of(a.address()), client.endpoints());
            }
        }
    }

    @Test
    void aChangeSentToAFollowerFollowsNotLeaderToAnAddressTheClientDidNotKnow() throws Exception {
        try (FakeNode follower = new FakeNode(); FakeNode leader = new FakeNode(); FakeNode joining = new FakeNode()) {
            follower.answer(r -> new ClientResponse.NotLeader(r.requestId(), 2, leader.host(), leader.port()));
            leader.answer(r -> r instanceof ClientRequest.MemberAdd add
                    ? members(r, 2, 2, 12, new MemberInfo(1, follower.hostPort(), false), new MemberInfo(2, leader.hostPort(), false),
                            new MemberInfo(add.nodeId(), add.address(), add.learner()))
                    : null);
            try (RaftKvClient client = client(follower)) {
                MemberList list = client.addMember(4, joining.hostPort(), true);
                assertEquals(List.of(new ClientRequest.MemberAdd(follower.received.get(0).requestId(), 4, joining.hostPort(), true)), follower.received);
                assertEquals(1, leader.received(ClientRequest.MemberAdd.class).size(), "asked again at the leader");
                assertEquals(new MemberInfo(4, joining.hostPort(), true), list.member(4));
                assertEquals(2, list.nodeId());
                assertEquals(List.of(follower.address(), leader.address(), joining.address()), client.endpoints());
                assertEquals(leader.address(), client.preferredEndpoint());
                assertEquals(List.of(), joining.received, "a learner is an endpoint, but not the first choice");
            }
        }
    }

    @Test
    void aNotLeaderToAnUnknownAddressAddsItToTheEndpoints() throws Exception {
        try (FakeNode follower = new FakeNode(); FakeNode leader = new FakeNode()) {
            follower.answer(r -> new ClientResponse.NotLeader(r.requestId(), 2, leader.host(), leader.port()));
            leader.answer(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(5, 2, 1)));
            try (RaftKvClient client = client(follower)) {
                client.put("k", "v");
                assertEquals(List.of(follower.address(), leader.address()), client.endpoints());
                client.put("k", "w");
                assertEquals(List.of(follower.address(), leader.address()), client.endpoints(), "known once");
                assertEquals(1, follower.received.size(), "the second put went to the leader directly");
            }
        }
    }

    @Test
    void removingTheLeaderIsAskedAgainAtTheLeaderItHandedOverTo() throws Exception {
        try (FakeNode oldLeader = new FakeNode(); FakeNode newLeader = new FakeNode()) {
            oldLeader.answer(r -> new ClientResponse.NotLeader(r.requestId(), 2, newLeader.host(), newLeader.port()));
            newLeader.answer(r -> members(r, 2, 2, 20, new MemberInfo(2, newLeader.hostPort(), false)));
            try (RaftKvClient client = client(oldLeader)) {
                MemberList list = client.removeMember(1);
                assertNull(list.member(1));
                assertEquals(List.of(newLeader.address()), client.endpoints());
                assertEquals(List.of(new ClientRequest.MemberRemove(newLeader.received.get(0).requestId(), 1)), newLeader.received);
            }
        }
    }

    @Test
    void aRefusedChangeFailsWithTheNodesReasonAndIsNotRetried() throws Exception {
        try (FakeNode leader = new FakeNode(); FakeNode other = new FakeNode()) {
            leader.answer(r -> new ClientResponse.Error(r.requestId(), ErrorCode.REFUSED, "node 3 is not a learner"));
            try (RaftKvClient client = client(leader, other)) {
                RaftKvException e = assertThrows(RaftKvException.class, () -> client.promoteMember(3));
                assertEquals(RaftKvException.Kind.REJECTED, e.kind());
                assertEquals("REFUSED: node 3 is not a learner", e.getMessage());
                assertEquals(1, leader.received.size());
                assertEquals(List.of(), other.received);
                assertEquals(List.of(leader.address(), other.address()), client.endpoints(), "an error changes no endpoint");
            }
        }
    }

    @Test
    void moveLeaderReturnsTheMembersAndTalksToTheNewLeaderFirst() throws Exception {
        try (FakeNode oldLeader = new FakeNode(); FakeNode target = new FakeNode()) {
            oldLeader.answer(r -> members(r, 1, 2, 3, new MemberInfo(1, oldLeader.hostPort(), false), new MemberInfo(2, target.hostPort(), false)));
            try (RaftKvClient client = client(oldLeader)) {
                MemberList list = client.moveLeader(2);
                assertEquals(List.of(1, 2), List.of(list.nodeId(), list.leaderId()));
                assertEquals(target.address(), client.preferredEndpoint());
                assertEquals(List.of(new ClientRequest.MoveLeader(oldLeader.received.get(0).requestId(), 2)), oldLeader.received);
            }
        }
    }

    @Test
    void anAddressThatIsNotHostColonPortIsRefusedBeforeAnythingIsSent() throws Exception {
        try (FakeNode node = new FakeNode(); RaftKvClient client = client(node)) {
            for (String bad : List.of("no-port", "host:0", "host:99999", "a b:1", "h".repeat(300) + ":1")) {
                assertThrows(IllegalArgumentException.class, () -> client.addMember(4, bad, false), bad);
            }
            assertEquals(List.of(), node.received);
        }
    }

    @Test
    void anAnswerOfTheWrongTypeFailsTheCallInsteadOfLeavingItWaiting() throws Exception {
        try (FakeNode node = new FakeNode(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 1, 1)));
             RaftKvClient client = client(node)) {
            RaftKvException e = assertThrows(RaftKvException.class, client::members);
            assertEquals(RaftKvException.Kind.REJECTED, e.kind());
            assertTrue(e.getMessage().contains("Ok["), e.getMessage());
        }
    }

    @Test
    void aWriteAnsweredWithAnErrorThisClientDoesNotKnowHasAnUnknownOutcomeAndAReadIsRejected() throws Exception {
        try (FakeNode node = new FakeNode(r -> new ClientResponse.Error(r.requestId(), 99, "something new"));
             RaftKvClient client = client(node)) {
            RaftKvException w = assertThrows(RaftKvException.class, () -> client.put("k", "v"));
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, w.kind(), "a newer node's code may mean anything: " + w.getMessage());
            assertEquals(RaftKvException.Kind.REJECTED, assertThrows(RaftKvException.class, () -> client.get("k")).kind());
        }
    }

    @Test
    void aWriteAnsweredDoneWithAnAnswerOfTheWrongTypeHasAnUnknownOutcome() throws Exception {
        try (FakeNode node = new FakeNode(r -> new ClientResponse.Ok(r.requestId(), new ResponseHeader(1, 1, 1)));
             RaftKvClient client = client(node)) {
            RaftKvException e = assertThrows(RaftKvException.class, () -> client.put(new byte[]{1}, new byte[]{2}, true));
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, e.kind(), "the node said the write was done: " + e.getMessage());
        }
    }
}
