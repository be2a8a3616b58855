package io.raftkv.client;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Short chaos runs in the default test suite (a 3-node and a 5-node cluster, 30 s of faults each).
 * {@code -Draftkv.chaos.seconds=N} runs longer, {@code -Draftkv.chaos.seed=S} replays one seed (odd seeds
 * run 3 nodes, even seeds 5). See docs/testing.md.
 */
class ChaosTest {

    static final long DEFAULT_SECONDS = 30;

    @TempDir
    Path dir;

    @Test
    void threeNodes() throws Exception {
        run(seedOr(1));
    }

    @Test
    void fiveNodes() throws Exception {
        if (!System.getProperty("raftkv.chaos.seed", "").isBlank()) return; // replaying one seed: threeNodes runs it
        run(2);
    }

    private void run(long seed) throws Exception {
        ChaosRun.Report report = new ChaosRun(seed, seed % 2 == 1 ? 3 : 5, seconds(), dir).run();
        System.out.println(report);
        assertTrue(report.operations() > 0, "the clients got operations through");
    }

    private static long seedOr(long fallback) {
        String s = System.getProperty("raftkv.chaos.seed", "");
        return s.isBlank() ? fallback : Long.parseLong(s.trim());
    }

    private static long seconds() {
        String s = System.getProperty("raftkv.chaos.seconds", "");
        return s.isBlank() ? DEFAULT_SECONDS : Long.parseLong(s.trim());
    }
}
