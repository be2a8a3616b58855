package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Finds the leader when the node a write would go to went silent: asks every endpoint its status at once, and takes
 * the node that says it leads, in the highest term if several do (one cut off from the others may still believe it
 * leads, in an older term). What followers say is not taken: until they elect another, they still name the silent one.
 *
 * <p>One round at a time, shared by every request waiting for a leader; a request that a round leaves without one
 * waits a moment and asks again, joining the round in flight or starting the next. So the cluster gets at most one
 * status request per endpoint per round, however many requests wait. A round ends once every endpoint that is not
 * silent has answered or failed, or after its bound, whichever is first. A silent node is asked too, if its
 * connection is still open (no connect that may hang on a node gone), and counts if it has answered by then: it may
 * have come back, and still lead.
 */
final class LeaderSearch {

    /** Asks one node its status within {@code boundMs}; null when it cannot be asked without a new connection and {@code openOnly}. */
    interface StatusAsker {
        CompletableFuture<ClientResponse.StatusResult> ask(InetSocketAddress node, boolean openOnly, long boundMs);
    }

    /** The role a leader gives in its status. */
    static final String LEADER = "LEADER";

    private final Endpoints endpoints;
    private final StatusAsker asker;
    private final ScheduledExecutorService scheduler;
    /** The round in flight, or the last one; guarded by this. */
    private CompletableFuture<InetSocketAddress> round;

    LeaderSearch(Endpoints endpoints, StatusAsker asker, ScheduledExecutorService scheduler) {
        this.endpoints = endpoints;
        this.asker = asker;
        this.scheduler = scheduler;
    }

    /** The leader the round in flight finds, or a new round if none is: null when no node said it leads. */
    CompletableFuture<InetSocketAddress> find(long boundMs) {
        CompletableFuture<InetSocketAddress> found;
        synchronized (this) {
            if (round != null && !round.isDone()) return round;
            found = new CompletableFuture<>();
            round = found;
        }
        ask(found, boundMs);
        return found;
    }

    private void ask(CompletableFuture<InetSocketAddress> found, long boundMs) {
        Map<InetSocketAddress, ClientResponse.StatusResult> answers = new ConcurrentHashMap<>();
        List<InetSocketAddress> asked = new ArrayList<>();
        List<CompletableFuture<ClientResponse.StatusResult>> statuses = new ArrayList<>();
        List<Boolean> awaited = new ArrayList<>();
        for (InetSocketAddress node : endpoints.list()) {
            boolean silent = endpoints.isSilent(node);
            CompletableFuture<ClientResponse.StatusResult> status = asker.ask(node, silent, boundMs);
            if (status == null) continue;
            asked.add(node);
            statuses.add(status);
            awaited.add(!silent);
        }
        // With every endpoint silent, each answer is awaited: there is no other to hear from.
        if (!awaited.contains(true)) awaited.replaceAll(a -> true);
        AtomicInteger outstanding = new AtomicInteger((int) awaited.stream().filter(a -> a).count());
        ScheduledFuture<?> bound;
        try {
            bound = scheduler.schedule(() -> found.complete(leaderOf(answers)), boundMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            found.complete(null);
            return;
        }
        found.whenComplete((leader, e) -> bound.cancel(false));
        if (outstanding.get() == 0) found.complete(null);
        for (int i = 0; i < asked.size(); i++) {
            InetSocketAddress node = asked.get(i);
            boolean counted = awaited.get(i);
            statuses.get(i).whenComplete((status, e) -> {
                if (status != null) {
                    endpoints.answered(node);
                    answers.put(node, status);
                }
                if (counted && outstanding.decrementAndGet() == 0) found.complete(leaderOf(answers));
            });
        }
    }

    /** The node that says it leads, in the highest term if several do; null if none does. */
    static InetSocketAddress leaderOf(Map<InetSocketAddress, ClientResponse.StatusResult> answers) {
        InetSocketAddress leader = null;
        long term = -1;
        for (Map.Entry<InetSocketAddress, ClientResponse.StatusResult> a : answers.entrySet()) {
            if (LEADER.equals(a.getValue().role()) && a.getValue().term() > term) {
                leader = a.getKey();
                term = a.getValue().term();
            }
        }
        return leader;
    }
}
