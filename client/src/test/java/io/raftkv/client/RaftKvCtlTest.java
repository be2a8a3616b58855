package io.raftkv.client;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.Node;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** raftkvctl against a real 3-node cluster running in this JVM on loopback ports. */
class RaftKvCtlTest {

    private static final int NODES = 3;
    private static final long LEADER_WAIT_MS = 10_000;

    @TempDir
    static Path dir;

    private static final List<Node> nodes = new ArrayList<>();
    private static int[] ports;
    private static String configText;
    private static String endpoints;

    /** What one run printed and returned. */
    private record Result(int code, String out, String err) {
        List<String> outLines() {
            return out.isEmpty() ? List.of() : List.of(out.split("\n"));
        }

        List<String> errLines() {
            return err.isEmpty() ? List.of() : List.of(err.split("\n"));
        }
    }

    @BeforeAll
    static void startCluster() throws Exception {
        ports = freePorts(NODES + 1);
        StringBuilder conf = new StringBuilder();
        List<String> addresses = new ArrayList<>();
        for (int id = 1; id <= NODES; id++) {
            conf.append(id).append(" 127.0.0.1 ").append(ports[id - 1]).append('\n');
            addresses.add("127.0.0.1:" + ports[id - 1]);
        }
        configText = conf.toString();
        endpoints = String.join(",", addresses);
        ClusterConfig config = ClusterConfig.parse(configText, "test");
        NodeOptions fast = NodeOptions.defaults().withTickMs(20);
        for (int id = 1; id <= NODES; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), fast));
        awaitLeader();
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
        nodes.clear();
    }

    // ------------------------------------------------------------------ one-shot commands

    @Test
    void putThenGetPrintsTheValue() {
        Result put = ctl("put", "greeting", "hello");
        assertEquals(new Result(0, "OK\n", ""), put);
        assertEquals(new Result(0, "hello\n", ""), ctl("get", "greeting"));
        String leader = words(ctl("leader").out()).get(1);
        assertEquals(new Result(0, "hello\n", ""), ctlAt(leader, "get", "--serializable", "greeting"),
                "the leader applied the write before it answered OK");
    }

    @Test
    void utf8KeysAndValuesRoundTrip() {
        assertEquals(0, ctl("put", "clé", "värde ✓").code());
        assertEquals(new Result(0, "värde ✓\n", ""), ctl("get", "clé"));
    }

    @Test
    void getOfAMissingKeyExitsOneWithAMessage() {
        Result r = ctl("get", "no-such-key");
        assertEquals(1, r.code());
        assertEquals("", r.out());
        assertEquals(List.of("error: key not found: no-such-key"), r.errLines());
    }

    @Test
    void delRemovesTheKey() {
        assertEquals(0, ctl("put", "doomed", "x").code());
        assertEquals(new Result(0, "OK\n", ""), ctl("del", "doomed"));
        assertEquals(1, ctl("get", "doomed").code());
        assertEquals(new Result(0, "OK\n", ""), ctl("del", "doomed"), "deleting an absent key succeeds");
    }

    @Test
    void statusShowsARowPerNodeAndOneLeader() {
        Result r = ctl("status");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals(1 + NODES, lines.size(), r.out());
        assertEquals(List.of("ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "KEYS"), words(lines.get(0)));
        int leaders = 0;
        for (int id = 1; id <= NODES; id++) {
            List<String> row = words(lines.get(id));
            assertEquals(8, row.size(), lines.get(id));
            assertEquals(String.valueOf(id), row.get(0));
            assertEquals("127.0.0.1:" + ports[id - 1], row.get(1));
            if (row.get(2).equals("LEADER")) leaders++;
        }
        assertEquals(1, leaders, r.out());
    }

    @Test
    void statusShowsAnUnreachableNodeAndStillSucceeds() {
        String dead = "127.0.0.1:" + ports[NODES];
        Result r = ctlAt(endpoints + "," + dead, "status");
        assertEquals(0, r.code(), r.err());
        List<String> last = words(r.outLines().get(NODES + 1));
        assertEquals(List.of("-", dead, "unreachable"), last.subList(0, 3));

        Result none = ctlAt(dead, "status");
        assertEquals(1, none.code());
        assertEquals(List.of("error: no node answered"), none.errLines());
    }

    @Test
    void leaderPrintsIdAndAddress() {
        Result r = ctl("leader");
        assertEquals(0, r.code(), r.err());
        List<String> w = words(r.out());
        assertEquals(2, w.size(), r.out());
        int id = Integer.parseInt(w.get(0));
        assertEquals("127.0.0.1:" + ports[id - 1], w.get(1));

        Result none = ctlAt("127.0.0.1:" + ports[NODES], "leader");
        assertEquals(1, none.code());
        assertTrue(none.err().startsWith("error: no leader"), none.err());
    }

    @Test
    void configFileGivesTheNodes() throws IOException {
        Path conf = Files.writeString(dir.resolve("nodes.conf"), "# test cluster\n" + configText);
        Result put = run(new String[] {"--config", conf.toString(), "put", "from-config", "yes"}, "", false);
        assertEquals(new Result(0, "OK\n", ""), put);
        Result status = run(new String[] {"--config", conf.toString(), "status"}, "", false);
        assertEquals(1 + NODES, status.outLines().size(), status.out());

        Result missing = run(new String[] {"--config", dir.resolve("absent.conf").toString(), "status"}, "", false);
        assertEquals(2, missing.code());
        assertEquals(1, missing.errLines().size(), missing.err());
    }

    @Test
    void anUnreachableClusterFailsWithinTheTimeout() {
        Result r = run(new String[] {"--endpoints", "127.0.0.1:" + ports[NODES], "--timeout", "0.3", "get", "k"}, "", false);
        assertEquals(1, r.code());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("error: cluster unavailable: "), r.err());
    }

    // ------------------------------------------------------------------ usage errors

    @Test
    void usageErrorsExitTwoWithOneLine() {
        for (String[] args : List.of(
                new String[] {"put", "only-key"},
                new String[] {"get"},
                new String[] {"get", "k", "--linearizable"},
                new String[] {"del", "a", "b"},
                new String[] {"status", "extra"},
                new String[] {"put", "", "empty key"})) {
            Result r = ctl(args);
            assertEquals(2, r.code(), Arrays.toString(args));
            assertEquals(1, r.errLines().size(), r.err());
            assertTrue(r.err().startsWith("error: "), r.err());
            assertEquals("", r.out());
        }
        for (String[] args : List.of(
                new String[] {"--timeout"},
                new String[] {"--timeout", "soon", "status"},
                new String[] {"--bogus", "status"},
                new String[] {"--endpoints", "nocolon", "status"},
                new String[] {"--endpoints", "a:1", "--config", "x", "status"})) {
            Result r = run(args, "", false);
            assertEquals(2, r.code(), Arrays.toString(args));
            assertEquals(1, r.errLines().size(), r.err());
        }
    }

    @Test
    void unknownCommandExitsTwo() {
        Result r = ctl("frobnicate");
        assertEquals(2, r.code());
        assertEquals(List.of("error: unknown command 'frobnicate' (see 'raftkvctl help')"), r.errLines());
    }

    @Test
    void helpNeedsNoCluster() {
        Result r = run(new String[] {"--config", dir.resolve("absent.conf").toString(), "help"}, "", false);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("usage: raftkvctl"), r.out());
    }

    @Test
    void aValueStartingWithDashesNeedsADoubleDash() {
        assertEquals(2, ctl("put", "flag", "--on").code());
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "--", "flag", "--on"));
        assertEquals(new Result(0, "--on\n", ""), ctl("get", "flag"));
    }

    // ------------------------------------------------------------------ the shell

    @Test
    void pipedCommandsRunLineByLineWithoutAPrompt() {
        String script = """
                put "piped key" 'a value with  spaces'
                # a comment, then a blank line

                get 'piped key'
                put quote "say \\"hi\\""
                get quote
                del "piped key"
                """;
        Result r = run(new String[] {"--endpoints", endpoints}, script, false);
        assertEquals(new Result(0, "OK\na value with  spaces\nOK\nsay \"hi\"\nOK\n", ""), r);
    }

    @Test
    void aFailingPipedCommandMakesTheExitCodeNonZeroButTheRestRuns() {
        String script = "get never-written\nput after-failure ok\nbogus\nget after-failure\n";
        Result r = run(new String[] {"--endpoints", endpoints}, script, false);
        assertEquals(2, r.code());
        assertEquals("OK\nok\n", r.out());
        assertEquals(List.of("error: line 1: key not found: never-written",
                "error: line 3: unknown command 'bogus' (see 'raftkvctl help')"), r.errLines());
    }

    @Test
    void exitStopsReadingAndAnUnterminatedQuoteIsAUsageError() {
        Result r = run(new String[] {"--endpoints", endpoints}, "put 'open\nexit\nput never run\n", false);
        assertEquals(2, r.code());
        assertEquals("", r.out());
        assertEquals(List.of("error: line 1: unterminated ' quote"), r.errLines());
    }

    @Test
    void interactiveShellPromptsWithTheNodeItTalksTo() {
        Result r = run(new String[] {"--endpoints", endpoints}, "put shell yes\nget shell\nquit\n", true);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("raftkv 127.0.0.1:"), r.out());
        assertTrue(r.out().contains("> OK\n"), r.out());
        assertTrue(r.out().contains("> yes\n"), r.out());
    }

    @Test
    void tokenizerHandlesSimpleShellQuoting() throws RaftKvCtl.UsageException {
        assertEquals(List.of("put", "a b", "c'd", "e\\f", "", "g h"),
                RaftKvCtl.tokenize("  put \"a b\" \"c'd\" 'e\\f' '' g\\ h  # trailing comment"));
        assertEquals(List.of("ab", "x#y"), RaftKvCtl.tokenize("a'b' x#y"));
        assertThrows(RaftKvCtl.UsageException.class, () -> RaftKvCtl.tokenize("put \"open"));
        assertThrows(RaftKvCtl.UsageException.class, () -> RaftKvCtl.tokenize("put x\\"));
    }

    @Test
    void outcomeUnknownSaysTheWriteMayHaveBeenApplied() {
        String m = RaftKvCtl.describe(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN, "answer lost\n(timeout)"));
        assertTrue(m.contains("may or may not have been applied"), m);
        assertFalse(m.contains("\n"), m);
    }

    // ------------------------------------------------------------------ helpers

    private static Result ctl(String... command) {
        return ctlAt(endpoints, command);
    }

    private static Result ctlAt(String endpointList, String... command) {
        String[] args = new String[command.length + 2];
        args[0] = "--endpoints";
        args[1] = endpointList;
        System.arraycopy(command, 0, args, 2, command.length);
        return run(args, "", false);
    }

    private static Result run(String[] args, String stdin, boolean interactive) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new BufferedReader(new StringReader(stdin)), o, e, interactive);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Polls {@code raftkvctl leader} until a node says it leads. */
    private static void awaitLeader() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LEADER_WAIT_MS);
        Result last = null;
        while (System.nanoTime() < deadline) {
            last = run(new String[] {"--endpoints", endpoints, "--timeout", "1", "leader"}, "", false);
            if (last.code() == 0) return;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        fail("no leader within " + LEADER_WAIT_MS + " ms: " + last);
    }

    private static List<String> words(String line) {
        return List.of(line.strip().split("\\s+"));
    }

    /** Ports free right now on 127.0.0.1, all different (each socket stays open until all are found). */
    private static int[] freePorts(int count) throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) sockets.add(new ServerSocket(0, 1, loopback));
            return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
        } finally {
            for (ServerSocket s : sockets) s.close();
        }
    }
}
