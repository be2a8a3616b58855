package io.raftkv.client;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Short chaos runs in the default test suite: seed 1 (3 nodes) and seed 2 (5 nodes), 30 s of faults each, with
 * the register and the CAS-counter workloads side by side.
 * {@code -Draftkv.chaos.seconds=N} runs longer, {@code -Draftkv.chaos.seed=S} runs one seed (odd seeds run
 * 3 nodes, even seeds 5). See docs/testing.md.
 */
class ChaosTest {

    static final long DEFAULT_SECONDS = 30;

    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> chaos() {
        return seeds().mapToObj(seed -> {
            int nodes = seed % 2 == 1 ? 3 : 5;
            return DynamicTest.dynamicTest("seed " + seed + ", " + nodes + " nodes", () -> {
                ChaosRun.Report report = new ChaosRun(seed, nodes, seconds(), Files.createDirectories(dir.resolve("seed-" + seed))).run();
                System.out.println(report);
                assertTrue(report.operations() > 0, "the clients got operations through");
            });
        });
    }

    private static LongStream seeds() {
        String s = System.getProperty("raftkv.chaos.seed", "");
        return s.isBlank() ? LongStream.of(1, 2) : LongStream.of(Long.parseLong(s.trim()));
    }

    private static long seconds() {
        String s = System.getProperty("raftkv.chaos.seconds", "");
        return s.isBlank() ? DEFAULT_SECONDS : Long.parseLong(s.trim());
    }
}
