package io.raftkv.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What {@code raftkv node} refuses before it opens anything, and with which exit code. */
class NodeMainPlanTest {

    @TempDir
    Path dir;

    private Path conf(String text) throws IOException {
        return Files.writeString(dir.resolve("nodes.conf"), text);
    }

    private NodeMain.Refused refused(String... args) {
        return assertThrows(NodeMain.Refused.class, () -> NodeMain.plan(args));
    }

    @Test
    void aNodeIdThatIsNotANumberIsAUsageErrorNotAStackTrace() {
        NodeMain.Refused r = refused("--id", "abc");
        assertEquals(2, r.exitCode);
        assertEquals("raftkv node: --id takes a node id (a whole number from 1), not 'abc'\n" + NodeMain.USAGE, r.getMessage());
        assertEquals(2, refused("--id", "0").exitCode);
        assertEquals(2, refused("--id").exitCode);
        assertEquals(2, refused().exitCode);
        assertEquals(2, refused("--id", "1", "--bogus").exitCode);
    }

    @Test
    void aBadNodesConfIsRefusedWithEveryProblem() throws IOException {
        Path conf = conf("1 127.0.0.1 2379\n1 127.0.0.1 2380\n2 127.0.0.1\n");
        NodeMain.Refused r = refused("--id", "1", "--config", conf.toString());
        assertEquals(2, r.exitCode);
        assertEquals(conf + ":2: node id 1 listed twice (first at " + conf + ":1)\n" + conf + ":3: expected 'id host port', got 2 fields: '2 127.0.0.1'",
                r.getMessage());
        assertEquals(2, refused("--check", "--config", conf("").toString()).exitCode);
        assertTrue(refused("--id", "1", "--config", dir.resolve("missing.conf").toString()).getMessage()
                .startsWith("raftkv node 1: no nodes.conf at " + dir.resolve("missing.conf")));
    }

    @Test
    void anIdNotInNodesConfIsRefused() throws IOException {
        Path conf = conf("1 127.0.0.1 2379\n");
        NodeMain.Refused r = refused("--id", "9", "--config", conf.toString());
        assertEquals(2, r.exitCode);
        assertEquals("raftkv node 9: node 9 is not in " + conf + " (its ids: [1])", r.getMessage());
    }

    @Test
    void optionsFromTheFileAreCheckedAndContradictionsRefused() throws Exception {
        Path conf = conf("1 127.0.0.1 2379\n2 127.0.0.1 2380\n3 127.0.0.1 2381\n");
        Path options = Files.writeString(dir.resolve("raftkv.properties"), "# faster ticks\ntickMs = 20\n");
        NodeMain.Plan plan = NodeMain.plan(new String[]{"--id", "2", "--config", conf.toString(), "--options", options.toString()});
        assertEquals(20, plan.options().options().tickMs());
        assertEquals(Path.of("data", "node2"), plan.dataDir());

        Files.writeString(options, "tickMs=abc\n");
        NodeMain.Refused r = refused("--id", "2", "--config", conf.toString(), "--options", options.toString());
        assertEquals(2, r.exitCode);
        assertEquals("raftkv node 2: tickMs (" + options + "): 'abc' is not a whole number from 0 to 9223372036854775807", r.getMessage());

        Files.writeString(options, "electionTicks=1\nheartbeatTicks=1\n");
        r = refused("--check", "--config", conf.toString(), "--options", options.toString());
        assertEquals("raftkv node: node options contradict each other: electionTicks (1) must be greater than heartbeatTicks (1)", r.getMessage());

        r = refused("--id", "2", "--config", conf.toString(), "--options", dir.resolve("none.properties").toString());
        assertEquals("raftkv node 2: no options file at " + dir.resolve("none.properties"), r.getMessage());
    }

    @Test
    void checkNeedsNoId() throws Exception {
        Path conf = conf("1 127.0.0.1 2379\n");
        NodeMain.Plan plan = NodeMain.plan(new String[]{"--check", "--config", conf.toString()});
        assertTrue(plan.check());
        assertEquals(1, plan.cluster().members().size());
    }
}
