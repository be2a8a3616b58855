package io.raftkv.server.metrics;

import io.raftkv.raft.Role;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each check of /health, /readyz and /livez on its own, from views a loop could publish. */
class HealthTest {

    private static final Health.Limits LIMITS = new Health.Limits(1_000, 5_000, 5_000, 5_000);

    private final NodeMetrics metrics = new NodeMetrics(1, Path.of("no-such-dir"));
    private final Health health = new Health(metrics, LIMITS);

    private static LoopView view(long agoMs, int leader, long leaderSilentMs, long commit, long applied, boolean caughtUp) {
        return new LoopView(System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(agoMs), leader == 1 ? Role.LEADER : Role.FOLLOWER, 3, leader,
                leaderSilentMs, commit, applied, 0, caughtUp, 0, 0, 0, 0);
    }

    @Test
    void aFollowerThatHearsItsLeaderAndKeepsUpIsHealthyReadyAndLive() {
        metrics.publish(view(0, 2, 100, 100, 100, true));
        assertEquals(Health.Verdict.OK, health.healthy());
        assertEquals(Health.Verdict.OK, health.ready());
        assertEquals(Health.Verdict.OK, health.live());
        assertEquals("{\"health\":\"true\",\"reason\":\"\"}\n", new String(NodeHttp.health(health.healthy()).body()));
    }

    @Test
    void eachCheckSaysWhy() {
        assertEquals("the node is starting", health.live().reason());
        metrics.publish(view(0, 0, -1, 100, 100, true));
        assertEquals("no leader", health.healthy().reason());
        assertEquals("no leader", health.ready().reason());
        assertTrue(health.live().ok());
        metrics.publish(view(0, 2, 1_500, 100, 100, true));
        assertEquals("leader 2 not heard from for 1500 ms", health.healthy().reason());
        metrics.publish(view(0, 2, 0, 10_000, 4_000, true));
        assertEquals("applied index 4000 is 6000 entries behind the commit index 10000", health.healthy().reason());
        metrics.publish(view(0, 1, 0, 100, 100, false));
        assertTrue(health.healthy().ok());
        assertEquals("catching up with the leader after a start", health.ready().reason());
        metrics.publish(view(6_000, 1, 0, 100, 100, true));
        assertTrue(health.live().reason().startsWith("the node's loop has not turned for "), health.live().reason());
        assertFalse(health.healthy().ok());
        assertFalse(health.ready().ok());
        HttpEndpoint.Response r = NodeHttp.health(health.healthy());
        assertEquals(503, r.status());
        assertTrue(new String(r.body()).startsWith("{\"health\":\"false\",\"reason\":\"the node's loop has not turned for "));
    }

    @Test
    void aWalWriteStuckPastTheBoundIsUnhealthyAnIdleWalIsNot() {
        metrics.publish(view(0, 1, 0, 100, 100, true));
        metrics.walBusy(System.nanoTime() - TimeUnit.SECONDS.toNanos(6));
        assertTrue(health.healthy().reason().startsWith("the WAL has been writing and syncing for "), health.healthy().reason());
        assertTrue(health.ready().ok(), "readiness does not look at the disk");
        metrics.walIdle();
        assertTrue(health.healthy().ok());
        metrics.walBusy(System.nanoTime());
        assertTrue(health.healthy().ok(), "a write under way is fine");
    }
}
