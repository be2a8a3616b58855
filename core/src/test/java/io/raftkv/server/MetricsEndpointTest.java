package io.raftkv.server;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.metrics.HttpProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node's metrics and health port (docs/metrics.md), on in-process nodes: node ports 23900-23903, metrics ports
 * 23910-23914. What /metrics says after puts, /health with a leader and alone, bad HTTP that hurts nothing, and a
 * metrics port in use that refuses the start cleanly.
 */
class MetricsEndpointTest {

    private static final int NODE_PORT_BASE = 23900;
    private static final int METRICS_PORT_BASE = 23910;
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final String LABEL = "[a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\"";
    private static final Pattern SAMPLE = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{" + LABEL + "(," + LABEL + ")*})? (-?[0-9.E+-]+|NaN|[+-]Inf)");

    @TempDir
    Path dir;

    private final Node[] nodes = new Node[5];

    @AfterEach
    void stopAll() throws InterruptedException {
        for (Node n : nodes) if (n != null) n.stop();
        for (Node n : nodes) if (n != null) n.awaitStopped();
    }

    private static int metricsPort(int id) {
        return METRICS_PORT_BASE + id;
    }

    private void start(int size, int... ids) throws IOException {
        StringBuilder conf = new StringBuilder();
        for (int id = 1; id <= size; id++) conf.append(id).append(" 127.0.0.1 ").append(NODE_PORT_BASE + id).append('\n');
        ClusterConfig cluster = ClusterConfig.parse(conf.toString(), "test");
        for (int id : ids) {
            nodes[id] = Node.start(cluster, id, dir.resolve("node" + id), NodeOptions.defaults().withTickMs(50).withMetricsPort(metricsPort(id)));
        }
    }

    @Test
    void metricsAfterPutsSayWhatTheNodeDid() throws Exception {
        start(3, 1, 2, 3);
        for (int id = 1; id <= 3; id++) {
            int port = metricsPort(id);
            await(() -> HttpProbe.get(port, "/readyz").status() == 200, "node " + port + " ready");
        }
        int leader = leader();
        int puts = 50;
        try (RawClient client = new RawClient(NODE_PORT_BASE + leader)) {
            for (int i = 0; i < puts; i++) {
                ClientResponse r = client.call(new ClientRequest.Put(i, ("k" + i).getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8)));
                assertInstanceOf(ClientResponse.Ok.class, r, "put " + i + " at the leader");
            }
            assertInstanceOf(ClientResponse.Value.class, client.call(new ClientRequest.Get(puts, "k1".getBytes(StandardCharsets.UTF_8), false)));
            int port = metricsPort(leader);
            // The loop's state is published every tick: a view published while the get was waiting for its read index
            // counts it pending, the one after its answer does not. Wait for that one.
            await(() -> {
                HttpProbe.Answer a = HttpProbe.get(port, "/metrics");
                return a.sample("raftkv_applied_index") >= puts && a.sample("raftkv_pending_requests") == 0;
            }, "the applied index published, and the get no longer pending");
            HttpProbe.Answer m = HttpProbe.get(port, "/metrics");
            assertEquals(200, m.status());
            assertTrue(m.head().contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"), m.head());
            checkFormat(m.body());
            assertEquals(1, m.sample("raftkv_role{role=\"leader\"}"));
            assertEquals(0, m.sample("raftkv_role{role=\"follower\"}"));
            assertEquals(1, m.sample("raftkv_is_leader"));
            assertEquals(leader, m.sample("raftkv_leader_id"));
            assertTrue(m.sample("raftkv_term") >= 1);
            assertTrue(m.sample("raftkv_leader_changes_seen_total") >= 1);
            assertTrue(m.sample("raftkv_commit_index") >= puts);
            assertEquals(puts, m.sample("raftkv_request_duration_seconds_count{type=\"put\",outcome=\"ok\"}"));
            assertEquals(puts, m.sample("raftkv_request_duration_seconds_bucket{type=\"put\",outcome=\"ok\",le=\"+Inf\"}"));
            assertTrue(m.sample("raftkv_request_duration_seconds_sum{type=\"put\",outcome=\"ok\"}") > 0);
            assertEquals(1, m.sample("raftkv_request_duration_seconds_count{type=\"get\",outcome=\"ok\"}"));
            assertEquals(puts, m.sample("raftkv_proposals_committed_total"));
            assertEquals(0, m.sample("raftkv_proposals_failed_total"));
            assertEquals(0, m.sample("raftkv_pending_requests"));
            assertEquals(1, m.sample("raftkv_client_connections"));
            assertTrue(m.sample("raftkv_wal_fsync_duration_seconds_count") >= 1);
            assertTrue(m.sample("raftkv_wal_segments") >= 1);
            assertTrue(m.sample("raftkv_wal_bytes") > 0);
            for (int peer = 1; peer <= 3; peer++) {
                if (peer == leader) continue;
                // 50 puts of ~30 bytes each went to every follower in APPENDs.
                assertTrue(m.sample("raftkv_peer_sent_bytes_total{peer=\"" + peer + "\"}") > puts * 30, m.body());
                assertTrue(m.sample("raftkv_peer_received_bytes_total{peer=\"" + peer + "\"}") > 0, m.body());
                assertTrue(m.sample("raftkv_peer_round_trip_seconds_count{peer=\"" + peer + "\"}") >= 1, m.body());
            }
            assertTrue(m.sample("jvm_memory_bytes_used{area=\"heap\"}") > 0);
            assertTrue(m.body().contains("jvm_gc_collection_seconds_count{gc="), m.body());
        }
        long httpThreads = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("raftkv-http-")).count();
        assertEquals(3, httpThreads, "one HTTP thread per node");
    }

    /** Every line a comment or a sample; every family's TYPE once. */
    private static void checkFormat(String text) {
        Set<String> types = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                assertTrue(types.add(line.split(" ")[2]), "TYPE twice: " + line);
            } else if (!line.startsWith("# HELP ")) {
                assertTrue(SAMPLE.matcher(line).matches(), "not a sample line: '" + line + "'");
            }
        }
    }

    @Test
    void healthIsTrueWithALeaderAndFalseWhenTheNodeIsAlone() throws Exception {
        start(3, 1, 2, 3);
        for (int id = 1; id <= 3; id++) {
            int port = metricsPort(id);
            await(() -> HttpProbe.get(port, "/health").status() == 200, "node " + id + " healthy");
            assertEquals("{\"health\":\"true\",\"reason\":\"\"}\n", HttpProbe.get(port, "/health").body());
            // Ready may come a little later: the start-up barrier's read index is asked every 200 ms.
            await(() -> HttpProbe.get(port, "/readyz").status() == 200, "node " + id + " ready");
            assertEquals("ok\n", HttpProbe.get(port, "/readyz").body());
            assertEquals(200, HttpProbe.get(port, "/livez").status());
        }
        for (int id = 2; id <= 3; id++) {
            nodes[id].stop();
            nodes[id].awaitStopped();
            nodes[id] = null;
        }
        int port = metricsPort(1);
        await(() -> HttpProbe.get(port, "/health").status() == 503, "node 1 alone is unhealthy");
        HttpProbe.Answer h = HttpProbe.get(port, "/health");
        assertTrue(h.body().startsWith("{\"health\":\"false\",\"reason\":\"") && !h.body().contains("\"reason\":\"\""), h.body());
        assertTrue(h.head().contains("Content-Type: application/json"), h.head());
        await(() -> HttpProbe.get(port, "/readyz").status() == 503, "node 1 alone is not ready (no leader)");
        assertEquals(200, HttpProbe.get(port, "/livez").status(), "its loop still turns");
    }

    @Test
    void badHttpGets4xxAndHurtsNothing() throws Exception {
        start(1, 1);
        int port = metricsPort(1);
        await(() -> HttpProbe.get(port, "/health").status() == 200, "a one-node cluster is healthy");
        assertEquals(400, HttpProbe.send(port, "\u0000\u0001garbage\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).status());
        assertEquals(431, HttpProbe.send(port, ("GET /metrics HTTP/1.1\r\nX: " + "y".repeat(1 << 20) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)).status());
        assertEquals(404, HttpProbe.get(port, "/v3/kv/range").status());
        assertEquals(405, HttpProbe.send(port, "DELETE /health HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).status());
        assertEquals(200, HttpProbe.get(port, "/health").status());
        try (RawClient client = new RawClient(NODE_PORT_BASE + 1)) {
            assertInstanceOf(ClientResponse.Ok.class, client.call(new ClientRequest.Put(1, new byte[]{1}, new byte[]{2})));
        }
    }

    @Test
    void aMetricsPortInUseRefusesTheStartAndLeavesTheDataDirectoryFree() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", metricsPort(1)));
            IOException e = assertThrows(IOException.class, () -> start(1, 1));
            assertTrue(e.getMessage().startsWith("cannot listen for metrics on "), e.getMessage());
        }
        start(1, 1); // the WAL's lock and the node's port were let go
        int port = metricsPort(1);
        await(() -> HttpProbe.get(port, "/readyz").status() == 200, "started on the second try");
    }

    private int leader() throws Exception {
        int[] found = new int[1];
        await(() -> {
            for (int id = 1; id <= 3; id++) {
                if (HttpProbe.get(metricsPort(id), "/metrics").sample("raftkv_is_leader") == 1) {
                    found[0] = id;
                    return true;
                }
            }
            return false;
        }, "a leader");
        return found[0];
    }

    private static void await(Callable<Boolean> condition, String what) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.call()) return;
            } catch (IOException e) {
                last = e; // not listening yet
            }
            LockSupport.parkNanos(20_000_000);
        }
        throw new AssertionError("no " + what + " within " + DEADLINE + (last == null ? "" : ": " + last), last);
    }

    /** One request at a time on the client protocol (docs/protocol.md). */
    private static final class RawClient implements AutoCloseable {
        private final Socket socket = new Socket();
        private final DataInputStream in;

        RawClient(int port) throws IOException {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(ClientCodec.helloClient().array());
            in = new DataInputStream(socket.getInputStream());
        }

        ClientResponse call(ClientRequest r) throws IOException {
            ByteBuffer frame = ClientCodec.request(r);
            socket.getOutputStream().write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
            int length = in.readInt();
            byte type = in.readByte();
            byte[] body = new byte[length - 1];
            in.readFully(body);
            return ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
