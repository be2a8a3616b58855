package io.raftkv.client;

import io.raftkv.server.UnsafeLocalReadsNodeMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chaos harness's checks bite: with nodes that answer linearizable reads from their own map (a
 * deliberate bug that only a test main, {@link UnsafeLocalReadsNodeMain}, can switch on), a short run finds the
 * stale reads.
 */
class ChaosChecksBiteTest {

    @TempDir
    Path dir;

    @Test
    void staleReadsAreCaught() {
        ChaosRun run = new ChaosRun(11, 3, 15, dir);
        run.nodeMain = UnsafeLocalReadsNodeMain.class;
        AssertionError failure = assertThrows(AssertionError.class, run::run);
        System.out.println("the chaos checks caught the deliberate bug: " + failure.getMessage().lines().findFirst().orElse(""));
        assertTrue(failure.getMessage().contains("not linearizable"), failure.getMessage());
    }
}
