package io.raftkv.dist;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/raftkv as an operator meets it (issue 13): the process table, not pid files, says which nodes run; a node started
 * by hand is seen by start and stop; after kill -9 of every node start starts them all again; stop works from any
 * directory; demo leaves alone a cluster it did not start; a bad configuration is refused before anything starts.
 */
class LauncherTest {

    private static final int[] PORTS = {23700, 23701, 23702};
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    private UnpackedRelease release;
    private Path elsewhere;
    private Process byHand;

    @BeforeEach
    void unpack() throws Exception {
        release = UnpackedRelease.unpack(tmp.resolve("unpacked"));
        release.nodesConf(PORTS);
        elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    }

    @AfterEach
    void stopWhatIsLeft() throws InterruptedException {
        if (byHand != null) byHand.destroyForcibly();
        release.killNodes();
    }

    @Test
    void nodesStartedByHandOrKilledAreSeenByStartStopAndDemo() throws Exception {
        byHand = release.spawn(elsewhere, tmp.resolve("node3-by-hand.log"), "bin/raftkv", "node", "--id", "3");
        long handPid = byHand.pid(); // the script execs java: the same pid
        awaitNodes(List.of(handPid));

        UnpackedRelease.Result start = release.run(elsewhere, "bin/raftkv", "start");
        assertEquals(0, start.exitCode(), start.toString());
        assertTrue(start.out().contains("node 3 already running (pid " + handPid + ")"), start.toString());
        assertTrue(start.out().contains("raftkv cluster up"), start.toString());
        List<ProcessHandle> first = release.nodes();
        assertEquals(3, first.size(), first.toString());

        UnpackedRelease.Result demo = release.run(elsewhere, "bin/raftkv", "demo");
        assertEquals(0, demo.exitCode(), demo.toString());
        assertTrue(demo.out().contains("left running"), demo.toString());
        assertTrue(first.stream().allMatch(ProcessHandle::isAlive), "demo stopped none of the nodes it did not start");

        first.forEach(ProcessHandle::destroyForcibly); // kill -9 of every node; their pid files stay behind
        UnpackedRelease.awaitGone(first, DEADLINE);
        UnpackedRelease.Result restart = release.run(elsewhere, "bin/raftkv", "start");
        assertEquals(0, restart.exitCode(), restart.toString());
        assertFalse(restart.out().contains("already running"), restart.toString());
        List<ProcessHandle> second = release.nodes();
        assertEquals(3, second.size(), second.toString());

        UnpackedRelease.Result stop = release.run(elsewhere, "bin/raftkv", "stop");
        assertEquals(0, stop.exitCode(), stop.toString());
        assertTrue(stop.out().startsWith("raftkv: stopped node(s) "), stop.toString());
        UnpackedRelease.awaitGone(second, DEADLINE);
        for (int port : PORTS) assertTrue(UnpackedRelease.portFree(port), "port " + port + " free after stop");

        UnpackedRelease.Result again = release.run(elsewhere, "bin/raftkv", "stop");
        assertEquals(new UnpackedRelease.Result(0, "raftkv: nothing to stop: no node is running with its data in " + release.root.resolve("data") + "\n", ""),
                again);
    }

    @Test
    void aBadConfigurationIsRefusedAtOnceWithOneLinePerProblem() throws Exception {
        Path conf = release.root.resolve("conf/nodes.conf");
        Files.writeString(conf, "");
        assertRefused(release.run(elsewhere, "bin/raftkv", "start"), conf + ": no nodes listed (one line per node: id host port)\n");

        Files.writeString(conf, "1 127.0.0.1 23700\n1 127.0.0.1 23701\n2 127.0.0.1 23702 extra\n3 127.0.0.1 23700\n4 127.0.0.1 http\n");
        assertRefused(release.run(elsewhere, "bin/raftkv", "start"), conf + ":2: node id 1 listed twice (first at " + conf + ":1)\n"
                + conf + ":3: expected 'id host port', got 4 fields: '2 127.0.0.1 23702 extra'\n"
                + conf + ":4: address 127.0.0.1:23700 listed twice (first at " + conf + ":1)\n"
                + conf + ":5: port 'http' is not a number from 1 to 65535\n");

        release.nodesConf(PORTS);
        UnpackedRelease.Result badId = release.run(elsewhere, "bin/raftkv", "node", "--id", "abc");
        assertEquals(2, badId.exitCode(), badId.toString());
        assertTrue(badId.err().startsWith("raftkv node: --id takes a node id (a whole number from 1), not 'abc'\nusage: "), badId.toString());

        release.env.put("RAFTKV_NODE_JAVA_OPTS", "-Draftkv.tickMs=abc");
        assertRefused(release.run(elsewhere, "bin/raftkv", "start"),
                "raftkv node: tickMs (system property raftkv.tickMs): 'abc' is not a whole number from 0 to 9223372036854775807\n");
        release.env.remove("RAFTKV_NODE_JAVA_OPTS");

        Path options = Files.writeString(tmp.resolve("raftkv.properties"), "electionTicks=ten\n");
        assertRefused(release.run(elsewhere, "bin/raftkv", "start", "--options", options.toString()),
                "raftkv node: electionTicks (" + options + "): 'ten' is not a whole number from 0 to 2147483647\n");

        assertEquals(2, release.run(elsewhere, "bin/raftkv").exitCode());
        assertEquals(2, release.run(elsewhere, "bin/raftkv", "start", "--bogus").exitCode());
        assertEquals(2, release.run(elsewhere, "bin/raftkv", "start", "--config").exitCode());
        assertEquals(2, release.run(elsewhere, "bin/raftkv", "start", "--config", tmp.resolve("none.conf").toString()).exitCode());
    }

    /** Exit 2, exactly these lines on standard error, nothing started, no data directory made. */
    private void assertRefused(UnpackedRelease.Result r, String err) {
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(err, r.err(), r.toString());
        assertEquals(List.of(), release.nodes());
        assertFalse(Files.exists(release.root.resolve("data")), "nothing made before the check");
    }

    private void awaitNodes(List<Long> pids) throws InterruptedException {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!release.nodes().stream().map(ProcessHandle::pid).toList().containsAll(pids)) {
            if (System.nanoTime() > end) throw new AssertionError("pids " + pids + " never ran as nodes: " + release.nodes());
            Thread.sleep(20);
        }
    }
}
