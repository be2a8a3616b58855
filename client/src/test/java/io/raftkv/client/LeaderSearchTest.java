package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Finding the leader from what the nodes say of themselves, without waiting for a silent one. */
class LeaderSearchTest {

    private static final InetSocketAddress A = new InetSocketAddress("127.0.0.1", 1001);
    private static final InetSocketAddress B = new InetSocketAddress("127.0.0.1", 1002);
    private static final InetSocketAddress C = new InetSocketAddress("127.0.0.1", 1003);
    /** Far longer than the test: a round that ends ends because its nodes answered. */
    private static final long ROUND_BOUND_MS = 60_000;

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private static ClientResponse.StatusResult status(int node, String role, long term, int leader) {
        return new ClientResponse.StatusResult(1, node, role, term, leader, 0, 0, 0, 0);
    }

    @Test
    void theLeaderIsTheNodeThatSaysItLeadsInTheHighestTerm() {
        assertEquals(C, LeaderSearch.leaderOf(Map.of(A, status(1, "LEADER", 2, 1), B, status(2, "FOLLOWER", 3, 3), C, status(3, "LEADER", 3, 3))));
        assertNull(LeaderSearch.leaderOf(Map.of(B, status(2, "FOLLOWER", 2, 1), C, status(3, "FOLLOWER", 2, 1))),
                "followers still naming the old leader is no leader found");
    }

    @Test
    void aRoundEndsWhenTheNodesThatAreNotSilentHaveAnsweredAndIsSharedMeanwhile() throws Exception {
        Endpoints endpoints = new Endpoints(List.of(A, B, C));
        endpoints.silent(A);
        CompletableFuture<ClientResponse.StatusResult> fromB = new CompletableFuture<>();
        AtomicInteger asked = new AtomicInteger();
        LeaderSearch search = new LeaderSearch(endpoints, (node, openOnly, boundMs) -> {
            asked.incrementAndGet();
            if (node.equals(A)) return new CompletableFuture<>(); // silent: never answers
            return node.equals(B) ? fromB : CompletableFuture.completedFuture(status(3, "FOLLOWER", 4, 2));
        }, scheduler);
        CompletableFuture<InetSocketAddress> round = search.find(ROUND_BOUND_MS);
        assertSame(round, search.find(ROUND_BOUND_MS), "a request that asks meanwhile joins the round");
        assertEquals(3, asked.get());
        assertFalse(round.isDone(), "B has not answered");
        fromB.complete(status(2, "LEADER", 4, 2));
        assertEquals(B, round.get(5, TimeUnit.SECONDS), "found without waiting for A");
    }
}
