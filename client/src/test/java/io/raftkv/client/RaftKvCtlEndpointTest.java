package io.raftkv.client;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.Node;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** raftkvctl endpoint health and status against a 3-node cluster in this JVM, and the parser's help and flags in the shell. */
class RaftKvCtlEndpointTest {

    private static final int NODES = 3;

    @TempDir
    static Path dir;

    private static final List<Node> nodes = new ArrayList<>();
    private static final List<String> addresses = new ArrayList<>();
    private static String endpoints;
    private static String dead;

    private record Result(int code, String out, String err) {
        List<String> outLines() {
            return out.isEmpty() ? List.of() : List.of(out.split("\n"));
        }
    }

    @BeforeAll
    static void startCluster() throws Exception {
        int[] ports = freePorts(NODES + 1);
        StringBuilder conf = new StringBuilder();
        for (int id = 1; id <= NODES; id++) {
            conf.append(id).append(" 127.0.0.1 ").append(ports[id - 1]).append('\n');
            addresses.add("127.0.0.1:" + ports[id - 1]);
        }
        endpoints = String.join(",", addresses);
        dead = "127.0.0.1:" + ports[NODES];
        ClusterConfig config = ClusterConfig.parse(conf.toString(), "test");
        for (int id = 1; id <= NODES; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), NodeOptions.defaults().withTickMs(20)));
        LocalCluster.await(Duration.ofSeconds(10), "a leader", () -> run(new String[] {"--endpoints", endpoints, "leader"}, "").code() == 0 ? true : null);
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
        nodes.clear();
    }

    @Test
    void healthSaysEachEndpointCommittedAsEtcdctl() {
        Result r = ctl(endpoints, "endpoint", "health");
        assertEquals(0, r.code(), r.err());
        assertEquals(NODES, r.outLines().size(), r.out());
        for (int i = 0; i < NODES; i++) {
            String line = r.outLines().get(i);
            assertTrue(line.matches(java.util.regex.Pattern.quote(addresses.get(i)) + " is healthy: successfully committed proposal: took = [0-9.]+(ns|µs|ms|s)"), line);
        }
        List<?> json = (List<?>) new RaftKvCtlTest.Json(ctl(endpoints, "endpoint", "health", "-w", "json").out().strip()).value();
        assertEquals(NODES, json.size());
        Map<?, ?> first = (Map<?, ?>) json.get(0);
        assertEquals(addresses.get(0), first.get("endpoint"));
        assertEquals(true, first.get("health"));
        Result table = ctl(endpoints, "endpoint", "health", "-w", "table");
        assertTrue(table.outLines().get(1).matches("\\|\\s+ENDPOINT\\s+\\|\\s+HEALTH\\s+\\|\\s+TOOK\\s+\\|\\s+ERROR\\s+\\|"), table.out());
    }

    @Test
    void anEndpointDownIsUnhealthyAndTheExitCodeIsOne() {
        Result r = ctl(endpoints + "," + dead, "endpoint", "health");
        assertEquals(1, r.code());
        assertEquals(NODES + 1, r.outLines().size(), r.out());
        assertEquals(dead + " is unhealthy: failed to commit proposal: no raftkv node reachable at " + dead + " (connection refused)",
                r.outLines().get(NODES));
        assertEquals("error: unhealthy cluster\n", r.err());
        Result status = ctl(endpoints + "," + dead, "endpoint", "status");
        assertEquals(1, status.code());
        assertEquals(NODES, status.outLines().size(), "the endpoint down has no row, as etcdctl: " + status.out());
        assertTrue(status.err().startsWith("error: failed to get the status of endpoint " + dead + " ("), status.err());
    }

    @Test
    void statusHasEtcdctlsColumnsAndOneLeader() {
        Result r = ctl(endpoints, "endpoint", "status");
        assertEquals(0, r.code(), r.err());
        int leaders = 0;
        for (int i = 0; i < NODES; i++) {
            List<String> row = List.of(r.outLines().get(i).split(", ", -1));
            assertEquals(8, row.size(), r.outLines().get(i));
            assertEquals(addresses.get(i), row.get(0));
            assertEquals(Integer.toString(i + 1), row.get(1));
            if (row.get(2).equals("true")) leaders++;
            assertEquals("false", row.get(3), "no learners");
            assertTrue(Long.parseLong(row.get(6)) <= Long.parseLong(row.get(5)), "applied <= commit: " + row);
        }
        assertEquals(1, leaders, r.out());
        Result table = ctl(endpoints, "endpoint", "status", "-w", "table");
        assertEquals(List.of("ENDPOINT", "ID", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS"),
                java.util.Arrays.stream(table.outLines().get(1).split("\\|")).map(String::strip).filter(c -> !c.isEmpty()).toList(),
                "etcdctl's columns, less VERSION and DB SIZE");
        List<?> json = (List<?>) new RaftKvCtlTest.Json(ctl(endpoints, "endpoint", "status", "-w", "json").out().strip()).value();
        Map<?, ?> status = (Map<?, ?>) ((Map<?, ?>) json.get(0)).get("Status");
        assertEquals(1L, ((Map<?, ?>) status.get("header")).get("member_id"));
        assertTrue((Long) status.get("raftTerm") >= 1, status.toString());
    }

    @Test
    void clusterAsksEveryMember() {
        Result r = ctl(addresses.get(0), "endpoint", "status", "--cluster");
        assertEquals(0, r.code(), r.err());
        assertEquals(addresses, r.outLines().stream().map(l -> l.split(", ")[0]).toList());
        Result health = ctl(addresses.get(1), "endpoint", "health", "--cluster");
        assertEquals(NODES, health.outLines().size(), health.out());
    }

    @Test
    void theShellTakesEachLinesFlagsForThatLineAlone() {
        String script = "put shell/k v\nget shell/k -w json\nget shell/k\n--hex get 7368656c6c2f6b\nget shell/k\nlease --help\nhelp endpoint status\n";
        Result r = run(new String[] {"--endpoints", endpoints}, script);
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals("OK", lines.get(0));
        assertTrue(lines.get(1).startsWith("{\"header\":"), lines.get(1));
        assertEquals(List.of("shell/k", "v", "\\x73\\x68\\x65\\x6c\\x6c\\x2f\\x6b", "\\x76", "shell/k", "v"), lines.subList(2, 8));
        assertEquals("usage: raftkvctl lease [OPTIONS] [COMMAND]", lines.get(8));
        assertTrue(r.out().contains("usage: raftkvctl endpoint status [OPTIONS]"), r.out());
    }

    private static Result ctl(String endpointList, String... command) {
        String[] args = new String[command.length + 2];
        args[0] = "--endpoints";
        args[1] = endpointList;
        System.arraycopy(command, 0, args, 2, command.length);
        return run(args, "");
    }

    private static Result run(String[] args, String stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e, false);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static int[] freePorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) sockets.add(new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1")));
            return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
        } finally {
            for (ServerSocket s : sockets) s.close();
        }
    }
}
