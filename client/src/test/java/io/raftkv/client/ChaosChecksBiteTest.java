package io.raftkv.client;

import io.raftkv.server.UnsafeLocalReadsNodeMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chaos harness's checks bite. With nodes that answer linearizable reads from their own map (a deliberate
 * bug that only a test main, {@link UnsafeLocalReadsNodeMain}, can switch on), a short run finds the stale reads,
 * both in the register history and in the revisions the CAS clients see. With CAS clients that write without
 * the compare, or take a lost answer for "not applied" and send the same increment again, the counter check
 * finds the lost and the doubled increments. With lock holders that enter without waiting their turn, or write their
 * token without the fence's compare, the lock check finds two holders at once and a token that went back.
 */
class ChaosChecksBiteTest {

    @TempDir
    Path dir;

    @Test
    void staleReadsAreCaught() {
        ChaosRun run = new ChaosRun(11, 3, 15, dir);
        run.nodeMain = UnsafeLocalReadsNodeMain.class;
        AssertionError failure = assertThrows(AssertionError.class, run::run);
        System.out.println("the chaos checks caught the deliberate bug: " + failure.getMessage().lines().limit(3).toList());
        assertTrue(failure.getMessage().contains("not linearizable"), failure.getMessage());
        assertTrue(failure.getMessage().matches("(?s).*client \\d+ saw revision \\d+ \\(read of counter.*"), failure.getMessage());
    }

    @Test
    void lostAndDoubledIncrementsAreCaught() {
        ChaosRun run = new ChaosRun(13, 3, 5, dir);
        run.registerClients = 0;
        run.casBugs = List.of(CasCounterWorkload.Bug.BLIND_WRITE, CasCounterWorkload.Bug.UNKNOWN_RETRIED);
        run.casTxnDeadline = Duration.ofMillis(5); // most answers come too late: lost, though the increment was applied
        AssertionError failure = assertThrows(AssertionError.class, run::run);
        System.out.println("the chaos checks caught the deliberate client bugs: " + failure.getMessage().lines().limit(12).toList());
        assertTrue(failure.getMessage().matches("(?s).*both wrote count \\d+ \\(a lost update\\).*"), failure.getMessage());
        assertTrue(failure.getMessage().matches("(?s).*was applied \\d+ times.*"), failure.getMessage());
    }

    @Test
    void twoHoldersAtOnceAndAnUnfencedWriteAreCaught() {
        ChaosRun run = new ChaosRun(17, 3, 8, dir);
        run.registerClients = 0;
        run.casClients = 0;
        run.lockBugs = List.of(ChaosLockHolders.Bug.SKIPS_THE_QUEUE, ChaosLockHolders.Bug.WRITES_UNFENCED, ChaosLockHolders.Bug.NONE);
        run.lockPausedOneIn = 2; // many holders paused past their TTL: the unfenced one overwrites a later token
        AssertionError failure = assertThrows(AssertionError.class, run::run);
        System.out.println("the chaos checks caught the deliberate lock holder bugs: " + failure.getMessage().lines().limit(6).toList());
        assertTrue(failure.getMessage().contains("two holders at once"), failure.getMessage());
        assertTrue(failure.getMessage().contains("the fence let a token go back"), failure.getMessage());
    }
}
