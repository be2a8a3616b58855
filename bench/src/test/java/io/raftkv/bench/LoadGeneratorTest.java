package io.raftkv.bench;

import io.raftkv.client.RaftKvClient;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.Node;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The load generator against a small in-process cluster: flags, the closed loop, and its outputs. */
class LoadGeneratorTest {

    @TempDir
    static Path dir;

    private static final List<Node> nodes = new ArrayList<>();
    private static String endpoints;

    @BeforeAll
    static void startCluster() throws Exception {
        StringBuilder conf = new StringBuilder();
        List<String> addresses = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            int port;
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", 0));
                port = s.getLocalPort();
            }
            conf.append(id).append(" 127.0.0.1 ").append(port).append('\n');
            addresses.add("127.0.0.1:" + port);
        }
        endpoints = String.join(",", addresses);
        ClusterConfig config = ClusterConfig.parse(conf.toString(), "test");
        for (int id = 1; id <= 3; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), NodeOptions.defaults().withTickMs(20)));
        try (RaftKvClient client = new RaftKvClient(RaftKvClient.parseEndpoints(endpoints), Duration.ofSeconds(2))) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                try {
                    client.put("ready", "yes");
                    break;
                } catch (RuntimeException e) {
                    if (System.nanoTime() > end) throw e;
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                }
            }
        }
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
    }

    @Test
    void everyWorkloadRunsWithPreloadAndWritesJsonAndHgrm() throws Exception {
        // "mix-get-put" is the older form of mix (--read-ratio); "mix" is the default four-way mix.
        for (String workload : List.of("put", "get", "get-serializable", "range", "txn-cas", "mix", "mix-get-put")) {
            List<String> args = new ArrayList<>(List.of("--endpoints", endpoints, "--workload", workload.startsWith("mix") ? "mix" : workload,
                    "--ops", "300", "--concurrency", "8", "--connections", "2", "--keyspace", "100", "--warmup", "20",
                    "--json", dir.resolve(workload + ".json").toString(), "--hgrm-dir", dir.resolve("hgrm").toString(), "--name", workload,
                    "--preload"));
            if (workload.equals("mix-get-put")) args.addAll(List.of("--read-ratio", "0.5"));
            LoadGenerator.Options o = LoadGenerator.Options.parse(args.toArray(String[]::new));
            LoadGenerator.Result r;
            try (KvTarget target = new RaftKvTarget(o.endpoints(), o.connections())) {
                r = LoadGenerator.run(o, target, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            }
            assertEquals(300, r.ops() + r.errors(), workload + ": every measured operation is counted once");
            assertEquals(0, r.errors(), workload);
            assertEquals(300, r.latency().getTotalCount(), workload);
            Files.writeString(dir.resolve(workload + ".json"), r.json());
            LoadGenerator.writeHgrm(r, dir.resolve("hgrm"));
            assertTrue(Files.readString(dir.resolve(workload + ".json")).contains("\"ops\": 300"));
            assertTrue(Files.readString(dir.resolve("hgrm").resolve(workload + ".hgrm")).contains("Percentile"));
            if (workload.equals("txn-cas")) {
                assertEquals(300, r.increments(), "every txn-cas operation is one increment");
                assertEquals("ok", r.counterCheck(), "the counters grew by exactly the increments acknowledged");
                assertTrue(r.conflicts() > 0, "8 slots on 8 counters collide now and then: " + r.conflicts());
            } else if (workload.equals("mix")) {
                assertTrue(r.increments() > 0 && r.increments() < 300, "some of the mix are increments: " + r.increments());
                assertEquals("ok", r.counterCheck());
            } else {
                assertEquals("", r.counterCheck(), workload + " has no counters to check");
            }
        }
    }

    @Test
    void serveRunsCaseAfterCaseInOneJvmAndAnswersALineForEach() throws Exception {
        String cases = "--name served-put --workload put --ops 50 --concurrency 4 --preload --json " + dir.resolve("served-put.json") + "\n"
                + "\n"
                + "--name served-get --workload get --ops 50 --concurrency 4 --connections 2 --json " + dir.resolve("served-get.json") + "\n"
                + "--workload scan --ops 1\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = LoadGenerator.serve(List.of("--endpoints", endpoints, "--keyspace", "100"), new java.io.BufferedReader(new java.io.StringReader(cases)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(3, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("ok raftkv served-put: "), lines.get(0));
        assertTrue(lines.get(1).startsWith("ok raftkv served-get: "), lines.get(1));
        assertTrue(lines.get(2).startsWith("failed usage: --workload is one of"), lines.get(2));
        assertEquals(1, exit, "a case failed");
        assertTrue(Files.readString(dir.resolve("served-get.json")).contains("\"ops\": 50, \"errors\": 0"));
    }

    @Test
    void aRangeThatReturnsTooFewKeysIsAnError() throws Exception {
        LoadGenerator.Options o = LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--workload", "range", "--ops", "20",
                "--concurrency", "2", "--keyspace", "1000"});
        KvTarget missingKeys = new KvTarget() {
            @Override
            public CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd) {
                return CompletableFuture.completedFuture(99);
            }

            @Override
            public CompletableFuture<?> put(byte[] key, byte[] value) {
                throw new UnsupportedOperationException();
            }

            @Override
            public CompletableFuture<?> get(byte[] key, boolean serializable) {
                throw new UnsupportedOperationException();
            }

            @Override
            public CompletableFuture<Versioned> read(byte[] key) {
                throw new UnsupportedOperationException();
            }

            @Override
            public CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
            }
        };
        LoadGenerator.Result r = LoadGenerator.run(o, missingKeys, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, r.ops());
        assertEquals(20, r.errors());
    }

    @Test
    void mixPicksByWeight() {
        LoadGenerator.Mix mix = LoadGenerator.Mix.parse("get=50,put=30,range=10,txn-cas=10");
        assertEquals(LoadGenerator.Mix.DEFAULT, mix);
        assertEquals(LoadGenerator.Op.GET, mix.pick(0.0));
        assertEquals(LoadGenerator.Op.GET, mix.pick(0.49));
        assertEquals(LoadGenerator.Op.PUT, mix.pick(0.5));
        assertEquals(LoadGenerator.Op.RANGE, mix.pick(0.85));
        assertEquals(LoadGenerator.Op.TXN_CAS, mix.pick(0.95));
        assertEquals(LoadGenerator.Op.PUT, LoadGenerator.Mix.parse("put=1").pick(0.99));
        assertEquals("get=50,put=30,range=10,txn-cas=10", mix.toString());
    }

    @Test
    void badFlagsAreRefusedWithAMessage() {
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--workload", "put", "--ops", "1"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--duration", "1"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "scan"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--keyspace", "1000", "--key-size", "2"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "many"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--read-ratio", "0.5"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "mix", "--mix", "get=x"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "mix", "--mix", "scan=1"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "mix", "--mix", "get=0"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "mix", "--mix", "get=1", "--read-ratio", "0.5"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "txn-cas", "--key-size", "4", "--keyspace", "10", "--counters", "100"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "range", "--key-size", "2", "--keyspace", "10"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--warmup-seconds", "-1"}));
    }

    @Test
    void keysHaveTheirSizeAndAreDistinct() {
        assertEquals("0000000000000042", new String(LoadGenerator.key(42, 16), StandardCharsets.US_ASCII));
        assertEquals(16, LoadGenerator.key(99_999, 16).length);
        assertEquals("ctr0000000000007", new String(LoadGenerator.counterKey(7, 16), StandardCharsets.US_ASCII));
        // A counter sorts after the end of every range over the keyspace's keys.
        assertTrue(java.util.Arrays.compareUnsigned(LoadGenerator.counterKey(0, 16),
                io.raftkv.protocol.RangeRequest.prefixEnd("99999999999999".getBytes(StandardCharsets.US_ASCII))) > 0);
        assertEquals(0, LoadGenerator.counterValue(null));
        assertEquals(42, LoadGenerator.counterValue("42".getBytes(StandardCharsets.US_ASCII)));
    }
}
