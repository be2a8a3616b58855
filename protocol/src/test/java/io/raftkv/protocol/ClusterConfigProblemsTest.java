package io.raftkv.protocol;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A nodes.conf is refused with every problem it has, one line each, naming file and line. */
class ClusterConfigProblemsTest {

    private static List<String> problems(String text) {
        return List.of(assertThrows(IllegalArgumentException.class, () -> ClusterConfig.parse(text, "nodes.conf")).getMessage().split("\n"));
    }

    @Test
    void anEmptyFileOrOneOfCommentsListsNoNodes() {
        assertEquals(List.of("nodes.conf: no nodes listed (one line per node: id host port)"), problems(""));
        assertEquals(List.of("nodes.conf: no nodes listed (one line per node: id host port)"), problems("# nothing\n\n   \n"));
    }

    @Test
    void everyProblemIsOneLineNamingFileAndLine() {
        String text = """
                # members
                1 127.0.0.1 2379
                2 127.0.0.1 2380 extra
                1 127.0.0.1 2381
                3 127.0.0.1 2379
                4 127.0.0.1 99999
                abc 127.0.0.1 2382
                5 127.0.0.1
                """;
        assertEquals(List.of(
                "nodes.conf:3: expected 'id host port', got 4 fields: '2 127.0.0.1 2380 extra'",
                "nodes.conf:4: node id 1 listed twice (first at nodes.conf:2)",
                "nodes.conf:5: address 127.0.0.1:2379 listed twice (first at nodes.conf:2)",
                "nodes.conf:6: port '99999' is not a number from 1 to 65535",
                "nodes.conf:7: node id 'abc' is not a whole number from 1",
                "nodes.conf:8: expected 'id host port', got 2 fields: '5 127.0.0.1'"), problems(text));
    }

    @Test
    void aPortOrIdTooLongForAnIntIsAProblemNotACrash() {
        assertEquals(List.of("nodes.conf:1: port '99999999999' is not a number from 1 to 65535"), problems("1 h 99999999999"));
        assertEquals(List.of("nodes.conf:1: node id '0' is not a whole number from 1"), problems("0 h 1"));
    }

    @Test
    void aValidFileParsesAsBefore() {
        ClusterConfig c = ClusterConfig.parse("2 127.0.0.1 2380\n1 127.0.0.1 2379 # first\n", "nodes.conf");
        assertEquals(List.of(1, 2), c.ids());
        assertEquals(ClusterConfig.parse("1 127.0.0.1 2379\n2 127.0.0.1 2380\n", "x").clusterId(), c.clusterId());
    }
}
