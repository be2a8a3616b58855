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
    void putsThenReadsWithPreloadAndWritesJsonAndHgrm() throws Exception {
        for (String workload : List.of("put", "get", "get-serializable", "mix")) {
            LoadGenerator.Options o = LoadGenerator.Options.parse(new String[]{"--endpoints", endpoints, "--workload", workload,
                    "--ops", "300", "--concurrency", "8", "--connections", "2", "--keyspace", "100", "--warmup", "20",
                    "--json", dir.resolve(workload + ".json").toString(), "--hgrm-dir", dir.resolve("hgrm").toString(), "--name", workload,
                    "--read-ratio", "0.5", "--preload"});
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
        }
    }

    @Test
    void badFlagsAreRefusedWithAMessage() {
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--workload", "put", "--ops", "1"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--duration", "1"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--workload", "scan"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "1", "--keyspace", "1000", "--key-size", "2"}));
        assertThrows(LoadGenerator.UsageException.class, () -> LoadGenerator.Options.parse(new String[]{"--endpoints", "x:1", "--ops", "many"}));
    }

    @Test
    void keysHaveTheirSizeAndAreDistinct() {
        assertEquals("0000000000000042", new String(LoadGenerator.key(42, 16), StandardCharsets.US_ASCII));
        assertEquals(16, LoadGenerator.key(99_999, 16).length);
    }
}
