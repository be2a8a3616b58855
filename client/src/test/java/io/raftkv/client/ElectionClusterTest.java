package io.raftkv.client;

import io.raftkv.protocol.KeyValue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Elections (etcd's Election) on three real node processes: campaign, proclaim, resign, the leader, and an observer
 * that sees every leader and every proclaimed value in order; a leader whose lease ends is replaced and can no longer
 * proclaim.
 */
class ElectionClusterTest {

    private static final Duration ELECTION_DEADLINE = Duration.ofSeconds(20);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static LocalCluster cluster;
    private static RaftKvClient client;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        client = cluster.client();
        cluster.awaitLeader(client, ELECTION_DEADLINE);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (client != null) client.close();
        if (cluster != null) cluster.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String s(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** What an observer heard: each leader as "value@createRevision". */
    private static final class Heard implements LeaderListener {
        final List<String> leaders = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<String> ended = new CompletableFuture<>();

        @Override
        public void onLeader(KeyValue leader) {
            leaders.add(s(leader.value()) + "@" + leader.createRevision());
        }

        @Override
        public void onEnded(String reason) {
            ended.complete(reason);
        }

        void await(List<String> expected) {
            LocalCluster.await(WAIT, "the observer to hear " + expected + " (heard " + leaders + ")", () -> {
                synchronized (leaders) {
                    return leaders.equals(expected) ? true : null;
                }
            });
        }
    }

    /** A candidate campaigning in a thread of its own. */
    private static CompletableFuture<Election> campaignInBackground(LeaseSession session, String name, String value) {
        CompletableFuture<Election> elected = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                Election e = new Election(session, name);
                e.campaign(b(value));
                elected.complete(e);
            } catch (Throwable e) {
                elected.completeExceptionally(e);
            }
        }, "candidate-" + value);
        t.setDaemon(true);
        t.start();
        return elected;
    }

    /** Waits until {@code n} candidates stand under {@code name}. */
    private static void awaitCandidates(String name, int n) {
        LocalCluster.await(WAIT, n + " candidates under " + name, () -> client.range(io.raftkv.protocol.RangeRequest.prefix(b(name + "/"))).count() == n ? true : null);
    }

    @Test
    void campaignProclaimResignAndAnObserverHearsEveryLeaderInOrder() throws Exception {
        Heard heard = new Heard();
        try (Watcher observing = Election.observe(client, "el", heard);
             LeaseSession a = LeaseSession.open(client, 10);
             LeaseSession bs = LeaseSession.open(client, 10);
             LeaseSession c = LeaseSession.open(client, 10)) {
            assertEquals(Optional.empty(), Election.leader(client, "el"), "no one stands yet");

            Election ea = new Election(a, "el");
            assertTrue(ea.campaign(b("a1"), WAIT));
            long ta = ea.fencingToken();
            assertEquals("a1", s(Election.leader(client, "el").orElseThrow().value()));
            assertEquals("el/" + CtlPrinter.leaseId(a.leaseId()), s(ea.key()));

            CompletableFuture<Election> eb = campaignInBackground(bs, "el", "b1");
            awaitCandidates("el", 2);
            ea.proclaim(b("a2"));
            assertEquals("a2", s(Election.leader(client, "el").orElseThrow().value()), "the leader's new value");
            assertFalse(eb.isDone(), "b waits while a leads");

            assertTrue(ea.resign());
            Election bLeads = eb.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            long tb = bLeads.fencingToken();
            assertTrue(tb > ta, "the next term's token is larger");
            bLeads.proclaim(b("b2"));

            CompletableFuture<Election> ec = campaignInBackground(c, "el", "c1");
            awaitCandidates("el", 2);
            bs.close(); // b's session ends: its key goes, c leads
            Election cLeads = ec.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            long tc = cLeads.fencingToken();
            assertEquals("c1", s(Election.leader(client, "el").orElseThrow().value()));

            heard.await(List.of("a1@" + ta, "a2@" + ta, "b1@" + tb, "b2@" + tb, "c1@" + tc));
            assertTrue(observing.revision() >= tc);

            // An observer that starts now hears the leader now first.
            Heard late = new Heard();
            try (Watcher ignored = Election.observe(client, "el", late)) {
                late.await(List.of("c1@" + tc));
            }
            assertTrue(cLeads.resign());
            assertFalse(cLeads.isLeader());
            assertThrows(IllegalStateException.class, () -> cLeads.proclaim(b("c2")), "no longer leads");
            assertEquals(Optional.empty(), Election.leader(client, "el"));
        }
    }

    @Test
    void aLeaderWhoseLeaseEndsIsReplacedAndCannotProclaim() throws Exception {
        Heard heard = new Heard();
        LeaseSession a = LeaseSession.open(client, 10);
        try (Watcher ignored = Election.observe(client, "lost", heard); LeaseSession bs = LeaseSession.open(client, 10)) {
            Election ea = new Election(a, "lost");
            assertTrue(ea.campaign(b("a"), WAIT));
            long ta = ea.fencingToken();
            CompletableFuture<Election> eb = campaignInBackground(bs, "lost", "b");
            awaitCandidates("lost", 2);
            try (RaftKvClient other = cluster.client()) {
                other.revoke(a.leaseId()); // as the leader does when a's lease expires
            }
            Election bLeads = eb.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            RaftKvException refused = assertThrows(RaftKvException.class, () -> ea.proclaim(b("a-again")));
            assertEquals(RaftKvException.Kind.REJECTED, refused.kind(), refused.getMessage());
            assertFalse(ea.isLeader(), "it knows it lost");
            assertEquals("b", s(Election.leader(client, "lost").orElseThrow().value()), "the failed proclaim changed nothing");
            heard.await(List.of("a@" + ta, "b@" + bLeads.fencingToken()));
            bLeads.resign();
        } finally {
            a.close();
        }
    }

    @Test
    void aCampaignThatTimesOutWithdrawsAndTheObserverEndsWithItsClient() throws Exception {
        try (LeaseSession a = LeaseSession.open(client, 10); LeaseSession bs = LeaseSession.open(client, 10)) {
            Election ea = new Election(a, "slow");
            assertTrue(ea.campaign(b("a"), WAIT));
            assertFalse(new Election(bs, "slow").campaign(b("b"), Duration.ofMillis(500)), "a leads throughout");
            awaitCandidates("slow", 1);
            assertTrue(ea.resign());
        }
        RaftKvClient own = cluster.client();
        Heard heard = new Heard();
        Election.observe(own, "slow", heard);
        own.close();
        assertEquals("the client was closed", heard.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    }
}
